"""QA_LLM=openai end to end against a real OpenAI-compatible server: llama-cpp-python's own
(`python -m llama_cpp.server`) serving the bundled reader on a loopback port, streamed from."""

import subprocess
import sys
import time
import urllib.request

import pytest

from qa.bundled import DEFAULT_READER, bundled
from qa.cite import document_text, is_exact
from qa.pipeline import Engine
from tests.conftest import free_port

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
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.5)
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
