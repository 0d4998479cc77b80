import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _isolated_data(tmp_path, monkeypatch):
    """Every test gets its own data folder; nothing touches the user's index."""
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "qa-data"))


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seed documents."""
    d = tmp_path / "docs"
    shutil.copytree(SEEDS, d)
    return d


@pytest.fixture
def settings(tmp_path, corpus) -> Settings:
    return Settings(docs_dir=corpus, data_dir=tmp_path / "data", llm="extractive")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc, timeout: float = 240) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise TimeoutError(url)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """`python app.py` on a copy of the seeds with the bundled models, on a free loopback port."""
    tmp = tmp_path_factory.mktemp("app")
    docs = tmp / "docs"
    shutil.copytree(ROOT / "seeds", docs)
    port = free_port()
    env = {
        **os.environ,
        "QA_DOCS_DIR": str(docs),
        "QA_DATA_DIR": str(tmp / "data"),
        "QA_PORT": str(port),
        "QA_MAX_UPLOAD_MB": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_up(url, proc)
        (tmp / "app.pid").write_text(str(proc.pid))
        yield url, docs, tmp
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
