"""The pipeline: one Engine per Settings wires the stages, each a module of its own:
condense (reader) -> retrieve -> evidence -> read (reader) -> verify -> refuse -> cite."""

from __future__ import annotations

import threading
import time

from . import evidence as ev
from . import reader, refuse, verify
from .answer import REFUSAL, Answer, History, Trace, normalise_question
from .cite import from_sentence, markers
from .config import Settings
from .embed import Embedder, make_embedder
from .errors import BackendError, EmptyQuestionError
from .ingest import IngestReport, Progress, open_index, sync
from .keyword import fingerprint
from .llm import LLM, make_llm
from .retrieve import Retriever
from .store import VectorStore
from .text import terms

EVIDENCE_SENTENCES = (
    6  # sentences the reader sees: recall 96% (seed dev) and 91% (public dev), about 250 prompt tokens
)


class Engine:
    """Everything needed to answer questions over one corpus with one configuration."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, llm: LLM | None | str = "auto",
                 store: VectorStore | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embed_model)
        self.llm = make_llm(settings) if llm == "auto" else llm
        self.index = open_index(settings, store)
        self.store, self.keyword = self.index.store, self.index.keyword
        self.retriever = Retriever(self.store, self.embedder, self.keyword)
        self._lock = threading.RLock()
        self._ready = False
        self.vectors = ev.SentenceVectors(self.embedder)

    def warm_up(self) -> None:
        """Load the models and open the index, so the first question is as fast as the rest."""
        self.embedder.warm_up()
        self.store.warm_up()
        self.keyword.warm_up()
        if self.llm is not None:
            self.llm.warm_up()
            reader.prime(self.llm)
        self.ensure_index()

    def ingest(self, progress: Progress | None = None, rebuild: bool = False) -> IngestReport:
        """Sync both indexes with the documents folder."""
        with self._lock:
            report = sync(self.settings, self.index, self.embedder, progress, rebuild)
            self._ready = True
            return report

    def ensure_index(self) -> None:
        """Build the index on first use; after a crash or another writer, bring the keyword side in step."""
        with self._lock:
            if self._ready:
                return
            if self.store.count() == 0:
                self.ingest()
            elif fingerprint(self.store.ids()) != fingerprint(self.keyword.ids()):
                self.keyword.rebuild(self.store.all_chunks())
            self._ready = True

    def answer(self, question: str, history: History = ()) -> Answer:
        """Answer a question from the documents, or refuse."""
        if not isinstance(question, str) or not question.strip():
            raise EmptyQuestionError()
        t0, times = time.perf_counter(), {}
        q, warnings = normalise_question(question, self.settings.max_question_chars)
        self.ensure_index()
        try:
            q = reader.condense(self.llm, q, history)
        except BackendError as e:
            warnings.append(f"{e} - the question was not rewritten for the conversation.")
        retrieval = self.retriever.retrieve(reader.carry_subject(q, history), self.settings.candidates)
        times["retrieve"] = time.perf_counter() - t0
        q_terms = terms(retrieval.query)
        df = {t: self.keyword.doc_freq(t) for t in set(q_terms)}
        weights = ev.idf_weights(q_terms, df, max(1, self.keyword.size))
        ranked = ev.score(ev.split(retrieval.fused), retrieval.vector, self.vectors, q_terms, weights)
        evidence = ev.context(ranked, EVIDENCE_SENTENCES)
        reading = None
        if self.llm is not None and evidence:
            try:
                reading = reader.read(self.llm, q, evidence)
            except Exception as e:  # noqa: BLE001 - a failing model must never cost the user an answer
                warnings.append(f"The reader failed ({e}) - falling back to the extractive answer.")
        times["read"] = time.perf_counter() - t0 - times["retrieve"]
        if reading is not None:
            support = verify.check(reading.answer, reading.sentence, evidence, q)
        else:
            best = evidence.index(ranked[0]) + 1 if ranked else 0
            support = verify.Support(best, 1.0, False, "extractive: the best evidence sentence")
        echo = verify.echo(reading.answer, q) if reading is not None else 0.0
        signals = refuse.signals(reading, support, evidence, ranked, ev.unknown_share(q_terms, df, weights), echo)
        decision = (
            refuse.decide(signals, refuse.READER if reading is not None else refuse.EXTRACTIVE)
            if support.ok
            else refuse.Decision(False, 0.0, support.reason)
        )
        shown = {(s.source, s.start) for s in evidence}
        trace = Trace(
            question=question, query=retrieval.query, dense=_hits(retrieval.dense), keyword=_hits(retrieval.keyword),
            fused=_hits(retrieval.fused), evidence=tuple((s.source, s.start, s.end, round(s.score, 4),
            "shown to the reader" if (s.source, s.start) in shown else "not shown") for s in ranked[:12]),
            model_answer=reading.answer if reading else None, model_sentence=reading.sentence if reading else 0,
            verification=support.reason, signals=signals, confidence=decision.confidence, decision=decision.reason,
            backend=self.llm.name if self.llm else "extractive", seconds=_done(times, t0),
        )  # fmt: skip
        if not decision.answer:
            related = tuple(from_sentence(s) for s in ranked[: self.settings.top_k])
            return Answer(REFUSAL, True, (), trace, related, tuple(warnings))
        cited = evidence[support.index - 1]
        text = reading.answer if reading is not None else cited.text.strip()
        return Answer(f"{text} {markers(1)}", False, (from_sentence(cited),), trace, (), tuple(warnings))


def _hits(hits) -> tuple:
    return tuple((h.id, h.source, h.start, h.end, round(h.score, 4)) for h in hits)


def _done(times: dict, t0: float) -> dict:
    times["total"] = time.perf_counter() - t0
    return {k: round(v, 4) for k, v in times.items()}
