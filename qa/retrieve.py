"""Retrieval: dense (Chroma) and keyword (BM25) lists over the same chunks, fused by RRF."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .embed import Embedder
from .store import Store, StoredChunk


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score in one list."""

    id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float

    @classmethod
    def of(cls, chunk: StoredChunk, score: float) -> Hit:
        m = chunk.meta
        return cls(
            chunk.id, m["source"], m.get("title", ""), chunk.text, int(m["start"]), int(m["end"]), float(score)
        )


@dataclass(frozen=True)
class Retrieval:
    """What retrieval did for one query: each list best first."""

    query: str
    dense: tuple[Hit, ...]
    keyword: tuple[Hit, ...]
    fused: tuple[Hit, ...]


def rrf(
    lists: Sequence[Sequence[Hit]], k: int = 60, weights: Sequence[float] | None = None, limit: int | None = None
) -> list[Hit]:
    """Reciprocal rank fusion: score(d) = sum of w / (k + rank) over the lists that hold d.

    Written out rather than taken from llama-index's QueryFusionRetriever because the trace
    needs each input list and its scores, which that retriever does not expose.
    """
    weights = weights or [1.0] * len(lists)
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for hits, w in zip(lists, weights, strict=False):
        for rank, hit in enumerate(hits, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + w / (k + rank)
            first.setdefault(hit.id, hit)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    fused = [Hit(**{**first[i].__dict__, "score": scores[i]}) for i in order]
    return fused[:limit] if limit else fused


_WORD = re.compile(r"\w+")


class KeywordIndex:
    """BM25 over the stored chunks, via llama-index's BM25Retriever (bm25s underneath)."""

    def __init__(self, chunks: list[StoredChunk]) -> None:
        self.size = len(chunks)
        self._chunks = {c.id: c for c in chunks}
        self._retriever = None
        if chunks:
            import Stemmer
            from llama_index.core.schema import TextNode
            from llama_index.retrievers.bm25 import BM25Retriever

            nodes = [TextNode(id_=c.id, text=c.text) for c in chunks]
            self._retriever = BM25Retriever.from_defaults(
                nodes=nodes,
                similarity_top_k=min(10, len(nodes)),
                stemmer=Stemmer.Stemmer("english"),
                language="english",
            )

    def search(self, query: str, k: int) -> list[Hit]:
        if self._retriever is None or not _WORD.search(query):
            return []
        self._retriever.similarity_top_k = min(k, self.size)
        out = []
        for nws in self._retriever.retrieve(query):
            if nws.score and nws.score > 0:
                out.append(Hit.of(self._chunks[nws.node.node_id], nws.score))
        return out


class Retriever:
    """Dense plus keyword retrieval over one store, fused."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.keyword = KeywordIndex(store.all_chunks())

    def refresh(self) -> None:
        """Rebuild the keyword side after an ingest changed the store."""
        self.keyword = KeywordIndex(self.store.all_chunks())

    def retrieve(self, query: str, k: int = 8) -> Retrieval:
        vector = self.embedder.embed([query])[0]
        dense = [Hit.of(c, s) for c, s in self.store.search(vector, k)]
        keyword = self.keyword.search(query, k)
        fused = rrf([dense, keyword], limit=k)
        return Retrieval(query, tuple(dense), tuple(keyword), tuple(fused))
