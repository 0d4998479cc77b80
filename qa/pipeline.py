"""The engine: holds the models, store and indexes for one Settings, and runs a question
through retrieve -> evidence -> generate -> verify -> cite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from . import verify as V
from .answer import REFUSAL, Answer, History, Trace, build_prompt, condense, normalise_question, supporting
from .cite import from_sentence, markers
from .clean import sentence_spans
from .config import Settings
from .embed import Embedder, make_embedder
from .errors import BackendError, EmptyQuestionError, QAError
from .evidence import Sentence, answer_type, combine, coverage, idf_weights, rank_sentences, terms, tokens
from .ingest import IngestReport, Progress, sync
from .keyword import KeywordIndex, fingerprint
from .llm import LLM, make_llm
from .retrieve import Retrieval, Retriever
from .store import Store, open_store

EVIDENCE_SENTENCES = 4
RESCUE_SIMILARITY = 0.5  # a word the corpus never uses still counts if a nearby word means the same

# llama.cpp models are not safe to call from two threads at once; the app serves many users.
_generation_lock = threading.Lock()
_models: dict[tuple, object] = {}
_models_lock = threading.Lock()


def shared(key: tuple, make: Callable[[], object]):
    """One instance per key per process: models load once."""
    with _models_lock:
        if key not in _models:
            _models[key] = make()
        return _models[key]


class Engine:
    """Everything needed to answer questions over one corpus with one configuration."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        llm: LLM | None | str = "auto",
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or shared(
            ("embed", settings.embed_model), lambda: make_embedder(settings.embed_model)
        )
        if llm == "auto":
            key = ("llm", settings.llm, settings.llm_model, settings.llm_url)
            llm = shared(key, lambda: make_llm(settings)) if settings.llm != "openai" else make_llm(settings)
        self.llm = llm
        self.store = store or open_store(settings)
        self.keyword = KeywordIndex(settings.data_dir / "keyword" / f"{self.store.name}.sqlite")
        self.store.keyword = self.keyword
        self._lock = threading.RLock()
        self._retriever: Retriever | None = None
        self._sentence_vecs: dict[tuple, np.ndarray] = {}

    # --- index -------------------------------------------------------------------------------

    def ingest(self, progress: Progress | None = None, rebuild: bool = False) -> IngestReport:
        """Sync the index with the documents folder."""
        with self._lock:
            report = sync(self.settings, self.store, self.embedder, progress=progress, rebuild=rebuild)
            self._load_indexes()
            return report

    def ensure_index(self) -> None:
        """Build the index on first use; reuse it after."""
        with self._lock:
            if self._retriever is not None:
                return
            if self.store.count() == 0:
                self.ingest()
            else:
                self._load_indexes()

    def _load_indexes(self) -> None:
        # The keyword index follows every add and delete; if the store changed behind its back
        # (another client of a Chroma server, a crash between the two writes) it is rebuilt once.
        if fingerprint(self.store.ids()) != fingerprint(self.keyword.ids()):
            self.keyword.rebuild(self.store.all_chunks())
        self._retriever = Retriever(self.store, self.embedder, self.keyword)

    # --- answering ---------------------------------------------------------------------------

    def answer(self, question: str, history: History = ()) -> Answer:
        """Answer a question from the documents, or refuse."""
        final = None
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(self, question: str, history: History = ()) -> Iterator[str | Answer]:
        """Yield model text pieces as they come, then the final, verified Answer."""
        if not isinstance(question, str) or not question.strip():
            raise EmptyQuestionError()
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        q, warnings = normalise_question(question, self.settings.max_question_chars)
        if not q:
            raise EmptyQuestionError()
        self.ensure_index()
        query = condense(q, history)
        retrieval = self._retriever.retrieve(query, self.settings.candidates)
        times["retrieve"] = time.perf_counter() - t0
        kind = answer_type(q)
        df = self._doc_freqs(query)
        ranked = self._score_sentences(query, retrieval, df)
        unknown = self._unknown_terms(query, ranked, df)
        judgement = V.judge(kind, ranked, unknown, q)
        evidence = ranked[:EVIDENCE_SENTENCES]
        times["evidence"] = time.perf_counter() - t0 - times["retrieve"]
        base = dict(
            question=q,
            query=query,
            dense=_hits(retrieval.dense),
            keyword=_hits(retrieval.keyword),
            fused=_hits(retrieval.fused),
            answer_type=kind,
            judgement=judgement.reason,
            backend=self.llm.name if self.llm else "extractive",
        )
        if not judgement.ok:
            trace = Trace(
                **base, evidence=_evidence_trace(ranked, 0, f"cut: {judgement.reason}"), seconds=_done(times, t0)
            )
            related = tuple(from_sentence(s) for s in ranked[: self.settings.top_k])
            yield Answer(REFUSAL, True, (), trace, related, tuple(warnings))
            return

        model_answer, verdict = None, None
        # A number, date or name found beside the question's own words is a better answer than
        # anything a tiny model writes (measured on the eval set); the model handles the rest.
        typed = V.typed_answer(query, kind, ranked)
        if typed is None and self.llm is not None:
            pieces = []
            try:
                with _generation_lock:
                    for piece in self.llm.stream(build_prompt(q, evidence), max_tokens=48):
                        pieces.append(piece)
                        yield piece
                model_answer = V.clean_answer("".join(pieces))
                verdict = V.verify(model_answer, [s.text for s in evidence], q, kind)
            except BackendError as e:
                warnings.append(f"{e} - showing the extractive answer instead.")
            except Exception as e:  # noqa: BLE001 - a failing model must never cost the user an answer
                warnings.append(f"The LLM failed ({type(e).__name__}) - showing the extractive answer instead.")
        times["generate"] = time.perf_counter() - t0 - times["retrieve"] - times["evidence"]
        best = None  # the sentence an answer was cut from leads its citations
        if typed is not None:
            text, best = typed
            verdict_note = f"{kind} found beside the question's words in the evidence; no model needed"
        elif verdict is not None and verdict.ok:
            text = model_answer
        else:
            if verdict is not None:
                warnings.append(
                    f"The model's answer was not used ({verdict.reason}); this answer is taken "
                    "from the documents instead."
                )
            # No name, date or number to cut out (typed_answer found none): the best sentence answers.
            best = evidence[0]
            text = best.text.strip()
        support = supporting(text, evidence, self.settings.top_k)
        if best is not None:
            support = ([best] + [s for s in support if s is not best])[: self.settings.top_k]
        citations = tuple(from_sentence(s) for s in support)
        trace = Trace(
            **base,
            evidence=_evidence_trace(ranked, len(evidence), "kept: top evidence"),
            model_answer=model_answer,
            verification=(verdict_note if typed else verdict.reason if verdict else "no model answer"),
            seconds=_done(times, t0),
        )
        yield Answer(f"{text} {markers(len(citations))}", False, citations, trace, (), tuple(warnings))

    def _doc_freqs(self, query: str) -> dict[str, int]:
        """How many chunks hold each of the query's terms (keyed by the term's stem)."""
        df: dict[str, int] = {}
        for w in tokens(query):
            for t in terms(w):
                df[t] = df.get(t, 0) + self.keyword.doc_freq(w)
        return df

    def _score_sentences(self, query: str, retrieval: Retrieval, df: dict[str, int]) -> list[Sentence]:
        """Split the fused chunks into sentences and score each against the query."""
        cands: list[Sentence] = []
        seen = set()
        for rank, hit in enumerate(retrieval.fused):
            for s, e in sentence_spans(hit.text):
                key = (hit.source, hit.start + s)
                if key in seen:
                    continue
                seen.add(key)
                cands.append(
                    Sentence(hit.source, hit.title, hit.text[s:e], hit.start + s, hit.start + e, hit.id, rank)
                )
        if not cands:
            return []
        qv = retrieval.vector
        vecs = self._sentence_vectors(cands)
        q_terms = terms(query)
        weights = idf_weights(q_terms, df, max(1, self.keyword.size))
        scored = []
        for s, v in zip(cands, vecs, strict=False):
            dense = float(np.dot(qv, v))
            lex = coverage(q_terms, terms(s.text), weights)
            scored.append(
                Sentence(
                    **{**s.__dict__, "dense": dense, "lexical": lex, "score": combine(dense, lex, s.chunk_rank)}
                )
            )
        return rank_sentences(scored)

    def _sentence_vectors(self, cands: list[Sentence]) -> list[np.ndarray]:
        keys = [(c.source, c.start, c.end, c.text) for c in cands]
        todo = [k for k in dict.fromkeys(keys) if k not in self._sentence_vecs]
        if todo:
            for k, v in zip(todo, self.embedder.embed([k[3] for k in todo]), strict=False):
                self._sentence_vecs[k] = v
            if len(self._sentence_vecs) > 50_000:
                self._sentence_vecs.clear()
        return [self._sentence_vecs[k] for k in keys]

    def _unknown_terms(self, query: str, ranked: list[Sentence], df: dict[str, int]) -> list[str]:
        """Query words the corpus never uses and no word in the evidence means."""
        words = {}
        for w in tokens(query):
            for t in terms(w):
                if df.get(t, 0) == 0 and not t.isdigit():
                    words[w] = t
        if not words or not ranked:
            return list(words)
        vocab = sorted({w for s in ranked[:8] for w in tokens(s.text) if terms(w)})
        if not vocab:
            return list(words)
        vecs = self.embedder.embed(list(words) + vocab)
        qv, vv = vecs[: len(words)], vecs[len(words) :]
        sims = qv @ vv.T
        return [w for w, row in zip(words, sims, strict=False) if float(row.max()) < RESCUE_SIMILARITY]


def _hits(hits) -> tuple:
    return tuple((h.id, h.source, h.start, h.end, round(h.score, 4)) for h in hits)


def _evidence_trace(ranked: list[Sentence], kept: int, why_kept: str):
    out = []
    for i, s in enumerate(ranked[:12]):
        why = why_kept if i < kept else ("cut: below the top evidence" if kept else why_kept)
        out.append((s.source, s.start, s.end, round(s.score, 4), why))
    return tuple(out)


def _done(times: dict, t0: float) -> dict:
    times["total"] = time.perf_counter() - t0
    return {k: round(v, 4) for k, v in times.items()}


_engines: dict[tuple, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine:
    """The process-wide engine for these settings (built once)."""
    key = (
        settings.index_key(),
        str(settings.docs_dir.resolve()),
        settings.llm,
        settings.llm_model,
        settings.llm_url,
        settings.top_k,
        settings.candidates,
    )
    with _engines_lock:
        if key not in _engines:
            _engines[key] = Engine(settings)
        return _engines[key]


def answer(question: str, history: History = (), settings: Settings | None = None) -> Answer:
    """Answer a question from the documents (the public API: `from qa import answer`)."""
    return engine_for(settings or Settings()).answer(question, history)


def ingest(
    docs_dir=None, settings: Settings | None = None, progress: Progress | None = None, rebuild: bool = False
) -> IngestReport:
    """Index a folder of documents incrementally (the public API: `from qa import ingest`)."""
    settings = settings or Settings()
    if docs_dir is not None:
        settings = settings.model_copy(update={"docs_dir": __import__("pathlib").Path(docs_dir)})
    return engine_for(settings).ingest(progress=progress, rebuild=rebuild)


__all__ = ["Engine", "answer", "ingest", "engine_for", "QAError"]
