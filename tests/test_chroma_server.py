"""qa against a real Chroma server started from the installed chromadb package."""

import shutil
import subprocess
import time

import pytest

from qa.config import Settings
from qa.errors import QAError
from qa.pipeline import Engine
from tests.conftest import added, free_port, write_reports

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
        a = engine.answer("Who is the MP for Hornsey and Wood Green?")
        assert "Featherstone" in a.text
        assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the local store
        # An overview reads each document's first chunks through the server's metadata filter.
        overview = engine.answer("Summarise the documents.")
        assert overview.trace.overview and len({c.source for c in overview.citations}) == 5
        assert len(Engine(settings).ingest().unchanged) == 5  # incremental against the server too
    finally:
        stop(proc)
    # The server going away mid-session is a clear error naming it, not a traceback.
    with pytest.raises(QAError, match=f"127.0.0.1:{port}"):
        engine.answer("Who is the MP for Hornsey and Wood Green?")
    proc = start_server(tmp_path / "server", port)
    try:
        a = Engine(settings).answer("Who is the MP for Hornsey and Wood Green?")
        assert "Featherstone" in a.text and a.citations
    finally:
        stop(proc)


def test_server_down_names_the_url(tmp_path, corpus):
    port = free_port()
    settings = Settings(docs_dir=corpus, data_dir=tmp_path / "local", chroma_url=f"127.0.0.1:{port}")
    with pytest.raises(QAError, match=f"127.0.0.1:{port}"):
        Engine(settings, llm=None).ingest()


def wait_for_chunks(store, proc, at_least):
    deadline = time.time() + 300
    while store.count() < at_least:
        assert proc.poll() is None, "the ingest finished before it could be killed; make the corpus larger"
        assert time.time() < deadline
        time.sleep(0.1)


def test_kill_9_mid_ingest_against_a_server(tmp_path, corpus):
    """kill -9 of the ingest, then of the server itself: the index answers, the next ingest completes it."""
    import signal

    from qa.store import Store
    from tests.conftest import index_state, run_cli, start_cli

    write_reports(corpus, 0, 150)
    port = free_port()
    url = f"127.0.0.1:{port}"
    env = {
        "QA_DOCS_DIR": str(corpus),
        "QA_DATA_DIR": str(tmp_path / "local"),
        "QA_LLM": "extractive",
        "QA_CHROMA_URL": url,
    }
    settings = Settings(docs_dir=corpus, data_dir=tmp_path / "local", chroma_url=url)

    server = start_server(tmp_path / "server", port)
    try:
        # 1. The ingest is killed once its first batch is on the server.
        proc = start_cli(env, "ingest")
        wait_for_chunks(Store(settings), proc, 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        asked = run_cli(env, "ask", "Who is the MP for Hornsey and Wood Green?")
        assert asked.returncode == 0 and "Featherstone" in asked.stdout, asked.stderr
        done = run_cli(env, "ingest")
        assert done.returncode == 0, done.stderr
        assert added(done.stdout) > 0  # the kill landed mid-run: files were left to add
        # 2. The server itself is killed mid-ingest: a clear error naming it, then a restart and a re-run.
        write_reports(corpus, 150, 100)
        before = Store(settings).count()
        proc = start_cli(env, "ingest")
        wait_for_chunks(Store(settings), proc, before + 1)
        server.send_signal(signal.SIGKILL)
        server.wait()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0 and url in err and "Traceback" not in err
        server = start_server(tmp_path / "server", port)
        assert Store(settings).count() > before  # what was written before the kill is still there
        done = run_cli(env, "ingest")
        assert done.returncode == 0, done.stderr
        assert added(done.stdout) > 0
        served = index_state(settings)
        asked = run_cli(env, "ask", "Who is the MP for Hornsey and Wood Green?")
        assert asked.returncode == 0 and "Featherstone" in asked.stdout, asked.stderr
    finally:
        stop(server)
    # The result is exactly what one clean ingest into a fresh local index gives.
    clean = Settings(docs_dir=corpus, data_dir=tmp_path / "clean")
    assert run_cli({"QA_DOCS_DIR": str(corpus), "QA_DATA_DIR": str(tmp_path / "clean")}, "ingest").returncode == 0
    assert served == index_state(clean)
