"""Saved conversations: SQLite in the data folder, one row per finished turn, every call scoped to one user.

Each turn is committed as it finishes (WAL journal), so a restart or a killed process loses no finished turn.
Every query names the user, so nothing of one user's conversations is reachable from another's session.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from .answer import Answer
from .cite import Citation
from .db import connect
from .errors import QAError

TITLE_CHARS = 60


class ConversationError(QAError):
    """A conversation that does not exist (for this user), or a name it cannot take."""


@dataclass(frozen=True)
class Turn:
    """One question and the answer shown for it, with the passages it cited (or, refused, the related ones)."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Citation, ...] = ()

    @classmethod
    def of(cls, question: str, a: Answer) -> Turn:
        return cls(question, a.text, a.refused, a.citations, a.related)


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    updated: float
    turns: int


def _citations(rows: list[dict]) -> tuple[Citation, ...]:
    return tuple(Citation(**r) for r in rows)


class Conversations:
    """Conversations of every user in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = connect(path)
        with self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS conversation(id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT, "
                "created REAL, updated REAL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS turn(conversation TEXT NOT NULL REFERENCES conversation(id) "
                "ON DELETE CASCADE, n INTEGER, question TEXT, answer TEXT, refused INTEGER, sources TEXT, "
                "PRIMARY KEY (conversation, n))"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS by_user ON conversation(user, updated)")

    def create(self, user: str, title: str) -> str:
        """A new, empty conversation of this user; its id."""
        cid = uuid.uuid4().hex
        now = time.time()
        with self._lock, self._db:
            self._db.execute("INSERT INTO conversation VALUES (?,?,?,?,?)", (cid, user, _title(title), now, now))
        return cid

    def list(self, user: str) -> list[Conversation]:
        """This user's conversations, the most recently used first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.title, c.updated, count(t.n) FROM conversation c LEFT JOIN turn t "
                "ON t.conversation = c.id WHERE c.user = ? GROUP BY c.id ORDER BY c.updated DESC",
                (user,),
            ).fetchall()
        return [Conversation(*r) for r in rows]

    def turns(self, user: str, cid: str) -> list[Turn]:
        """A conversation's turns in order."""
        with self._lock:
            self._owned(user, cid)
            rows = self._db.execute(
                "SELECT question, answer, refused, sources FROM turn WHERE conversation = ? ORDER BY n", (cid,)
            ).fetchall()
        out = []
        for question, answer, refused, sources in rows:
            cited = json.loads(sources or "{}")
            out.append(Turn(question, answer, bool(refused), _citations(cited.get("citations", [])),
                            _citations(cited.get("related", []))))  # fmt: skip
        return out

    def add(self, user: str, cid: str, turn: Turn) -> None:
        """Append a finished turn (committed at once)."""
        sources = json.dumps({"citations": [asdict(c) for c in turn.citations],
                              "related": [asdict(c) for c in turn.related]}, ensure_ascii=False)  # fmt: skip
        with self._lock, self._db:
            self._owned(user, cid)
            n = self._db.execute("SELECT count(*) FROM turn WHERE conversation = ?", (cid,)).fetchone()[0]
            self._db.execute("INSERT INTO turn VALUES (?,?,?,?,?,?)",
                             (cid, n, turn.question, turn.answer, int(turn.refused), sources))  # fmt: skip
            self._db.execute("UPDATE conversation SET updated = ? WHERE id = ?", (time.time(), cid))

    def rename(self, user: str, cid: str, title: str) -> None:
        if not title.strip():
            raise ConversationError("A conversation's name cannot be empty.")
        with self._lock, self._db:
            self._owned(user, cid)
            self._db.execute("UPDATE conversation SET title = ? WHERE id = ?", (_title(title), cid))

    def delete(self, user: str, cid: str) -> None:
        with self._lock, self._db:
            self._owned(user, cid)
            self._db.execute("DELETE FROM turn WHERE conversation = ?", (cid,))
            self._db.execute("DELETE FROM conversation WHERE id = ?", (cid,))

    def _owned(self, user: str, cid: str) -> None:
        row = self._db.execute("SELECT 1 FROM conversation WHERE id = ? AND user = ?", (cid, user)).fetchone()
        if row is None:
            raise ConversationError("That conversation does not exist (it may have been deleted).")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
