"""QA_LLM=openai end to end against a real OpenAI-compatible server: llama-cpp-python's own
(`python -m llama_cpp.server`) serving the bundled reader on a loopback port, streamed from."""

import subprocess
import sys

import pytest

from qa.bundled import DEFAULT_READER, bundled
from qa.cite import document_text, is_exact
from qa.pipeline import Engine
from tests.conftest import free_port, wait_until_up

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled(DEFAULT_READER).path()),
           "--model_alias", "reader", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
           "--n_threads", "2"]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(f"{url}/models", proc, 120, lambda: log.read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_answers_through_the_server_are_verified_and_cited(server, settings):
    s = settings.model_copy(update={"llm": "openai", "llm_url": server, "llm_model": "reader"})
    e = Engine(s)
    a = e.answer("Who is the Ofsted chief inspector?")
    assert a.trace.backend == f"reader @ {server}" and not a.warnings
    assert a.trace.model_answer and "Gilbert" in a.trace.model_answer
    if not a.refused:
        assert "Gilbert" in a.text and "Gilbert" in a.citations[0].quote
        assert is_exact(a.citations[0], document_text(a.citations[0].source, s.docs_dir))
    # A follow-up is rewritten by the same server before it is searched.
    f = e.answer("When did she carry out the review?", history=[("Who is the Ofsted chief inspector?", a.text)])
    assert "Gilbert" in f.trace.query or "Ofsted" in f.trace.query


def test_the_app_started_with_an_openai_backend_from_the_environment_answers_as_it_is(server, tmp_path):
    """QA_LLM=openai, QA_LLM_URL and QA_LLM_MODEL set by environment only: the user asks with the settings
    panel as it opens (its server and model fields left as they are) and gets the server's answer."""
    from gradio_client import Client

    from bench.load import message_text, start_app, stop_app

    proc, url = start_app(tmp_path, {"QA_LLM": "openai", "QA_LLM_URL": server, "QA_LLM_MODEL": "reader"})
    try:
        client = Client(url, verbose=False)
        chat, _sources, trace, *_ = client.predict(
            "Who is the Ofsted chief inspector?", [], "openai", "", "", 3, api_name="/ask"
        )
        text = message_text(chat[-1])
        assert "⚠️" not in text, text  # no configuration error: the model came from the environment
        assert f"reader @ {server}" in trace and "Gilbert" in trace  # the server's model read the evidence
        assert ("Gilbert" in text and "[1]" in text) or "don't say" in text, text
    finally:
        stop_app(proc, tmp_path)
