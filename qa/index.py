"""The index seam: what the engine, ingest and the app need of a chunk index, and the records it deals in.

Two implementations: `store.ChromaIndex` (Chroma, local or on a server, with its BM25 side in SQLite) and
`memory.MemoryIndex` (everything in memory, for tests and throwaway corpora), as chroma ships an ephemeral
client beside its persistent one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as an index holds it: its text and metadata (source, title, start, end, doc_hash, ...)."""

    id: str
    text: str
    meta: dict


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score in one list (dense, keyword or fused)."""

    id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    page: int = 0  # the page the chunk starts on (1-based; 0: the format has no pages)
    breaks: tuple[int, ...] = ()  # offsets in the chunk's text where a new page starts

    @classmethod
    def of(cls, chunk: StoredChunk, score: float) -> Hit:
        m = chunk.meta
        return cls(chunk.id, m["source"], m.get("title", ""), chunk.text, int(m["start"]), int(m["end"]),
                   float(score), int(m.get("page") or 0), breaks(m.get("page_breaks")))  # fmt: skip

    def page_of(self, offset: int) -> int:
        """The page of an offset in the chunk's text (0 without pages)."""
        return self.page + sum(1 for b in self.breaks if b <= offset) if self.page else 0


def breaks(text: str | None) -> tuple[int, ...]:
    """Page breaks as a chunk's metadata holds them ("12,300")."""
    return tuple(int(x) for x in text.split(",")) if text else ()


def fingerprint(ids: Iterable[str]) -> str:
    """What set of chunks an index holds, independent of order."""
    h = hashlib.sha1()
    for i in sorted(ids):
        h.update(i.encode())
        h.update(b"\n")
    return h.hexdigest()


class Index(Protocol):
    """Chunks with their vectors and terms: written by ingest, searched by the engine, listed by the app."""

    name: str

    def warm_up(self) -> None:
        """Open what the index needs, so a missing server is reported before the first question."""

    def add(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        """Add or replace chunks (both the vector and the keyword side)."""

    def delete(self, ids: list[str]) -> None:
        """Remove chunks by id; unknown ids are ignored."""

    def reset(self) -> None:
        """Remove every chunk."""

    def count(self) -> int:
        """How many chunks the index holds."""

    def metadata(self) -> dict[str, dict]:
        """id -> metadata for every chunk (what ingest compares the folder against)."""

    def first_chunks(self, source: str, n: int) -> list[StoredChunk]:
        """A document's first n chunks (chunk_index below n), in the document's order; [] for a source it lacks."""

    def get(self, ids: list[str], with_vectors: bool = False) -> list[tuple[StoredChunk, list[float] | None]]:
        """The chunks with these ids, with their vectors if asked."""

    def search_dense(self, vector: np.ndarray, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        """The k chunks nearest the vector by cosine similarity, best first; only chunks of `sources` (document
        names, as in a chunk's metadata) if given."""

    def search_keyword(self, query: str, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        """The k best chunks for the query's terms by BM25, best first; only chunks of `sources` if given."""

    def sources(self) -> list[str]:
        """The documents the index holds chunks of, by name."""

    def doc_freq(self, term: str) -> int:
        """How many chunks hold a term (a stem from text.terms)."""

    def repair(self) -> bool:
        """Bring the keyword side in step with the vector side after a crash or another writer; True if it
        had to."""
