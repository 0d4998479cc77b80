"""End to end with the real embedder, a real Chroma store and the real default GGUF model."""

import json

import pytest

from qa import answer, document_text
from qa.cite import is_exact
from qa.config import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    from tests.conftest import SEEDS

    return Settings(docs_dir=SEEDS, data_dir=tmp_path_factory.mktemp("e2e"), llm="local")


@pytest.mark.parametrize(
    "question, expected, source",
    [
        ("How old was Baby P when he died?", "17", None),
        ("What was the name of the lodger convicted over Baby P's death?", "Jason Owen", None),
        ("Who is the Ofsted chief inspector?", "Christine Gilbert", "002_74398830eb76dfcf.txt"),
        ("How old was Jason Owen?", "36", None),
        ("Who is the MP for Hornsey and Wood Green?", "Lynne Featherstone", "001_9d6825c7be89d32a.txt"),
        ("In what year was Victoria Climbie murdered?", "2000", "000_a6d396aacebdc077.txt"),
    ],
)
def test_seed_questions_are_answered_and_cited(real, question, expected, source):
    a = answer(question, settings=real)
    assert not a.refused, a.trace.judgement
    assert expected.lower() in a.text.lower()
    assert a.citations
    if source:
        assert source in {c.source for c in a.citations}
    for c in a.citations:
        assert is_exact(c, document_text(c.source, real.docs_dir))
    assert any(expected.lower() in c.quote.lower() for c in a.citations)


@pytest.mark.parametrize(
    "question",
    [
        "What prison sentence did Baby P's mother receive?",
        "How much compensation was paid to Baby P's family?",
    ],
)
def test_unanswerable_questions_are_refused(real, question):
    a = answer(question, settings=real)
    assert a.refused and a.citations == ()
    assert a.text == "The documents don't say."


def test_cli_ask_json(real, tmp_path):
    env = {
        "QA_DOCS_DIR": str(real.docs_dir),
        "QA_DATA_DIR": str(real.data_dir),
        "QA_LLM": "extractive",
    }
    out = run_cli(env, "ask", "--json", "Who is the MP for Hornsey and Wood Green?")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "Featherstone" in data["text"] and data["citations"][0]["source"] == "001_9d6825c7be89d32a.txt"
    empty = run_cli(env, "ask", " ")
    assert empty.returncode == 2 and "question is empty" in empty.stderr and "Traceback" not in empty.stderr


def test_any_gguf_file_by_path(real):
    from qa.llm import bundled_gguf

    path, _ = bundled_gguf("smollm2")
    s = real.model_copy(update={"llm": "gguf", "llm_model": str(path)})
    a = answer("What did officials say Baby P had been used as?", settings=s)
    assert not a.refused and "punch bag" in a.text.lower()
    assert a.trace.backend == path.name
