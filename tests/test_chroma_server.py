"""qa against a real Chroma server started from the installed chromadb package."""

import shutil
import subprocess
import time

import pytest

from qa.config import Settings
from qa.errors import QAError
from qa.pipeline import Engine
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def start_server(path, port):
    exe = shutil.which("chroma") or str(__import__("pathlib").Path(__import__("sys").executable).parent / "chroma")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import chromadb

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            return proc
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    proc.kill()
    raise TimeoutError("chroma server did not start")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_ingest_answer_restart_answer(tmp_path, corpus):
    port = free_port()
    settings = Settings(
        docs_dir=corpus, data_dir=tmp_path / "local", chroma_url=f"127.0.0.1:{port}", llm="extractive"
    )
    proc = start_server(tmp_path / "server", port)
    try:
        engine = Engine(settings)
        report = engine.ingest()
        assert len(report.added) == 5
        a = engine.answer("Who is the Ofsted chief inspector?")
        assert "Gilbert" in a.text
        assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the local store
        assert len(Engine(settings).ingest().unchanged) == 5  # incremental against the server too
    finally:
        stop(proc)
    # The server going away mid-session is a clear error naming it, not a traceback.
    with pytest.raises(QAError, match=f"127.0.0.1:{port}"):
        engine.answer("Who is the Ofsted chief inspector?")
    proc = start_server(tmp_path / "server", port)
    try:
        a = Engine(settings).answer("Who is the Ofsted chief inspector?")
        assert "Gilbert" in a.text and a.citations
    finally:
        stop(proc)


def test_server_down_names_the_url(tmp_path, corpus):
    port = free_port()
    settings = Settings(docs_dir=corpus, data_dir=tmp_path / "local", chroma_url=f"127.0.0.1:{port}")
    with pytest.raises(QAError, match=f"127.0.0.1:{port}"):
        Engine(settings, llm=None).ingest()
