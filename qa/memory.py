"""An Index held in memory: exact cosine search over a matrix, BM25 in an in-memory SQLite FTS5 table.

For tests and throwaway corpora, as chroma's ephemeral client and haystack's in-memory document store are:
nothing is written to disk, and the engine cannot tell it from ChromaIndex.
"""

from __future__ import annotations

import numpy as np

from .index import Hit, StoredChunk
from .keyword import KeywordIndex


class MemoryIndex:
    """Chunks, their unit vectors and their terms, in this process only."""

    name = "memory"

    def __init__(self) -> None:
        self._chunks: dict[str, StoredChunk] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._keyword = KeywordIndex(":memory:")  # the same BM25 as on disk, so both rank alike

    def warm_up(self) -> None:
        """Nothing to open."""

    def add(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        chunks = [StoredChunk(i, t, dict(m)) for i, t, m in zip(ids, texts, metas, strict=True)]
        for chunk, vector in zip(chunks, np.asarray(vectors, dtype=np.float32), strict=True):
            self._chunks[chunk.id], self._vectors[chunk.id] = chunk, vector.copy()
        self._keyword.add(chunks)

    def delete(self, ids: list[str]) -> None:
        for i in ids:
            self._chunks.pop(i, None)
            self._vectors.pop(i, None)
        self._keyword.delete(ids)

    def reset(self) -> None:
        self._chunks.clear()
        self._vectors.clear()
        self._keyword.rebuild([])

    def count(self) -> int:
        return len(self._chunks)

    def metadata(self) -> dict[str, dict]:
        return {i: dict(c.meta) for i, c in self._chunks.items()}

    def first_chunks(self, source: str, n: int) -> list[StoredChunk]:
        mine = [c for c in self._chunks.values() if c.meta["source"] == source and int(c.meta["chunk_index"]) < n]
        return sorted(mine, key=lambda c: int(c.meta["chunk_index"]))

    def get(self, ids: list[str], with_vectors: bool = False) -> list[tuple[StoredChunk, list[float] | None]]:
        return [(self._chunks[i], self._vectors[i].tolist() if with_vectors else None)
                for i in ids if i in self._chunks]  # fmt: skip

    def search_dense(self, vector: np.ndarray, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        ids = [i for i, c in self._chunks.items() if sources is None or c.meta["source"] in sources]
        if not ids:
            return []
        matrix = np.stack([self._vectors[i] for i in ids])
        scores = matrix @ (vector / (np.linalg.norm(vector) or 1.0))
        order = sorted(range(len(ids)), key=lambda n: (-scores[n], ids[n]))[:k]
        return [Hit.of(self._chunks[ids[n]], float(scores[n])) for n in order]

    def search_keyword(self, query: str, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        return self._keyword.search(query, k, sources)

    def sources(self) -> list[str]:
        return sorted({c.meta["source"] for c in self._chunks.values()})

    def doc_freq(self, term: str) -> int:
        return self._keyword.doc_freq(term)

    def repair(self) -> bool:
        """Both sides are written together in one process: they cannot drift apart."""
        return False
