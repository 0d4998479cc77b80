"""The pipeline with fake models over the in-memory index: the reader's answer is verified, cited exactly, or
refused."""

import pytest

import qa.refuse
from qa.cite import document_text, is_exact
from qa.config import Settings
from qa.errors import BackendError, EmptyQuestionError, QAError
from qa.memory import MemoryIndex
from qa.pipeline import Engine, Options
from tests.fakes import HashEmbedder, ScriptedLLM


@pytest.fixture
def answer_when_supported(monkeypatch):
    """A refusal model that answers whenever the support check passes, so these tests see the stages alone."""
    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
    )


def _engine(settings, *replies, llm=None):
    return Engine(settings, embedder=HashEmbedder(), llm=llm or ScriptedLLM(*replies), index=MemoryIndex())


def _exact(a, settings):
    for c in a.citations + a.related:
        assert is_exact(c, document_text(c.source, settings.docs_dir)), c


OPEN_Q = "What did officials say Baby P had been used as?"


def _sentence_holding(engine, words):
    """The number the reader would give the evidence sentence holding `words`, read off its prompt."""
    for line in engine.llm.prompts[-1].user.splitlines():
        if line.startswith("[") and words in line:
            return int(line[1 : line.index("]")])
    raise AssertionError(f"{words!r} not in the evidence shown to the reader")


def test_supported_answer_is_shown_with_its_exact_sentence(settings, answer_when_supported):
    probe = _engine(settings, '{"answer": "", "sentence": 0}')
    probe.answer(OPEN_Q)
    n = _sentence_holding(probe, "punch bag")
    e = _engine(settings, f'{{"answer": "a punch bag", "sentence": {n}}}')
    a = e.answer(OPEN_Q)
    # The answer is the first claim: for an open question ("what did ... say") the whole sentence it rests on,
    # which says more than the phrase; points may follow.
    lead = a.claims[0].text
    assert not a.refused and "punch bag" in lead and lead.endswith(". [1]") and a.text.startswith(lead)
    assert lead[: -len(" [1]")] == " ".join(a.citations[0].quote.split())
    assert "punch bag" in a.citations[0].quote and len(a.citations) == len(a.claims)
    assert a.trace.model_answer == "a punch bag" and a.trace.verification == "the answer is in the sentence"
    assert e.llm.schemas[0]["required"] == ["answer", "sentence"]
    _exact(a, settings)


def test_wrong_sentence_number_is_corrected_to_the_sentence_that_holds_the_answer(settings, answer_when_supported):
    e = _engine(settings, '{"answer": "a punch bag", "sentence": 99}')
    a = e.answer(OPEN_Q)
    assert not a.refused and "punch bag" in a.citations[0].quote
    _exact(a, settings)


def test_invented_answer_is_never_shown(settings, answer_when_supported):
    e = _engine(settings, '{"answer": "a 12-year sentence in Paris", "sentence": 1}')
    a = e.answer(OPEN_Q)
    assert a.refused and a.citations == () and a.text == "The documents don't say."
    assert "no evidence sentence holds the answer" in a.trace.verification
    assert a.related
    _exact(a, settings)


def test_reader_saying_not_stated_is_a_refusal(settings, answer_when_supported):
    a = _engine(settings, '{"answer": "", "sentence": 0}').answer("How much compensation was paid?")
    assert a.refused and "found no answer" in a.trace.verification


def test_refusal_follows_the_calibrated_confidence(settings, monkeypatch):
    # The same supported answer, under a model whose threshold no answer reaches.
    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.9)
    )
    a = _engine(settings, '{"answer": "a punch bag", "sentence": 1}').answer(OPEN_Q)
    assert a.refused and a.trace.confidence == pytest.approx(0.5) and "< 0.90" in a.trace.decision
    assert a.trace.supported


def test_trace_lists_every_stage(settings, answer_when_supported):
    a = _engine(settings, "").answer("Who is the Ofsted chief inspector?")
    t = a.trace
    assert t.dense and t.keyword and t.fused and t.evidence and t.shown
    assert all(t.was_shown(s) for s in t.shown) and t.evidence[0].score >= t.evidence[-1].score
    assert t.query == "Who is the Ofsted chief inspector?" and set(t.signals) >= {"top_score", "none_prob"}
    assert not t.supported and t.confidence is None and a.refused
    assert set(t.seconds) == {"index", "rewrite", "retrieve", "evidence", "read", "total"}


def test_follow_up_is_rewritten_by_the_reader(settings, answer_when_supported):
    e = _engine(settings, '{"question": "How old was Jason Owen?"}', '{"answer": "36", "sentence": 1}')
    a = e.answer("How old was he?", history=[("Who was the lodger?", "Jason Owen [1]")])
    assert "Question: How old was Jason Owen?" in e.llm.prompts[1].user
    assert "Jason Owen" in a.trace.query
    assert not a.refused and "36" in a.citations[0].quote


def test_bad_questions(settings, answer_when_supported):
    e = _engine(settings)
    for q in ["", "   \n\t "]:
        with pytest.raises(EmptyQuestionError):
            e.answer(q)
    assert issubclass(EmptyQuestionError, QAError)
    a = e.answer("Who is the Ofsted chief inspector? " * 4000)
    assert a.warnings and len(a.trace.query) <= settings.max_question_chars


class Broken(ScriptedLLM):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def stream(self, prompt, max_tokens, schema=None):
        raise self.error

    generate = stream


def test_failing_backend_falls_back_to_the_best_sentence_with_a_warning(settings, answer_when_supported):
    a = _engine(settings, llm=Broken(BackendError("the server is down"))).answer(OPEN_Q)
    assert any("reader failed (the server is down)" in w for w in a.warnings)
    assert a.refused or a.citations[0].quote in a.text


def test_a_bug_around_the_reader_is_not_hidden_as_a_warning(settings, answer_when_supported):
    with pytest.raises(TypeError):
        _engine(settings, llm=Broken(TypeError("a parsing bug"))).answer(OPEN_Q)


def test_options_choose_the_llm_and_citations_per_request_without_a_new_engine(settings, monkeypatch):
    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.9)
    )
    e = _engine(settings, "")
    a = e.answer(OPEN_Q, options=Options(top_k=2, llm=None))  # refused: no threshold is reached
    assert a.trace.backend == "extractive" and len(a.related) == 2 and not e.llm.prompts
    b = e.answer(OPEN_Q, options=Options(top_k=5))
    assert b.trace.backend == "scripted" and len(b.related) == 5 and len(e.llm.prompts) == 1


def test_first_answer_builds_the_index(settings, answer_when_supported):
    e = _engine(settings, "")
    assert e.index.count() == 0
    e.answer("Who is the Ofsted chief inspector?")
    assert e.index.count() > 0


def test_an_answer_of_two_sentences_from_two_evidence_sentences_becomes_two_claims(settings, answer_when_supported):
    """A reader asked for one sentence sometimes writes two, each from its own evidence sentence: no one sentence
    holds the whole, but each part is checked on its own and shown as its own claim with its own citation."""
    probe = _engine(settings, '{"answer": "", "sentence": 0}')
    probe.answer(OPEN_Q)
    lines = [ln for ln in probe.llm.prompts[-1].user.splitlines() if ln.startswith("[")]
    n = _sentence_holding(probe, "punch bag")
    other = next(ln for ln in lines if "punch bag" not in ln and len(ln.split()) > 8)
    m = int(other[1 : other.index("]")])
    second = " ".join(other[other.index("]") + 1 :].split())
    reply = f'{{"answer": "He had been used as a punch bag. {second}", "sentence": {n}}}'
    a = _engine(settings, reply).answer(OPEN_Q)
    assert not a.refused and len(a.claims) >= 2, a.text
    assert "punch bag" in a.claims[0].text and "punch bag" in a.claims[0].citations[0].quote
    assert any(" ".join(c.citations[0].quote.split()) == second for c in a.claims[1:]), (a.text, m)
    _exact(a, settings)

    # A part no evidence sentence holds leaves the whole answer unsupported: it is refused, nothing shown.
    bad = _engine(settings, f'{{"answer": "He had been used as a punch bag. He was later made a judge.", "sentence": {n}}}')
    a = bad.answer(OPEN_Q)
    assert a.refused and "no evidence sentence holds the answer" in a.trace.verification


def test_an_answer_that_reorders_its_sentence_is_that_sentence_for_an_open_question(settings, answer_when_supported):
    """A reader's answer whose words one sentence holds, but in another order (a reworded quote; or who did what
    swapped), is never shown. An open question gets the sentence itself, in its own words; a question wanting one
    phrase is refused."""
    probe = _engine(settings, '{"answer": "", "sentence": 0}')
    probe.answer(OPEN_Q)
    n = _sentence_holding(probe, "punch bag")
    reply = f'{{"answer": "He looked like a car crash victim and was used as a punch bag", "sentence": {n}}}'
    a = _engine(settings, reply).answer(OPEN_Q)
    assert not a.refused, a.trace.verification
    quote = " ".join(a.citations[0].quote.split())
    assert "punch bag" in quote and "car crash victim" in quote
    assert a.claims[0].text == f"{quote} [1]" and "reorders" in a.trace.verification
    assert "He looked like" not in a.text  # the reader's rewording is not shown
    _exact(a, settings)

    phrase = _engine(settings, reply).answer("Who looked like a car crash victim?")
    assert phrase.refused and "order" in phrase.trace.verification


def test_warm_up_loads_the_text_models_so_the_first_question_does_not_wait_for_them(settings):
    from qa import text

    built = _engine(settings, "")
    built.ingest()  # a start over an index already built: nothing is chunked or ingested
    for cached in (text._stemmer, text._punkt, text.stopwords):
        cached.cache_clear()
    Engine(settings, embedder=HashEmbedder(), llm=ScriptedLLM(""), index=built.index).warm_up()
    assert all(c.cache_info().currsize == 1 for c in (text._stemmer, text._punkt, text.stopwords))


LIGHTHOUSE = (
    "The lighthouse on Marrow Point was kept by Agnes Forbes for thirty years.\n"
    "She rang the storm bell every night at nine.\n"
    "The bell was cast in Leith in 1881 and weighs two tons.\n"
)
WHO_RANG = "Who rang the storm bell every night?"


def _lighthouse(tmp_path, chunk_size, *replies):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    settings = Settings(docs_dir=docs, data_dir=tmp_path / "data", llm="extractive", chunk_size=chunk_size)
    probe = _engine(settings, '{"answer": "", "sentence": 0}')
    probe.answer(WHO_RANG)
    n = _sentence_holding(probe, "She rang")
    return settings, _engine(settings, f'{{"answer": "She", "sentence": {n}}}', *replies)


@pytest.mark.parametrize("chunk_size", [96, 17], ids=["same-chunk", "chunk-before"])
def test_a_pronoun_answer_is_read_again_with_the_sentences_before_it(tmp_path, answer_when_supported, chunk_size):
    # At 17 tokens a chunk each sentence is a chunk of its own, so the sentence before comes from the index.
    settings, e = _lighthouse(tmp_path, chunk_size, '{"answer": "Agnes Forbes", "sentence": 1}')
    a = e.answer(WHO_RANG)
    assert e.index.count() == (1 if chunk_size == 96 else 3)
    again = e.llm.prompts[1].user
    assert "[1] The lighthouse on Marrow Point was kept by Agnes Forbes" in again and "[2] She rang" in again
    assert not a.refused and a.text.startswith("Agnes Forbes [1]"), a.text
    # Cited as one passage: the sentence that names her and the one that says she rang the bell.
    quote = a.citations[0].quote
    assert quote.startswith("The lighthouse on Marrow Point") and quote.endswith("every night at nine."), quote
    assert len(a.citations) == 1 and a.trace.model_answer == "Agnes Forbes"
    assert "resolve" in a.trace.seconds
    _exact(a, settings)


@pytest.mark.parametrize("second", ['{"answer": "She", "sentence": 2}', '{"answer": "", "sentence": 0}',
                                    '{"answer": "Mary Jones", "sentence": 1}'])  # fmt: skip
def test_a_pronoun_answer_stands_when_reading_again_names_no_one_in_the_documents(tmp_path, answer_when_supported,
                                                                                   second):  # fmt: skip
    settings, e = _lighthouse(tmp_path, 96, second)
    a = e.answer(WHO_RANG)
    assert len(e.llm.prompts) == 2 and a.text.startswith("She [1]") and "She rang" in a.citations[0].quote
    _exact(a, settings)


def test_bare_pronoun_and_the_chunk_before():
    from qa.chunk import chunk_id, next_id, previous_id
    from qa.reader import bare_pronoun

    assert bare_pronoun("She") and bare_pronoun(" they.") and bare_pronoun('"It"')
    assert not bare_pronoun("Agnes Forbes") and not bare_pronoun("she and I") and not bare_pronoun("")
    assert previous_id(chunk_id("a/b-c.txt", "f" * 40, 3)) == chunk_id("a/b-c.txt", "f" * 40, 2)
    assert previous_id(chunk_id("a.txt", "f" * 40, 0)) is None
    assert next_id(chunk_id("a/b-c.txt", "f" * 40, 3)) == chunk_id("a/b-c.txt", "f" * 40, 4)
    assert next_id("no-place") is None and previous_id("") is None


def test_a_pronoun_answer_stands_when_its_file_changed_since_it_was_indexed(tmp_path, answer_when_supported):
    settings, e = _lighthouse(tmp_path, 96, '{"answer": "Agnes Forbes", "sentence": 1}')
    e.ensure_index()
    (settings.docs_dir / "lighthouse.txt").write_text("A new first line.\n" + LIGHTHOUSE, encoding="utf-8")
    a = e.answer(WHO_RANG)
    assert len(e.llm.prompts) == 1 and a.text.startswith("She [1]")


def test_an_open_questions_answer_that_only_restates_it_is_the_sentence_the_reader_named(settings,
                                                                                       answer_when_supported):
    question = "How is the Baby P case linked to Victoria Climbie?"
    probe = _engine(settings, '{"answer": "", "sentence": 0}')
    probe.answer(question)
    n = _sentence_holding(probe, "second serious child welfare tragedy")
    echo = "The Baby P case is linked to Victoria Climbie."
    a = _engine(settings, f'{{"answer": "{echo}", "sentence": {n}}}').answer(question)
    # The reader's words are in no sentence and say nothing the question does not; its sentence says how.
    assert not a.refused and "second serious child welfare tragedy" in a.claims[0].text and echo not in a.text
    assert "only restates the question" in a.trace.verification and a.trace.model_answer == echo
    _exact(a, settings)
    # An unsupported answer that says more than the question is still refused, as is a restatement naming no sentence.
    other = f'{{"answer": "The Baby P case was linked to a cover-up by ministers.", "sentence": {n}}}'
    assert _engine(settings, other).answer(question).refused
    assert _engine(settings, f'{{"answer": "{echo}", "sentence": 0}}').answer(question).refused


def test_a_yes_no_question_is_answered_with_the_sentence_that_settles_it(settings, answer_when_supported):
    question = "Had the baby been seen by doctors and social workers?"
    probe = _engine(settings, '{"answer": "", "sentence": 0}')
    probe.answer(question)
    n = _sentence_holding(probe, "60 times")
    e = _engine(settings, f'{{"answer": "Yes", "sentence": {n}}}')
    a = e.answer(question)
    # "Yes" is in no sentence; the sentence the reader named is, and it is what is shown and cited.
    assert not a.refused and "60 times" in a.claims[0].text and "Yes" not in a.text
    assert "yes/no question" in a.trace.verification and a.trace.model_answer == "Yes"
    _exact(a, settings)
    # Any other question's unsupported "Yes" is refused, as is a yes/no question's when no sentence is named.
    assert _engine(settings, f'{{"answer": "Yes", "sentence": {n}}}').answer("How often was the baby seen?").refused
    assert _engine(settings, '{"answer": "Yes", "sentence": 0}').answer(question).refused
    from qa.claims import asks_yes_no

    assert asks_yes_no("Will any staff lose their jobs?") and asks_yes_no("was that better than before?")
    assert not asks_yes_no("Are the technologies active or passive?") and not asks_yes_no("Who was sacked?")
