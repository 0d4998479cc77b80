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


def test_grounded_model_answer_is_kept_and_cited(settings):
    e = _engine(settings, "Jason Owen")
    a = e.answer("What was the name of the lodger convicted over Baby P's death?")
    assert not a.refused and a.text.startswith("Jason Owen") and "[1]" in a.text
    assert "Jason Owen" in a.citations[0].quote
    assert a.trace.model_answer == "Jason Owen"
    _exact(a, settings)


def test_invented_answer_is_replaced_by_the_extractive_one(settings):
    e = _engine(settings, "He was 45 years old and lived in Paris.")
    a = e.answer("How old was Jason Owen?")
    assert not a.refused
    assert "45" not in a.text and "Paris" not in a.text
    assert "36" in a.text
    assert "numbers not in the evidence" in a.trace.verification
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
    a = e.answer("How old was Jason Owen?")
    assert "36" in a.text and any("LLM failed" in w for w in a.warnings)


def test_first_answer_builds_the_index(settings):
    e = _engine(settings, "")
    assert e.store.count() == 0
    e.answer("Who is the Ofsted chief inspector?")
    assert e.store.count() > 0
