"""Evidence: the fused chunks split into sentences, each scored against the question.

Pure functions over plain values; the engine supplies the vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .text import sentence_spans, terms


@dataclass(frozen=True)
class Sentence:
    """A candidate evidence sentence, with where it sits and how it scored."""

    source: str
    title: str
    text: str
    start: int
    end: int
    chunk_id: str
    chunk_rank: int
    dense: float = 0.0
    lexical: float = 0.0
    score: float = 0.0
    page: int = 0  # 1-based page or slide the sentence starts on; 0 where the format has no pages
    # The score with the dense similarity taken after the scored sentences' mean vector is removed from the
    # query's and the sentence's (`score`): what this sentence says of the question beyond what every retrieved
    # sentence shares. None when it cannot be told (one sentence).
    focus: float | None = None


def idf(df: int, n_docs: int) -> float:
    """BM25-style idf of a term that df of n_docs chunks hold; a term the corpus never uses gets the largest."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def idf_weights(query_terms: Iterable[str], df: dict[str, int], n_docs: int) -> dict[str, float]:
    """idf per query term."""
    return {t: idf(df.get(t, 0), n_docs) for t in set(query_terms)}


def coverage(query_terms: Sequence[str], text_terms: Iterable[str], weights: dict[str, float]) -> float:
    """Share of the query's idf weight that the text's terms cover (0..1)."""
    qs = set(query_terms)
    total = sum(weights.get(t, 1.0) for t in qs)
    if not total:
        return 0.0
    have = set(text_terms)
    return sum(weights.get(t, 1.0) for t in qs if t in have) / total


def unknown_share(query_terms: Sequence[str], df: dict[str, int], weights: dict[str, float]) -> float:
    """Share of the query's idf weight on terms no chunk of the corpus holds (0..1)."""
    qs = set(query_terms)
    total = sum(weights.get(t, 1.0) for t in qs)
    return sum(weights.get(t, 1.0) for t in qs if not df.get(t)) / total if total else 0.0


def combine(dense: float, lexical: float, chunk_rank: int) -> float:
    """One evidence score from a sentence's dense similarity, term coverage and its chunk's rank."""
    return 0.5 * dense + 0.5 * lexical + 0.04 / (1 + chunk_rank)


def split(hits: Sequence) -> list[Sentence]:
    """The retrieved chunks' sentences, each once, with exact document offsets."""
    out: list[Sentence] = []
    seen = set()
    for rank, hit in enumerate(hits):
        for s, e in sentence_spans(hit.text):
            key = (hit.source, hit.start + s)
            if key not in seen:
                seen.add(key)
                out.append(Sentence(hit.source, hit.title, hit.text[s:e], hit.start + s, hit.start + e, hit.id, rank,
                                    page=hit.page_of(s)))  # fmt: skip
    return out


def score(
    sentences: Sequence[Sentence],
    query_vector: np.ndarray,
    vectors: Callable[[Sequence[Sentence]], Sequence[np.ndarray]],
    query_terms: Sequence[str],
    weights: dict[str, float],
) -> list[Sentence]:
    """Each sentence scored by dense similarity and term coverage, best first (ties: chunk rank, place), with its
    `focus`: the same score with the dense similarity measured from the sentences' mean vector. Every passage
    retrieved for a question shares its topic ("Baby P", "the earthquake"), so a sentence that only names the
    topic is as near the question as one that says what the question asks of it; less the mean, what remains is
    the part of each that differs from the rest (mean-centring, as for anisotropic sentence embeddings: Mu and
    Viswanath 2018, "All-but-the-top")."""
    if not sentences:
        return []
    vecs = np.asarray(vectors(sentences), dtype=float)
    mean = vecs.mean(axis=0) if len(vecs) > 1 else None
    query_off = None if mean is None else np.asarray(query_vector, dtype=float) - mean
    scored = []
    for s, v in zip(sentences, vecs, strict=True):
        dense = float(np.dot(query_vector, v))
        lex = coverage(query_terms, terms(s.text), weights)
        focus = None
        if query_off is not None:
            off = v - mean
            norms = float(np.linalg.norm(query_off) * np.linalg.norm(off))
            if norms > 1e-9:
                focus = combine(float(np.dot(query_off, off)) / norms, lex, s.chunk_rank)
        scored.append(replace(s, dense=dense, lexical=lex, score=combine(dense, lex, s.chunk_rank), focus=focus))
    return sorted(scored, key=lambda s: (-s.score, s.chunk_rank, s.start))


def context(ranked: Sequence[Sentence], n: int) -> list[Sentence]:
    """The reader's evidence: the n best sentences, in document order so each reads in its context."""
    return sorted(ranked[:n], key=lambda s: (s.chunk_rank, s.source, s.start))


class SentenceVectors:
    """Sentence embeddings, each computed once per process (evidence sentences recur across questions)."""

    LIMIT = 50_000  # about 75 MiB of MiniLM vectors; then it starts afresh

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self._cache: dict[tuple, np.ndarray] = {}

    def __call__(self, sentences: Sequence[Sentence]) -> list[np.ndarray]:
        keys = [(s.source, s.start, s.end, s.text) for s in sentences]
        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if todo:
            if len(self._cache) > self.LIMIT:
                self._cache.clear()
            self._cache.update(zip(todo, self.embedder.embed([k[3] for k in todo]), strict=True))
        return [self._cache[k] for k in keys]


@dataclass(frozen=True)
class Evidence:
    """The evidence stage's record: every candidate sentence scored (best first), the ones the reader is
    shown (in document order), and the share of the query's weight on terms the corpus never uses."""

    query_terms: tuple[str, ...]
    ranked: tuple[Sentence, ...]
    shown: tuple[Sentence, ...]
    unknown: float

    @property
    def best(self) -> Sentence | None:
        return self.ranked[0] if self.ranked else None


def gather(query: str, query_vector: np.ndarray, hits: Sequence, doc_freq: Callable[[str], int], n_chunks: int,
           vectors: Callable[[Sequence[Sentence]], Sequence[np.ndarray]], n: int) -> Evidence:  # fmt: skip
    """The stage: the retrieved chunks' sentences scored against the query, weighted by the corpus's idf."""
    q_terms = terms(query)
    df = {t: doc_freq(t) for t in set(q_terms)}
    weights = idf_weights(q_terms, df, max(1, n_chunks))
    ranked = score(split(hits), query_vector, vectors, q_terms, weights)
    return Evidence(tuple(q_terms), tuple(ranked), tuple(context(ranked, n)), unknown_share(q_terms, df, weights))
