"""The answering pipeline with fake models: generation, verification, fallback, refusal, citations."""

import pytest

from qa.cite import document_text, is_exact
from qa.errors import EmptyQuestionError, QAError
from qa.pipeline import Engine
from tests.fakes import HashEmbedder, ScriptedLLM


def _engine(settings, *replies):
    return Engine(settings, embedder=HashEmbedder(), llm=ScriptedLLM(*replies))


def _exact(a, settings):
    for c in a.citations + a.related:
        assert is_exact(c, document_text(c.source, settings.docs_dir)), c


OPEN_Q = "What did officials say Baby P had been used as?"


def test_grounded_model_answer_is_kept_and_cited(settings):
    e = _engine(settings, "Answer: a punch bag")
    a = e.answer(OPEN_Q)
    assert not a.refused and a.text.startswith("a punch bag") and "[1]" in a.text
    assert "punch bag" in a.citations[0].quote
    assert a.trace.model_answer == "a punch bag"
    assert "[1] " in e.llm.prompts[0].user  # the evidence went to the model, numbered
    _exact(a, settings)


def test_invented_answer_is_replaced_by_the_extractive_one(settings):
    e = _engine(settings, "He got a 12-year sentence in Paris.")
    a = e.answer(OPEN_Q)
    assert not a.refused
    assert "12" not in a.text and "Paris" not in a.text
    assert "punch bag" in a.text and "punch bag" in a.citations[0].quote
    assert "not in the evidence" in a.trace.verification
    _exact(a, settings)


def test_typed_answers_come_from_the_evidence_without_the_model(settings):
    e = _engine(settings, "45")
    a = e.answer("How old was Jason Owen?")
    assert a.text.startswith("36") and e.llm.prompts == []
    assert "no model needed" in a.trace.verification
    _exact(a, settings)


def test_question_the_documents_cannot_answer_is_refused(settings):
    e = _engine(settings, "She got a 12-year sentence.")
    a = e.answer("How much compensation was paid to Baby P's family?")
    assert a.refused and a.citations == () and "don't say" in a.text
    assert a.related and "never mention" in a.trace.judgement
    assert e.llm.prompts == []  # the model is not even asked
    _exact(a, settings)


def test_trace_lists_dense_keyword_and_fused(settings):
    a = _engine(settings, "").answer("Who is the Ofsted chief inspector?")
    assert a.trace.dense and a.trace.keyword and a.trace.fused
    assert a.trace.query == "Who is the Ofsted chief inspector?"
    assert all(len(row) == 5 for row in a.trace.evidence)


def test_follow_up_uses_history(settings):
    e = _engine(settings)
    a = e.answer("How old was he?", history=[("Who is Jason Owen?", "The lodger")])
    assert "Jason Owen" in a.trace.query
    assert "36" in a.text


def test_bad_questions(settings):
    e = _engine(settings)
    for q in ["", "   \n\t "]:
        with pytest.raises(EmptyQuestionError):
            e.answer(q)
    assert issubclass(EmptyQuestionError, QAError)
    a = e.answer("Who is the Ofsted chief inspector? " * 4000)
    assert a.warnings and len(a.trace.question) <= settings.max_question_chars


def test_failing_backend_falls_back_with_a_warning(settings):
    class Broken:
        name = "broken"

        def stream(self, prompt, max_tokens):
            raise RuntimeError("boom")
            yield ""

    e = Engine(settings, embedder=HashEmbedder(), llm=Broken())
    a = e.answer(OPEN_Q)
    assert "punch bag" in a.text and any("LLM failed" in w for w in a.warnings)


def test_first_answer_builds_the_index(settings):
    e = _engine(settings, "")
    assert e.store.count() == 0
    e.answer("Who is the Ofsted chief inspector?")
    assert e.store.count() > 0
