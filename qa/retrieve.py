"""Retrieval: dense (Chroma) and keyword (BM25) lists over the same chunks, fused by RRF."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .embed import Embedder
from .index import Hit, Index

__all__ = ["Hit", "Retrieval", "Retriever", "rrf"]


@dataclass(frozen=True)
class Retrieval:
    """What retrieval did for one query: each list best first."""

    query: str
    dense: tuple[Hit, ...]
    keyword: tuple[Hit, ...]
    fused: tuple[Hit, ...]
    vector: np.ndarray = field(compare=False, repr=False)  # the query's embedding, for reuse


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


class Retriever:
    """Dense plus keyword retrieval over one index, fused."""

    def __init__(self, index: Index, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def retrieve(self, query: str, k: int = 8, sources: tuple[str, ...] | None = None) -> Retrieval:
        """Both lists for the query, fused (within these documents, if given)."""
        vector = self.embedder.embed([query])[0]
        dense = self.index.search_dense(vector, k, sources)
        keyword = self.index.search_keyword(query, k, sources)
        fused = rrf([dense, keyword], limit=k)
        return Retrieval(query, tuple(dense), tuple(keyword), tuple(fused), vector)
