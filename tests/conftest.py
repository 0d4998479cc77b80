import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load import free_port, start_app, stop_app  # noqa: F401 - free_port is for the tests
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


def run_cli(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`qa ARGS` in a subprocess with `env` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(env: dict, *args: str, quiet: bool = False) -> subprocess.Popen:
    """`qa ARGS` started in the background (to be killed); output captured as text, or dropped if quiet."""
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=out,
        stderr=out,
        text=True,
    )


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float, why=lambda: "") -> None:
    """Poll `url` until it answers; fail with `why()` if the process exits or time runs out first."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up (exit {proc.poll()}): {why()}") from None
            time.sleep(0.5)


def index_state(settings: Settings) -> list[tuple]:
    """What an index holds, chunk by chunk, independent of ids and order (to compare two indexes)."""
    from qa.store import Store

    return sorted(
        (m["source"], m["doc_hash"], m["chunk_index"], m["start"], m["end"])
        for m in Store(settings).metadata().values()
    )


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The running app on a copy of the seeds with the bundled models: (url, docs folder, its folder)."""
    tmp = tmp_path_factory.mktemp("app")
    proc, url = start_app(tmp, {"QA_MAX_UPLOAD_MB": "1"})
    try:
        (tmp / "app.pid").write_text(str(proc.pid))
        yield url, tmp / "docs", tmp
    finally:
        stop_app(proc, tmp)


def write_reports(folder, first, count):
    """Plain-text reports enough to make an ingest last a while (about 6 chunks each)."""
    for i in range(first, first + count):
        (folder / f"report_{i:03d}.txt").write_text(
            "\n\n".join(
                f"Report {i}, paragraph {j}: the committee met in room {i * 7 + j} and agreed "
                f"item {j} of the plan for district {i}, after hearing from {j + 2} witnesses."
                for j in range(30)
            ),
            encoding="utf-8",
        )


def added(summary: str) -> int:
    import re

    return int(re.search(r"(\d+) added", summary).group(1))
