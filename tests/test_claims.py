"""Answers made of claims: which questions get points, how points are chosen, and the stream of events."""

import pytest

import qa.refuse
from qa.answer import REFUSAL
from qa.cite import document_text, is_exact
from qa.claims import (
    PHRASE_RATIO,
    WORD_BUDGET,
    answer_list,
    antecedent,
    asks_overview,
    central,
    join,
    lead_text,
    list_scores,
    parts,
    phrase_terms,
    piece,
    plain,
    points,
    wants_phrase,
)
from qa.config import Settings
from qa.display import plain_why
from qa.evidence import Evidence, Sentence
from qa.memory import MemoryIndex
from qa.pipeline import OVERVIEW_DOCUMENTS, Engine, Options
from qa.text import terms
from tests.fakes import HashEmbedder, ScriptedLLM


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("Who ordered the inquiry?", True),
        ("When did he die?", True),
        ("How many times had officials seen the boy?", True),
        ("By what date did Balls want her first report?", True),
        ("What was the name of the lodger?", True),
        ("What failings did the review find?", False),
        ("Why was no action taken?", False),
        ("How did the minister respond?", False),
        ("Summarise the letter.", False),
        ("Which children's minister read the review?", True),
        ("Which review did she chair?", True),
        ("Which inspectorates will carry out the review?", False),
        ("Which of the agencies failed?", False),
    ],
)
def test_which_questions_want_one_phrase(question, phrase):
    assert wants_phrase(question) is phrase


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Under what law did he request the review, and when was the first report due?",
         ("Under what law did he request the review?", "When was the first report due?")),
        ("Who ordered the review and how many inspectors will carry it out?",
         ("Who ordered the review?", "How many inspectors will carry it out?")),
        ("Who wrote the letter; what did it ask for?", ("Who wrote the letter?", "What did it ask for?")),
        ("Who resigned and why?", ("Who resigned and why?",)),  # a part needs a clause of its own
        ("What happened to the mother, her boyfriend and the lodger?",
         ("What happened to the mother, her boyfriend and the lodger?",)),
        ("Stores that included Macy's and what other store?", ("Stores that included Macy's and what other store?",)),
    ],
)  # fmt: skip
def test_a_question_asking_two_things_is_cut_into_its_parts(question, asked):
    assert parts(question) == asked


def _pass_every_supported_answer(monkeypatch):
    model = qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
    monkeypatch.setattr(qa.refuse, "load", lambda kind: model)


def test_each_part_of_a_two_part_question_is_answered_and_its_claims_numbered_in_turn(settings, monkeypatch):
    _pass_every_supported_answer(monkeypatch)
    llm = ScriptedLLM('{"answer": "Jason Owen", "sentence": 0}', '{"answer": "Tottenham", "sentence": 0}')
    e = Engine(settings, embedder=HashEmbedder(), llm=llm, index=MemoryIndex())
    events = list(e.answer_stream("What was the name of the lodger, and where did the toddler live?"))
    claims = [ev.claim for ev in events if ev.kind == "claim"]
    a = events[-1].answer
    assert [c.text for c in claims] == ["Jason Owen [1]", "Tottenham [2]"] and len(llm.prompts) == 2
    assert a.claims == tuple(claims) and a.text == join([c.text for c in claims]) and not a.refused
    assert "Jason Owen" in a.citations[0].quote and "Tottenham" in a.citations[1].quote
    for c in a.citations:
        assert is_exact(c, document_text(c.source, settings.docs_dir))
    assert "lodger" in a.trace.decision and "toddler" in a.trace.decision  # each part's decision


def test_a_part_that_points_back_has_the_parts_before_it_as_its_conversation(settings, monkeypatch):
    _pass_every_supported_answer(monkeypatch)
    llm = ScriptedLLM('{"answer": "Jason Owen", "sentence": 0}', '{"question": "How old was Jason Owen?"}',
                      '{"answer": "36", "sentence": 0}')  # fmt: skip
    e = Engine(settings, embedder=HashEmbedder(), llm=llm, index=MemoryIndex())
    a = e.answer("Who was the lodger, and how old was he?")
    assert [c.text for c in a.claims] == ["Jason Owen [1]", "36 [2]"]
    assert "Who was the lodger?" in llm.prompts[1].user and "Jason Owen" in llm.prompts[1].user  # the rewrite's


def test_a_part_the_documents_do_not_answer_is_said_and_none_answered_is_a_refusal(settings, monkeypatch):
    _pass_every_supported_answer(monkeypatch)
    llm = ScriptedLLM('{"answer": "Jason Owen", "sentence": 0}', '{"answer": "Paris", "sentence": 0}')
    e = Engine(settings, embedder=HashEmbedder(), llm=llm, index=MemoryIndex())
    a = e.answer("What was the name of the lodger, and where did the toddler live?")
    assert a.text == "Jason Owen [1]" and len(a.claims) == 1
    assert "The documents don't say: Where did the toddler live?" in a.warnings
    llm.replies = ['{"answer": "Paris", "sentence": 0}', '{"answer": "Rome", "sentence": 0}']
    a = e.answer("What was the name of the lodger, and where did the toddler live?")
    assert a.refused and a.text == REFUSAL and not a.claims and a.related


def _s(text, start, score, source="a.txt", chunk="c1"):
    return Sentence(source, "A", text, start, start + len(text), chunk, 0, score=score)


def test_points_add_new_content_within_the_budget_and_skip_repeats_and_headings():
    lead = _s("The review found that staff were poorly supervised.", 0, 0.9)
    ranked = (
        lead,
        _s("The review found that staff were poorly supervised again.", 60, 0.85),  # repeats the lead
        _s("Doctors failed to act on signs of injury.", 130, 0.8),
        _s("Review Findings", 180, 0.8),  # a heading, not a sentence
        _s("In 2009 the minister was quoted in the press, saying:", 240, 0.8),  # introduces a quote
        _s("Family friends were used as carers.", 200, 0.75),
        _s("The weather was fine that week.", 300, 0.2),  # too far below the best
    )
    ev = Evidence(("review", "find"), ranked, ranked, 0.0)
    shown, left = points("What did the review find?", lead, "staff were poorly supervised", ev)
    assert [p.text for p in shown] == ["Doctors failed to act on signs of injury.", "Family friends were used as carers."]
    assert any("repeats" in p.reason for p in left)


def test_a_point_that_adds_rare_terms_comes_before_one_that_restates_in_common_words(monkeypatch):
    import qa.claims

    lead = _s("The review found that staff were poorly supervised.", 0, 0.9)
    generic = _s("The review found a number of serious failings in the work of the agencies.", 60, 0.86)
    specific = _s("Doctors missed fractured ribs during the autopsy checks.", 140, 0.84)
    ev = Evidence(("review", "find"), (lead, generic, specific), (lead, generic, specific), 0.0)
    common = {"number", "serious", "failing", "work", "agenc"}  # stems the whole corpus uses

    def idf(term):
        return 0.2 if any(term.startswith(c) for c in common) else 3.0

    monkeypatch.setattr(qa.claims, "WORD_BUDGET", 8 + 15)  # room for the lead and one point of either length
    by_score, _ = points("What did the review find?", lead, "staff were poorly supervised", ev)
    by_both, left = points("What did the review find?", lead, "staff were poorly supervised", ev, idf=idf)
    assert [p.sentence for p in by_score] == [generic]  # the score alone ranks the restatement first
    assert [p.sentence for p in by_both] == [specific]
    assert [(p.sentence, p.reason) for p in left] == [(generic, "over the answer's word budget")]


def test_focus_measures_a_sentence_from_the_topic_every_retrieved_sentence_shares():
    """A sentence that only names the topic ("The case of Baby P is tragic") is nearer the question than one that
    says what it asks of the topic; less the sentences' mean vector, the one that says it is the nearer."""
    import numpy as np

    from qa.evidence import score

    topic, asked, other, third = np.eye(4)
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    query = unit(3 * topic + asked)
    texts = {"The case is tragic.": topic, "Staff were not supervised.": unit(topic + asked),
             "The weather was fine.": unit(topic + other), "The court sat in May.": unit(topic + third)}  # fmt: skip
    sentences = [_s(t, 40 * i, 0.0) for i, t in enumerate(texts)]
    ranked = {s.text: s for s in score(sentences, query, lambda ss: [texts[x.text] for x in ss], [], {})}
    names, says = ranked["The case is tragic."], ranked["Staff were not supervised."]
    assert names.dense > says.dense and names.score > says.score  # the topic alone scores higher as it is
    assert says.focus > names.focus  # what the sentence adds to the topic is what the question asks
    assert all(s.focus < says.focus for s in ranked.values() if s is not says)
    one = score(sentences[:1], query, lambda ss: [texts[x.text] for x in ss], [], {})
    assert one[0].focus is None  # one sentence has no shared topic to take away


def test_points_are_ranked_by_focus_and_chosen_by_score():
    from dataclasses import replace

    lead = _s("The review found that staff were poorly supervised.", 0, 0.9)
    # In another document: not the lead's neighbours, which come after it for being next to it
    topical = replace(_s("The case of the toddler was tragic and appalling.", 60, 0.86, "b.txt", "b1"), focus=0.2)
    aspect = replace(_s("Doctors missed fractured ribs during the checks.", 120, 0.8, "b.txt", "b1"), focus=0.6)
    low = replace(_s("Officers met in the town hall on Monday.", 180, 0.3, "b.txt", "b1"), focus=0.9)  # under the bar
    ev = Evidence(("review", "find"), (lead, topical, aspect, low), (lead, topical, aspect), 0.0)
    shown, _ = points("What did the review find?", lead, "staff were poorly supervised", ev)
    assert [p.sentence for p in shown] == [aspect, topical]
    unfocused = Evidence(ev.query_terms, tuple(replace(s, focus=None) for s in ev.ranked), ev.shown, 0.0)
    shown, _ = points("What did the review find?", lead, "staff were poorly supervised", unfocused)
    assert [p.sentence.text for p in shown] == [topical.text, aspect.text]  # without focus: the score's order


def test_list_items_carry_their_introductions_score_not_their_best_siblings():
    intro = _s("The review revealed:", 0, 0.9)
    items = [_s("- poor supervision of staff.", 21, 0.3), _s("- doctors failed to act.", 50, 0.1)]
    scores = list_scores([intro, *items])
    assert scores[("a.txt", 21)] == scores[("a.txt", 50)] == 0.9
    # Without an introduction that answers, one item sharing the question's words does not lift its siblings.
    failings = [_s("- doctors missed the non-accidental injuries.", 0, 0.8), _s("- poor supervision of staff.", 48, 0.3)]
    assert list_scores(failings) == {("a.txt", 0): 0.8, ("a.txt", 48): 0.3}


def test_a_list_one_of_whose_items_says_what_the_answer_says_is_the_answers_list():
    """A report quotes a letter's finding in prose and leads the answer; the letter's list of findings, scoring low
    against the question, is then the answer's list: its other items score as the best sentence."""
    lead = _s('The review revealed "poor supervision of staff in all agencies".', 0, 0.9, source="news.txt")
    generic = _s("The findings raise wider concerns about the agencies.", 80, 0.8, source="news.txt")
    items = [_s("- There was poor supervision of staff in all agencies.", 0, 0.3, source="letter.txt"),
             _s("- Doctors failed to follow procedures on injuries.", 56, 0.1, source="letter.txt")]  # fmt: skip
    ranked = (lead, generic, *items)
    said = frozenset(terms(lead.text))
    assert list_scores(ranked, lead)[("letter.txt", 56)] == 0.1  # its own score: no introduction answers
    assert list_scores(ranked, lead, said)[("letter.txt", 56)] == 0.9
    ev = Evidence(("review",), ranked, ranked, 0.0)
    shown, _ = points("What did the review find?", lead, lead.text, ev)
    assert shown[0].text == "Doctors failed to follow procedures on injuries."


def test_the_answers_list_comes_before_sentences_that_score_on_their_own(monkeypatch):
    """When the word budget has room for one more point, an item of the answer's list wins it over a sentence
    that scores as high and adds rarer words (a sentence about the findings, not one of them)."""
    import qa.claims

    lead = _s('The review revealed "poor supervision of staff in all agencies".', 0, 0.9, source="news.txt")
    about = _s("Ministers studied the urgent findings today with grave concern.", 80, 0.9, source="news.txt")
    items = [_s("- There was poor supervision of staff in all agencies.", 0, 0.3, source="letter.txt"),
             _s("- Doctors failed to follow procedures on injuries.", 56, 0.1, source="letter.txt")]  # fmt: skip
    ranked = (lead, about, *items)
    ev = Evidence(("review",), ranked, ranked, 0.0)

    def idf(term):
        return 5.0 if term in set(terms(about.text)) else 1.0

    assert qa.claims.answer_list(ranked, lead, frozenset(terms(lead.text))) == {("letter.txt", 0), ("letter.txt", 56)}
    monkeypatch.setattr(qa.claims, "WORD_BUDGET", len(lead.text.split()) + 9)  # room for one point
    shown, left = points("What did the review find?", lead, lead.text, ev, idf=idf)
    assert [p.text for p in shown] == ["Doctors failed to follow procedures on injuries."]
    assert (about, "over the answer's word budget") in [(p.sentence, p.reason) for p in left]


def test_after_a_phrase_a_point_says_what_the_answers_sentence_says_of_the_question():
    question = "Who will carry out the review of Haringey?"
    lead = _s("The health inspectorate will carry out the review, the minister said.", 0, 0.9)
    ranked = (
        lead,
        _s("The police inspectorate will also carry out the review.", 80, 0.85),  # another answer
        _s("The review in Haringey was welcomed by the council's leader.", 150, 0.85),  # the subject, not who
        _s("Inspectors will carry out the review in the spring.", 220, 0.6),  # below PHRASE_RATIO of the best
    )
    ev = Evidence(tuple(terms(question)), ranked, ranked, 0.0)
    # The question's terms the answer's sentence holds, less the phrase's own and the question's names.
    assert phrase_terms(question, lead, "The health inspectorate") == {"carri", "review"}
    shown, _ = points(question, lead, "The health inspectorate", ev, PHRASE_RATIO,
                       must=phrase_terms(question, lead, "The health inspectorate"))
    assert [p.text for p in shown] == ["The police inspectorate will also carry out the review."]
    # Terms more than half the chunks hold say what the documents are about, not what is asked.
    common = {"carri": 3.0, "review": 0.2}
    assert phrase_terms(question, lead, "The health inspectorate", common.get) == {"carri"}
    # An answer's sentence that holds nothing asked but the question's names: no points (the premiere in London
    # is not where the film was made, and a sentence naming the film is not another place).
    premiere = _s("Spectre had its world premiere in London.", 0, 0.9)
    assert phrase_terms("Where was Spectre filmed?", premiere, "London") == set()
    spectre = (premiere, _s("Spectre was filmed in Rome and Mexico City.", 50, 0.88))
    ev = Evidence(("spectr", "film"), spectre, spectre, 0.0)
    assert points("Where was Spectre filmed?", premiere, "London", ev, PHRASE_RATIO, must=set()) == ([], [])


def test_a_phrase_is_streamed_first_and_then_the_other_answers_the_documents_give(tmp_path, monkeypatch):
    _pass_every_supported_answer(monkeypatch)
    e = _engine_over(tmp_path, {
        "a.txt": "The health inspectorate will carry out the review of the council.",
        "b.txt": "The police inspectorate will also carry out the review.",
        "c.txt": "The review was welcomed by the leader of the council.",
        **{f"other{i}.txt": f"Filler text number {i} about the weather and the trains." for i in range(4)},
    })  # fmt: skip
    llm = ScriptedLLM('{"answer": "The health inspectorate", "sentence": 0}')
    events = list(e.answer_stream("Who will carry out the review?", options=Options.of(e.settings, llm=llm)))
    kinds = [ev.kind for ev in events]
    claims = [ev.claim for ev in events if ev.kind == "claim"]
    assert [c.text for c in claims] == ["The health inspectorate [1]",
                                        "The police inspectorate will also carry out the review. [2]"]  # fmt: skip
    # The phrase is shown before the other passages are checked.
    checking = next(i for i, ev in enumerate(events) if ev.kind == "status" and "other passages" in ev.text)
    assert kinds.index("claim") < checking
    a = events[-1].answer
    assert a.claims == tuple(claims) and [c.source for c in a.citations] == ["a.txt", "b.txt"]
    for c in a.citations:
        assert is_exact(c, document_text(c.source, e.settings.docs_dir))


def test_a_phrase_with_nothing_to_tell_another_answer_by_searches_no_further(tmp_path, monkeypatch):
    _pass_every_supported_answer(monkeypatch)
    e = _engine_over(tmp_path, {
        "a.txt": "Spectre had its world premiere in London.",
        "b.txt": "Spectre was filmed in Rome and Mexico City.",
        **{f"other{i}.txt": f"Filler text number {i} about the weather and the trains." for i in range(4)},
    })  # fmt: skip
    llm = ScriptedLLM('{"answer": "London", "sentence": 0}')
    events = list(e.answer_stream("Where was Spectre filmed?", options=Options.of(e.settings, llm=llm)))
    # The premiere's sentence shares only the film's name with the question: no search for other passages.
    assert not [ev for ev in events if ev.kind == "status" and "other passages" in ev.text]
    a = events[-1].answer
    assert [c.text for c in a.claims] == ["London [1]"] and a.trace.widened == ()


def test_a_turn_that_asked_for_a_phrase_is_carried_in_the_conversation_as_its_phrase(tmp_path):
    from qa.pipeline import as_answered

    dated = join(["August 3, 2007 [1]", "British children's secretary Ed Balls has ordered an inquiry. [2]"])
    found = join(["Staff failed to act. [1]", "Doctors failed to act. [2]"])
    history = [("When did Baby P die?", dated), ("What did the review find?", found)]
    # An open question's answer is its lead and points; a phrase's points are other passages on the question.
    assert as_answered(history) == (("When did Baby P die?", "August 3, 2007 [1]"), history[1])
    e = _engine_over(tmp_path, {"a.txt": "The toddler lived in Tottenham with his mother."})
    llm = ScriptedLLM('{"question": "Where was the toddler from?"}', '{"answer": "Tottenham", "sentence": 0}')
    e.answer("Where was he from?", history=history[:1], options=Options.of(e.settings, llm=llm))
    rewrite_prompt = llm.prompts[0].user
    assert "August 3, 2007" in rewrite_prompt and "Ed Balls" not in rewrite_prompt


def test_the_lead_is_the_sentences_own_words_unless_the_answer_says_the_same_in_them():
    s = _s("The first review revealed the council should not have used family friends as carers.", 0, 0.9)
    # Shorter, in the sentence's words and saying as much: the answer leads.
    same = "the review revealed the council should not have used family friends"
    assert lead_text(same, s) == same
    # Says less than the sentence: the sentence leads.
    assert lead_text("family friends", s) == s.text
    # Words one term its own way (the support check allows one in five): the sentence, not the reader's wording.
    reworded = "The letter said the council should not have used family friends as carers."
    assert lead_text(reworded, s) == s.text


def test_claims_join_as_a_lead_and_a_list():
    assert join(["A [1]", "B [2]", "C [3]"]) == "A [1]\n- B [2]\n- C [3]"
    assert "".join(piece(i, t) for i, t in enumerate(["A [1]", "B [2]"])) == join(["A [1]", "B [2]"])
    assert plain("  • **Each agency** failed.") == "Each agency failed."
    assert plain("- there was poor practice.") == "There was poor practice." and plain("there was.") == "there was."
    assert plain("- iPod sales rose.") == "iPod sales rose."
    assert plain("[q][12] The camera was reworked.") == "The camera was reworked."
    assert plain("It grossed $10 [a] more.") == "It grossed $10 [a] more."  # only at the start


def test_an_open_question_streams_status_draft_and_each_cited_claim_then_the_answer(settings, monkeypatch):
    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
    )
    llm = ScriptedLLM('{"answer": "a punch bag", "sentence": 0}')
    e = Engine(settings, embedder=HashEmbedder(), llm=llm, index=MemoryIndex())
    events = list(e.answer_stream("What did officials say about Baby P and his injuries?"))
    kinds = [ev.kind for ev in events]
    assert kinds[-1] == "answer" and "status" in kinds and "draft" in kinds
    assert kinds.index("draft") < kinds.index("claim")
    # The lead is shown as soon as it is verified, while the other passages are still being checked.
    checking = next(i for i, ev in enumerate(events) if ev.kind == "status" and "other passages" in ev.text)
    assert kinds.index("claim") < checking < len(kinds) - 1 - kinds[::-1].index("claim")
    a = events[-1].answer
    claims = [ev.claim for ev in events if ev.kind == "claim"]
    assert tuple(claims) == a.claims and len(claims) >= 2
    assert a.text == join([c.text for c in claims])
    for c in a.citations:
        assert is_exact(c, document_text(c.source, settings.docs_dir))


def test_a_question_that_stands_on_its_own_is_not_rewritten():
    from qa.rewrite import follows_up, leans_on, rewrite

    history = [("Who is the Ofsted chief inspector?", "Christine Gilbert [1]")]
    llm = ScriptedLLM('{"question": "What failings regarding Christine Gilbert did Haringey\'s review find?"}')
    rw = rewrite(llm, "What failings did Haringey's serious case review find?", history)
    assert rw.question == rw.query == "What failings did Haringey's serious case review find?" and not llm.prompts
    # A definite description of a common noun may mean something the conversation named: the reader is asked.
    assert leans_on("What did the letter ask for?", history) and not leans_on("What did the letter ask for?", [])
    assert not leans_on("Who spoke at the Royal Albert Hall?", history)  # a name identifies itself
    assert follows_up("What is her job?", history) and follows_up("Who was the leader then?", history)
    assert not follows_up("What is her job?", [])
    # A pronoun after a name the question gives means that name; before one, or as an object, it points back.
    assert not follows_up("How old was Baby P when he died?", history)
    assert not follows_up("Why was Baby P taken to hospital before he died?", history)
    # In the name's own clause a subject pronoun is someone else: "Bond" names the films, "he" their director.
    assert follows_up("Which earlier Bond film had he directed?", history)
    assert follows_up("What did she call Baby Peter's death?", history)
    assert follows_up("Did Ed Balls sack her?", history)


def test_passages_are_shown_from_a_word_boundary_and_without_markdown():
    from qa.cite import Citation
    from qa.display import citation_card, reply_markdown, word_window

    doc = "Intro words here. " * 20 + "**Rt Hon Ed Balls MP** wrote the letter today. " + "More words after it. " * 20
    start = doc.index("wrote")
    lo, hi = word_window(doc, start, start + 24, 100)
    assert doc[lo - 1] in " \n" and doc[hi] in " \n" and lo < start and hi > start + 24
    card = citation_card(1, Citation("a.txt", doc[start : start + 24], start, start + 24, 1.0), doc)
    assert "**" not in card and "Rt Hon Ed Balls MP" in card
    reply = reply_markdown("Ed Balls [1]", False, False, (), (Citation("a.txt", "Ed <b>Balls</b>", 0, 9, 1.0, "T"),))
    assert 'title="T: Ed &lt;b&gt;Balls&lt;/b&gt;"' in reply and "Sources of this answer" in reply


def test_a_rewrite_that_is_no_longer_a_question_is_dropped_and_the_search_still_carries_the_names():
    from qa.rewrite import rewrite

    history = [("Who did Ed Balls write to about the review?", "Christine Gilbert [1]")]
    rw = rewrite(ScriptedLLM('{"question": "Christine Gilbert is a job title."}'), "What is her job?", history)
    assert rw.question == "What is her job?" and "Christine Gilbert" in rw.query
    good = rewrite(ScriptedLLM('{"question": "What is Christine Gilbert\'s job?"}'), "What is her job?", history)
    assert good.question == "What is Christine Gilbert's job?" and "Gilbert" in good.query


def test_points_also_come_from_the_chunks_the_question_and_its_lead_find(tmp_path):
    e = _engine_over(tmp_path, {
        "a.txt": "The film received mixed reviews from critics on its release.",
        "b.txt": "Critics were mixed: they praised the action and criticised the length.",
        "c.txt": "The theme song won a Golden Globe in January.",
    })  # fmt: skip
    question = "What were the film's reviews like?"
    retrieval = e.retriever.retrieve(question, 1)  # one chunk: the one that says "reviews"
    evidence = e.evidence(retrieval)
    assert {s.source for s in evidence.ranked} == {"a.txt"}
    more, pool = e.widened(retrieval, evidence.best, None)
    # The lead's words ("mixed", "critics") bring b.txt first, which the question's words alone did not rank
    # first; every sentence is still scored against the question, so the evidence's own scores do not change.
    # The chunk the question found ranks first for question and lead too: the two new chunks are the next two.
    assert [h.source for h in more] == ["b.txt", "c.txt"]
    scores = {(s.source, s.start): s.score for s in pool.ranked}
    assert max(v for (src, _), v in scores.items() if src == "b.txt") > scores[("c.txt", 0)]
    assert all(scores[(s.source, s.start)] == s.score for s in evidence.ranked)
    assert pool.query_terms == evidence.query_terms
    # "Why these sources?" says a passage beyond the search's was looked at, and lists it.
    from qa.answer import Answer, Trace
    from qa.display import plain_why, trace_markdown

    shown = Answer("x [1]", False, (), Trace(question, question, fused=retrieval.fused, widened=more))
    assert "found 2 more passages." in plain_why(shown)
    assert "first sentence (for the points)**" in trace_markdown(shown) and "| b.txt |" in trace_markdown(shown)


def test_a_store_that_fails_after_the_lead_is_shown_keeps_the_answer_and_says_so(settings, monkeypatch):
    from qa.errors import IndexUnavailableError

    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
    )

    class FailsAfterOneSearch(MemoryIndex):
        searches = 0

        def search_dense(self, *args, **kwargs):
            self.searches += 1
            if self.searches > 1:
                raise IndexUnavailableError("The Chroma server at 127.0.0.1:9 went away.")
            return super().search_dense(*args, **kwargs)

    llm = ScriptedLLM('{"answer": "a punch bag", "sentence": 0}')
    e = Engine(settings, embedder=HashEmbedder(), llm=llm, index=FailsAfterOneSearch())
    events = list(e.answer_stream("What did officials say about Baby P and his injuries?"))
    a = events[-1].answer
    assert not a.refused and a.claims and a.claims[0] == next(ev.claim for ev in events if ev.kind == "claim")
    assert any("first search only" in w and "127.0.0.1:9" in w for w in a.warnings), a.warnings
    for c in a.citations:
        assert is_exact(c, document_text(c.source, settings.docs_dir))


def test_a_follow_up_also_reads_the_passages_its_last_answer_came_from(tmp_path):
    from qa.answer import Answer, Trace
    from qa.display import plain_why, trace_markdown
    from qa.pipeline import Options
    from qa.rewrite import earlier_turn, rewrite

    e = _engine_over(tmp_path, {
        "a.txt": "The job of a chief inspector is to lead school inspections across the country.",
        "b.txt": "Ed Balls wrote to the Ofsted chief inspector Christine Gilbert in December.",
        "c.txt": "The theme song won a Golden Globe award in January.",
    })  # fmt: skip
    history = [("Who did Ed Balls write to?", "Christine Gilbert [1]")]
    # Only a follow-up searches with its last turn; a question that stands on its own is searched as asked.
    assert rewrite(None, "What is her job?", history).earlier == "Who did Ed Balls write to? Christine Gilbert"
    assert rewrite(None, "What did Ed Balls write to Christine Gilbert?", history).earlier == ""
    # A description ("the letter") is searched with its last turn too, but not with its names: it names its topic.
    described = rewrite(None, "What did the letter ask for?", history)
    assert described.earlier == "Who did Ed Balls write to? Christine Gilbert"
    assert described.query == described.question == "What did the letter ask for?" and not described.context
    retrieval = e.retriever.retrieve("What is her job?", 1)
    assert [h.source for h in retrieval.fused] == ["a.txt"]
    more = e.earlier(retrieval, earlier_turn(history), None)
    assert [h.source for h in more] == ["b.txt"]  # the passage the last answer quoted
    assert "b.txt" in {s.source for s in e.evidence(retrieval, more).ranked}
    # Through the engine: the last answer's passage is read (found by the question's own search or by its
    # last turn's), and the trace says which.
    t = e.answer("What is her job?", history, Options(top_k=3, candidates=1, llm=None)).trace
    assert {h.id for h in t.earlier}.isdisjoint({h.id for h in t.fused})
    assert "b.txt" in {h.source for h in (*t.fused, *t.earlier)}
    assert "b.txt" in {s.source for s in t.evidence}
    shown = Answer("x [1]", False, (), Trace("What is her job?", "What is her job?", fused=retrieval.fused,
                                             earlier=more))  # fmt: skip
    assert "the last question and its answer found 1 more passage" in plain_why(shown)
    assert "| b.txt |" in trace_markdown(shown)


def test_the_answers_list_is_read_whole_across_the_chunks_it_was_cut_into(tmp_path):
    """A list is cut wherever a chunk ends; the chunks before and after those holding the answer's list are read
    too, so each of its items can be a point. A sentence with a colon between two items ("... cases. In
    particular:") does not end the list."""
    items = ["staff were poorly supervised in every agency that saw the child.",
             "each agency failed to follow the procedures for child protection cases. In particular:",
             "doctors did not act on signs of non-accidental injury.",
             "the council placed the child with family friends without checks.",
             "the police did not share what they knew with social workers.",
             "managers signed off cases that had not been reviewed in months.",
             "records were missing for half of the visits made to the home.",
             "no one took charge of the case when the first worker left.",
             "the mother's account was accepted without being checked by anyone.",
             "the lodger living in the house was never identified by the visitors."]  # fmt: skip
    text = "The serious case review found these failings in the care of the child:\n" + "\n".join(f"- {i}" for i in items)
    e = _engine_over(tmp_path, {"review.txt": text})
    assert e.index.count() == 2  # the list is cut in two
    retrieval = e.retriever.retrieve("Which failings did the review find about how staff were supervised?", 1)
    evidence = e.evidence(retrieval)
    lead = evidence.best
    assert lead.text.startswith("- staff were poorly supervised")
    said = frozenset(terms(lead.text))
    pool = e.whole_lists(retrieval, evidence, lead, lead.text)
    assert len({s.chunk_id for s in evidence.ranked}) == 1 and len({s.chunk_id for s in pool.ranked}) == 2
    whole = {s.text for s in pool.ranked if (s.source, s.start) in answer_list(pool.ranked, lead, said)}
    assert whole == {f"- {i}".removesuffix(" In particular:") for i in items}
    shown, _ = points("Which failings did the review find?", lead, lead.text, pool)
    assert any("lodger" in p.text or "records" in p.text for p in shown)  # an item of the second chunk


def _engine_over(tmp_path, texts: dict[str, str]) -> Engine:
    """A fast engine (hash embedder, in-memory index, no reader) over one-line documents, indexed."""
    from qa.config import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in texts.items():
        (docs / name).write_text(text + "\n")
    e = Engine(Settings(docs_dir=docs, data_dir=tmp_path / "data", llm="extractive"), embedder=HashEmbedder(),
               llm=None, index=MemoryIndex())  # fmt: skip
    e.ensure_index()
    return e


@pytest.mark.parametrize(
    ("question", "overview"),
    [
        ("Summarise the documents.", True),
        ("What are these files about?", True),
        ("What do the documents say?", True),
        ("Give me an overview.", True),
        ("Please summarise the main points briefly.", True),
        ("Summarise what Ed Balls asked for in his letter.", False),  # names what to search for
        ("Give me an overview of the Baby P case.", False),
        ("What did the review find?", False),
        ("What about Haringey?", False),
        ("Who wrote the documents?", False),
        ("Tell me more.", False),
    ],
)
def test_which_questions_ask_for_an_overview_of_the_documents(question, overview):
    assert asks_overview(question) is overview


def test_the_central_sentence_is_nearest_the_documents_mean_and_stands_on_its_own():
    texts = [
        "The council's services were inspected in May.",  # nearest the mean
        "Inspectors found that the services had improved.",
        "It said the services had improved a great deal.",  # nearer still, but leans on the one before
        "Contact",  # a heading: counts towards the mean, never chosen
        "The weather that week was cold and wet.",
    ]
    sentences = [_s(t, 100 * i, 0.0) for i, t in enumerate(texts)]
    vectors = [[1.0, 0.3, 0.0], [0.6, 0.8, 0.0], [0.95, 0.45, 0.0], [1.0, 0.5, 0.0], [0.0, 0.2, 1.0]]
    assert [s.text for s in central(sentences, vectors)] == texts[:1]
    # More: the next nearest that says something new, then the one that leans back; never the heading.
    assert [s.text for s in central(sentences, vectors, 5)] == [texts[0], texts[1], texts[4], texts[2]]
    assert central(sentences[2:3], vectors[2:3])[0].text == texts[2]  # nothing else stands alone: still a claim
    assert central(sentences[3:4], vectors[3:4]) == [] and central([], []) == []


def test_an_overview_cites_each_documents_central_sentence_without_asking_the_reader(settings, tmp_path):
    e = Engine(settings, embedder=HashEmbedder(), llm=ScriptedLLM(), index=MemoryIndex())
    events = list(e.answer_stream("Summarise the documents."))
    a = events[-1].answer
    names = e.index.sources()
    assert not a.refused and len(a.claims) == min(len(names), OVERVIEW_DOCUMENTS) > 1
    assert sorted(c.citations[0].source for c in a.claims) == sorted(names)[: len(a.claims)]
    assert [x.claim for x in events if x.kind == "claim"] == list(a.claims)  # streamed as each is checked
    assert e.llm.prompts == []  # nothing to read: no reader call
    for c in a.claims:
        assert is_exact(c.citations[0], document_text(c.citations[0].source, settings.docs_dir))
        assert c.text.endswith("]") and c.text[: c.text.rindex(" [")] == plain(c.citations[0].quote)
    one = e.answer("What are these documents about?", options=Options.of(settings, sources=names[:1]))
    # One document: more of its sentences, in its own order, within the answer's word budget.
    cited = [c.citations[0] for c in one.claims]
    assert {c.source for c in cited} == {names[0]} and len(cited) > 1 and not one.warnings
    assert [c.start for c in cited] == sorted(c.start for c in cited)
    assert sum(len(c.quote.split()) for c in cited) <= WORD_BUDGET
    # More documents than a glance holds: the first ones, and a warning that says so.
    for i in range(OVERVIEW_DOCUMENTS + 1):
        (settings.docs_dir / f"zz{i}.txt").write_text(f"Note {i} records that the depot opened on day {i}.\n")
    e.ingest()
    many = e.answer("Give me an overview.")
    assert len(many.claims) == OVERVIEW_DOCUMENTS and "first 6 of" in many.warnings[0]
    why = plain_why(many)
    assert why.startswith("For an overview, read the first") and "left out" not in why


def test_a_sentence_that_opens_with_a_pronoun_points_to_the_sentence_just_before_it():
    def s(text, start):
        return Sentence("a.txt", "a", text, start, start + len(text), "a.txt#0", 0)

    first = s("The inquiry into the council was published in May.", 0)
    her = s("Her killing led to a public inquiry.", 52)
    other = s("The bridge opened to traffic in 1932.", 200)
    assert antecedent(her, [other, first, her]) == first
    assert antecedent(first, [first, her]) is None  # it stands alone
    assert antecedent(s("Her killing led to a public inquiry.", 120), [first]) is None  # not next to it
    assert antecedent(her, [s("Contents", 40), her]) is None  # a heading says nothing a reader can lean on


def test_a_lead_that_opens_with_a_pronoun_is_shown_after_the_sentence_it_points_to(tmp_path, monkeypatch):
    """"Her killing ..." alone, in an answer on what changed, reads as if it spoke of what the question names:
    the lead is shown after the sentence that names her, the two cited as one exact passage, and that sentence
    is not a point again."""
    _pass_every_supported_answer(monkeypatch)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "case.txt").write_text(
        "The council reviewed its children's services in 2009. It was the second tragedy in the borough after "
        "the murder of Anna Lee by her guardians in 2000. Her killing resulted in a public inquiry and a radical "
        "change in child protection policies. The new director of services started work in May 2009.\n",
        encoding="utf-8",
    )
    settings = Settings(docs_dir=docs, data_dir=tmp_path / "data", llm="extractive")
    llm = ScriptedLLM('{"answer": "a radical change in child protection policies", "sentence": 0}')
    e = Engine(settings, embedder=HashEmbedder(), llm=llm, index=MemoryIndex())
    events = list(e.answer_stream("What changed in child protection after the tragedy?"))
    lead = next(ev.claim for ev in events if ev.kind == "claim")
    said = ("It was the second tragedy in the borough after the murder of Anna Lee by her guardians in 2000. Her "
            "killing resulted in a public inquiry and a radical change in child protection policies.")
    assert lead.text == f"{said} [1]"
    (c,) = lead.citations
    assert c.quote == said and is_exact(c, document_text("case.txt", docs))
    a = events[-1].answer
    assert a.claims[0] == lead
    assert not any("It was the second tragedy" in claim.text for claim in a.claims[1:])
