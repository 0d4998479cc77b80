import shutil
from pathlib import Path

import pytest

from qa.config import Settings

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


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
