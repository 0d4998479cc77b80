"""Chunking: general page-furniture rules (nothing written for one site), titles, exact offsets."""

from pathlib import Path

from qa.chunk import chunk_document, content_spans, find_title
from qa.text import line_spans, sentence_pieces, sentence_spans

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _dropped(text):
    kept = {text[a:b] for a, b in content_spans(text)}
    return [text[a:b] for a, b in line_spans(text) if text[a:b] not in kept]


ARTICLE = (
    "Council criticised\n\n"
    "The council was criticised by inspectors in a report published on Monday.\n"
    "Its leader said the findings would be acted on without delay, and that staff had been told.\n"
)


def test_navigation_rows_and_a_trailing_link_list_are_dropped():
    page = "Home News Sport Weather Contact\n" + ARTICLE + "Related stories\nMore news\nSign in\nTerms of use\n"
    assert _dropped(page) == [
        "Home News Sport Weather Contact",
        "Related stories",
        "More news",
        "Sign in",
        "Terms of use",
    ]


def test_short_lines_inside_the_article_or_a_short_tail_are_kept():
    page = ARTICLE + "Reuters\n"
    assert _dropped(page) == []
    letter = "Dear Ms Gilbert\n" + ARTICLE + "Yours sincerely\nEd Balls\n"
    assert _dropped(letter) == []  # two short closing lines are a signature, not a link list


def test_seed_pages():
    # The Community Care page ends in a list of related links; the BBC page has a navigation row.
    tail = _dropped((SEEDS / "002_74398830eb76dfcf.txt").read_text(encoding="utf-8"))
    assert "More information" in tail and "Comments are closed." in tail
    bbc = _dropped((SEEDS / "004_277fab3659fc019e.txt").read_text(encoding="utf-8"))
    assert bbc == ["Americas Africa Europe Middle East South Asia Asia Pacific"]
    for name in ["000_a6d396aacebdc077.txt", "001_9d6825c7be89d32a.txt", "003_7d1de0c64763a0a0.txt"]:
        assert _dropped((SEEDS / name).read_text(encoding="utf-8")) == [], name


def test_titles():
    text = (SEEDS / "003_7d1de0c64763a0a0.txt").read_text(encoding="utf-8")
    assert find_title(text, content_spans(text), "x.md") == "Urgent Joint Area Review of Safeguarding in Haringey"
    assert find_title(ARTICLE, content_spans(ARTICLE), "x.txt") == "Council criticised"
    assert find_title("", [], "notes/plan.txt") == "plan"


def test_chunks_are_exact_spans():
    text = ARTICLE * 20
    chunks = chunk_document(text, "a.txt", "0" * 64, 32, 0)
    assert len(chunks) > 5 and all(text[c.start : c.end] == c.text for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks))) and chunks[0].count == len(chunks)


def test_a_chunk_never_ends_inside_a_sentence_at_an_abbreviation():
    """Chunks are packed from the same sentences the evidence stage splits them into: "U.S." or "Dr." inside
    a sentence is no place to cut (llama-index's default splitter knows no abbreviations, and cut there)."""
    text = " ".join(
        f"In {1890 + i}, Dr. Shuman, a U.S. inventor, built engine number {i} with his advisor A. Ackermann of "
        f"St. Albans, and it pumped water from the Nile to the fields for {i + 2} years."
        for i in range(12)
    )
    whole = {text[a:b] for a, b in sentence_spans(text)}
    assert len(whole) == 12
    for size in (64, 96, 128):  # each sentence fits a chunk (a longer one is cut where it must be)
        for c in chunk_document(text, "a.txt", "h", size, 0):
            assert text[c.start : c.end] == c.text
            assert all(c.text[a:b] in whole for a, b in sentence_spans(c.text)), (size, c.text[-40:])
    assert "".join(sentence_pieces(text)) == text and sentence_pieces("") == []


def test_initials_and_numbered_references_do_not_end_a_sentence():
    """Punkt's English model ends sentences after a name's initials and before "No. 1"; those breaks are taken
    back (a stopword after them still starts a sentence), in the evidence's sentences and the chunks' alike; a
    break Punkt does not make after an initial that such a stopword follows is made."""
    text = (
        "He, along with his advisor A.S.E. Ackermann, built it. A concerto by J.S. Bach was played. "
        "An editor at J. B. Lippincott bought it. The film opened at No. 1 in India. "
        "On April 4, 2008, she married Jay Z. She revealed it later.\nTitle No.\n2 items were left. "
        "The carers chosen for Baby P. Our reading of it differs. A poem by E. A. Poe was read."
    )
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "He, along with his advisor A.S.E. Ackermann, built it.",
        "A concerto by J.S. Bach was played.",
        "An editor at J. B. Lippincott bought it.",
        "The film opened at No. 1 in India.",
        "On April 4, 2008, she married Jay Z.",
        "She revealed it later.",
        "Title No.",  # a line break always ends a sentence
        "2 items were left.",
        "The carers chosen for Baby P.",  # Punkt keeps these two together; a stopword after the initial ends it
        "Our reading of it differs.",
        "A poem by E. A. Poe was read.",  # "A" is an initial here, not the stopword
    ]
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text and pieces[0] == "He, along with his advisor A.S.E. Ackermann, built it. "
