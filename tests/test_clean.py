from pathlib import Path

from qa.clean import content_spans, find_dateline, find_title, line_spans, sentence_spans

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _kept_and_dropped(name):
    text = (SEEDS / name).read_text(encoding="utf-8")
    spans = content_spans(text)
    kept = {text[a:b] for a, b in spans}
    dropped = [text[a:b] for a, b in line_spans(text) if text[a:b] not in kept]
    return text, spans, kept, dropped


def test_bbc_page_furniture_is_dropped_and_article_kept():
    text, spans, kept, dropped = _kept_and_dropped("004_277fab3659fc019e.txt")
    for junk in [
        "Print Sponsor",
        "BBC iD",
        "Sign in",
        "BBC navigation",
        "Americas Africa Europe Middle East South Asia Asia Pacific",
        "Has China's housing bubble burst?",
    ]:
        assert junk in dropped
    assert not any("best viewed" in k or "Copyright" in k for k in kept)
    # Every real sentence of the article survives, the last one included.
    assert any(k.startswith("Children's Secretary Ed Balls said he was") for k in kept)
    assert "Baby Peter died from abuse despite 60 visits from authorities" in kept


def test_community_care_related_links_dropped():
    _, _, kept, dropped = _kept_and_dropped("002_74398830eb76dfcf.txt")
    assert "Related articles" in dropped and "Comments are closed." in dropped
    assert not any("Recruitment impact" in k for k in kept)
    assert any(k.startswith("Brown replied") for k in kept)


def test_plain_articles_lose_nothing():
    for name in ["000_a6d396aacebdc077.txt", "001_9d6825c7be89d32a.txt", "003_7d1de0c64763a0a0.txt"]:
        _, _, _, dropped = _kept_and_dropped(name)
        assert dropped == [], name


def test_titles_and_datelines():
    text, spans, _, _ = _kept_and_dropped("003_7d1de0c64763a0a0.txt")
    assert find_title(text, spans) == "Urgent Joint Area Review of Safeguarding in Haringey"
    assert find_dateline(text, spans) == "12 November 2008"
    text, spans, _, _ = _kept_and_dropped("004_277fab3659fc019e.txt")
    assert find_dateline(text, spans) == "23 February 2010"
    # A date deep in the body is not a dateline.
    text, spans, _, _ = _kept_and_dropped("001_9d6825c7be89d32a.txt")
    assert find_dateline(text, spans) is None


def test_sentence_spans_are_exact_and_break_at_lines():
    text = "Title line\nFirst sentence here. Second one, Mr. Smith said.\n\nThird."
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "Title line",
        "First sentence here.",
        "Second one, Mr. Smith said.",
        "Third.",
    ]
