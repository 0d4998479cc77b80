"""The keyword side of retrieval: BM25 over the chunks in SQLite FTS5, on disk and updated in place.

Not llama-index's BM25Retriever: that one holds its index in memory and is rebuilt from every chunk
at each start, which a large corpus cannot afford. FTS5 ranks with the same BM25 (k1=1.2, b=0.75),
is persistent and transactional, and updates one file's chunks at a time as ingest goes.

FTS5 indexes the chunks' stemmed terms (text.terms, the one stemmer qa uses everywhere), not its own
porter tokenizer, so the keyword side and evidence scoring agree on what a word is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from .db import connect
from .index import Hit, StoredChunk, breaks
from .text import terms

SCHEMA = 3  # 1: FTS5 porter over the raw text; 2: Snowball terms; 3: pages. A different schema is rebuilt.


class KeywordIndex:
    """BM25 search, document frequencies, and add/delete by chunk id, in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = connect(path)
        with self._db:
            if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                # Emptied here; the engine sees the ids differ from the store's and refills it.
                self._db.execute("DROP TABLE IF EXISTS fts")
                self._db.execute("DROP TABLE IF EXISTS chunk")
                self._db.execute(f"PRAGMA user_version={SCHEMA}")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chunk(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, "
                "source TEXT, title TEXT, start INTEGER, end_ INTEGER, page INTEGER, page_breaks TEXT)"
            )
            # sources() runs at every answer's start: with 200,000 chunks, 35 ms a call by a scan, 9 ms by this.
            self._db.execute("CREATE INDEX IF NOT EXISTS chunk_source ON chunk(source)")
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body UNINDEXED, terms, tokenize='unicode61')"
            )

    # --- upkeep --------------------------------------------------------------------------------

    def add(self, chunks: Iterable[StoredChunk]) -> None:
        """Add (or replace) chunks in one transaction."""
        with self._lock, self._db:
            for c in chunks:
                self._delete_one(c.id)
                m = c.meta
                cur = self._db.execute(
                    "INSERT INTO chunk(id, source, title, start, end_, page, page_breaks) VALUES (?,?,?,?,?,?,?)",
                    (c.id, m["source"], m.get("title", ""), int(m["start"]), int(m["end"]), int(m.get("page") or 0),
                     m.get("page_breaks") or ""),
                )
                self._db.execute(
                    "INSERT INTO fts(rowid, body, terms) VALUES (?, ?, ?)",
                    (cur.lastrowid, c.text, " ".join(terms(c.text))),
                )

    def delete(self, ids: Iterable[str]) -> None:
        with self._lock, self._db:
            for i in ids:
                self._delete_one(i)

    def _delete_one(self, chunk_id: str) -> None:
        row = self._db.execute("SELECT rowid FROM chunk WHERE id=?", (chunk_id,)).fetchone()
        if row:
            self._db.execute("DELETE FROM fts WHERE rowid=?", row)
            self._db.execute("DELETE FROM chunk WHERE rowid=?", row)

    def rebuild(self, chunks: Iterable[StoredChunk]) -> None:
        """Replace everything (when the store changed behind this index's back)."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM fts")
            self._db.execute("DELETE FROM chunk")
        self.add(chunks)

    def warm_up(self) -> None:
        """Nothing to load: SQLite opens the file at construction."""

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM chunk")]

    # --- queries -------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunk").fetchone()[0]

    def search(self, query: str, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        """Best chunks for the query's content words, best first (within these documents, if given)."""
        words = list(dict.fromkeys(terms(query)))
        if not words or sources == ():
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words[:64])
        within = f" AND c.source IN ({','.join('?' * len(sources))})" if sources else ""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.source, c.title, c.start, c.end_, f.body, -bm25(fts) AS score, c.page, c.page_breaks "
                f"FROM fts f JOIN chunk c ON c.rowid = f.rowid WHERE fts MATCH ?{within} ORDER BY score DESC LIMIT ?",
                (match, *(sources or ()), k),
            ).fetchall()
        return [Hit(i, src, title, text, start, end, score, page or 0, breaks(pb))
                for i, src, title, start, end, text, score, page, pb in rows]  # fmt: skip

    def sources(self) -> list[str]:
        """The documents the index holds chunks of."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT source FROM chunk ORDER BY source")]

    def doc_freq(self, term: str) -> int:
        """How many chunks hold a term (a stem from text.terms)."""
        if not term:
            return 0
        with self._lock:
            return self._db.execute(
                "SELECT count(*) FROM fts WHERE fts MATCH ?", ('"' + term.replace('"', '""') + '"',)
            ).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
