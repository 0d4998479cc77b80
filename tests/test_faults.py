"""Faults: damaged indexes, ingests killed mid-way, LLM backends that hang or talk nonsense."""

import random
import signal
import socket
import threading
import time

import pytest
from pydantic import SecretStr

from qa.config import Settings
from qa.errors import IndexDamagedError
from qa.pipeline import Engine
from qa.store import Store
from tests.conftest import added, index_state, run_cli, start_cli, write_reports
from tests.fakes import HashEmbedder, ScriptedLLM

OPEN_Q = "What did officials say Baby P had been used as?"


def test_damaged_index_says_how_to_rebuild_and_rebuild_fixes_it(settings):
    Engine(settings, embedder=HashEmbedder(), llm=None).ingest()
    db = settings.data_dir / "chroma" / "chroma.sqlite3"
    with db.open("r+b") as f:
        f.write(b"not a database " * 200)
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    with pytest.raises(IndexDamagedError, match="qa ingest --rebuild"):
        Store(settings)
    env = {"QA_DOCS_DIR": str(settings.docs_dir), "QA_DATA_DIR": str(settings.data_dir), "QA_LLM": "extractive"}
    asked = run_cli(env, "ask", "Who is the Ofsted chief inspector?")
    assert asked.returncode == 2 and "qa ingest --rebuild" in asked.stderr and "Traceback" not in asked.stderr
    rebuilt = run_cli(env, "ingest", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "5 added" in rebuilt.stdout
    # The rebuilt index answers from the documents again (the extractive answer cites a seed file).
    again = run_cli(env, "ask", "Who is the Ofsted chief inspector?")
    assert again.returncode == 0 and "Traceback" not in again.stderr and ".txt" in again.stdout


@pytest.mark.slow
def test_ingest_killed_at_random_points_always_recovers(tmp_path, corpus):
    # Enough text (about 1,000 chunks) that kills land in the middle of the ingest.
    write_reports(corpus, 0, 150)
    env = {"QA_DOCS_DIR": str(corpus), "QA_DATA_DIR": str(tmp_path / "data"), "QA_LLM": "extractive"}
    rng = random.Random(7)
    written = 0
    for _ in range(3):
        proc = start_cli(env, "ingest", quiet=True)
        # Kill at a random moment once this run has written something (read from the keyword
        # index, which follows each write to the store), so every kill lands mid-ingest.
        while chunks_on_disk(tmp_path / "data") <= written:
            assert proc.poll() is None, "the ingest finished before it could be killed"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        written = chunks_on_disk(tmp_path / "data")
        # The index still answers after every kill.
        asked = run_cli(env, "ask", "Who is the Ofsted chief inspector?")
        assert asked.returncode == 0, asked.stderr
    finished = run_cli(env, "ingest")
    assert finished.returncode == 0 and added(finished.stdout) > 0  # files were left for this run
    clean_env = {**env, "QA_DATA_DIR": str(tmp_path / "clean")}
    assert run_cli(clean_env, "ingest").returncode == 0
    assert index_state(Settings(docs_dir=corpus, data_dir=tmp_path / "data")) == index_state(
        Settings(docs_dir=corpus, data_dir=tmp_path / "clean")
    )


def chunks_on_disk(data_dir) -> int:
    import sqlite3

    files = list((data_dir / "keyword").glob("*.sqlite"))
    if not files:
        return 0
    db = sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM chunk").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        db.close()


def test_garbage_from_the_model_is_never_shown(settings):
    e = Engine(settings, embedder=HashEmbedder(), llm=ScriptedLLM("\x00\x01 ### <|im_end|> zxqv qqq wobble"))
    a = e.answer(OPEN_Q)
    assert a.refused and a.citations == () and "zxqv" not in a.text
    assert a.trace.model_answer == "" and "found no answer" in a.trace.verification


def test_llm_server_that_hangs_times_out_and_falls_back(settings):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    held = []
    stop = threading.Event()

    def accept_and_hold():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])  # accept, never answer
            except OSError:
                pass

    t = threading.Thread(target=accept_and_hold, daemon=True)
    t.start()
    try:
        s = settings.model_copy(
            update={
                "llm": "openai",
                "llm_url": f"http://127.0.0.1:{srv.getsockname()[1]}/v1",
                "llm_model": "m",
                "llm_timeout": 1.0,
                "llm_api_key": SecretStr("sk-test-SECRET-123"),
            }
        )
        e = Engine(s, embedder=HashEmbedder())
        t0 = time.perf_counter()
        a = e.answer(OPEN_Q)
        assert time.perf_counter() - t0 < 15
        # The best evidence sentence stands in, or the question is refused; never a traceback.
        assert a.refused or a.citations[0].quote.strip() in a.text
        assert any("failed" in w and "extractive" in w for w in a.warnings)
        assert "SECRET" not in repr(a) and "SECRET" not in repr(s)
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        srv.close()


def test_very_large_file_is_skipped_and_listed(settings, corpus):
    big = corpus / "huge.txt"
    with big.open("wb") as f:
        f.truncate(60 * 2**20)  # sparse: 60 MiB on paper, nothing on disk
    from qa.ingest import sync
    from qa.store import open_index

    rep = sync(settings, open_index(settings), HashEmbedder())
    assert dict(rep.skipped)["huge.txt"].startswith("larger than")
