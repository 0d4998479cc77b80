"""SQLite files of qa's own (the keyword index, saved conversations), opened one way."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection shared by threads (callers hold their own lock), in WAL mode so every committed write
    survives a killed process; ':memory:' for a throwaway database."""
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    return db
