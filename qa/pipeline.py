"""The pipeline: one Engine per index wires the stages, each a module of its own returning a record:
rewrite -> retrieve -> evidence -> answerer (reader, verify) -> refuse -> cite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from . import answerer, refuse, verify
from . import claims as cl
from . import evidence as ev
from .answer import REFUSAL, Answer, Claim, Event, History, Trace, normalise_question, require_question
from .chunk import CHUNKING, next_id, previous_id
from .cite import MARKER, document_text, from_sentence
from .config import Settings
from .embed import Embedder, make_embedder
from .errors import ConfigError, CorpusError, IndexUnavailableError, QAError
from .index import Hit, Index
from .ingest import IngestReport, Progress, sync
from .llm import LLM, make_llm
from .reader import bare_pronoun
from .retrieve import Retrieval, Retriever
from .rewrite import Rewrite, follows_up, rewrite

EVIDENCE_SENTENCES = (
    6  # sentences the reader sees: recall 96% (seed dev) and 91% (public dev), about 250 prompt tokens
)
# Chunks the question and its lead retrieve for the points (eval/README.md: 2, 4 and 8 tried on the synthesis
# dev split, with the lead alone or after the question as the query; 2 after the question is the least that
# gained, and none lost on dev).
LEAD_CHUNKS = 2
# Chunks the last turn (its question and answer) retrieves for a follow-up, beside the rewritten question's own.
EARLIER_CHUNKS = 2
# Sentences before a pronoun answer's own that it is read again with (answerer.resolved): the antecedent of a
# sentence's pronoun is most often in the sentence before it, sometimes the one before that.
BEFORE_SENTENCES = 2
TRACE_SENTENCES = 12  # the best-scored sentences the trace lists
# An overview of the documents ("Summarise the documents"): sentences from at most this many documents (a glance's
# worth: MAX_POINTS claims shared among them), each chosen from its document's first OVERVIEW_CHUNKS chunks, which
# bounds the sentences embedded for a long document.
OVERVIEW_DOCUMENTS = cl.MAX_POINTS
OVERVIEW_CHUNKS = 8
DEFAULT = object()  # "the engine's own LLM" in Options


@dataclass(frozen=True)
class Options:
    """What one request may choose without a new engine: how many citations, how many chunks, which LLM."""

    top_k: int = 3
    candidates: int = 8
    max_question_chars: int = 2000
    llm: LLM | None | object = DEFAULT
    sources: tuple[str, ...] | None = None  # answer from these documents only (None: all of them)

    @classmethod
    def of(cls, settings: Settings, llm: LLM | None | object = DEFAULT, sources=None) -> Options:
        return cls(settings.top_k, settings.candidates, settings.max_question_chars, llm,
                   tuple(sources) if sources is not None else None)  # fmt: skip


class Engine:
    """Everything needed to answer questions over one index: the embedder, the index and a default LLM."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, llm: LLM | None | str = "auto",
                 index: Index | None = None) -> None:  # fmt: skip
        from .store import open_index

        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embed_model, settings)
        self.llm = make_llm(settings) if llm == "auto" else llm
        self.index = index if index is not None else open_index(settings)
        self.retriever = Retriever(self.index, self.embedder)
        self.vectors = ev.SentenceVectors(self.embedder)
        self._lock = threading.RLock()
        self._ready = False

    def warm_up(self) -> None:
        """Load the models and open the index, so the first question is as fast as the rest."""
        from . import text
        from .reader import prime

        text.warm_up()
        self.embedder.warm_up()
        self.index.warm_up()
        if self.llm is not None:
            self.llm.warm_up()
            prime(self.llm)
        self.ensure_index()

    def ingest(self, progress: Progress | None = None, rebuild: bool = False) -> IngestReport:
        """Sync the index with the documents folder."""
        with self._lock:
            report = sync(self.settings, self.index, self.embedder, progress, rebuild)
            self._ready = True
            return report

    def ensure_index(self) -> None:
        """Build the index on first use; after a crash or another writer, bring the keyword side in step; and
        when the index holds chunks an earlier version of qa cut another way (chunk.CHUNKING), sync it as
        `ingest` does, so that answers read this version's chunks (a file's hash holds the chunking's version,
        so every file is cut again once). Files changed since the last ingest are left to `ingest`."""
        with self._lock:
            if self._ready:
                return
            if self.index.count() == 0:
                self.ingest()
                return
            self.index.repair()
            if self.cut_another_way():
                try:
                    self.ingest()
                except CorpusError:
                    pass  # the folder is gone or empty: what the index holds still answers
            self._ready = True

    def cut_another_way(self) -> bool:
        """Whether the index's chunks were cut by another version of the chunking than this one's (one chunk is
        read: an ingest cuts every file the same way)."""
        sources = self.index.sources()
        first = self.index.first_chunks(sources[0], 1) if sources else []
        return bool(first) and first[0].meta.get("chunking") != CHUNKING

    def answer(self, question: str, history: History = (), options: Options | None = None) -> Answer:
        """Answer a question from the documents, or refuse (the last event of answer_stream)."""
        *_, last = self.answer_stream(question, history, options)
        return last.answer

    def answer_stream(self, question: str, history: History = (), options: Options | None = None
                      ) -> Iterator[Event]:  # fmt: skip
        """Answer a question as a stream of events: what the engine is doing, each claim once it is verified,
        and last the whole answer. Bad input raises before the first event."""
        options = options or Options.of(self.settings)
        llm = self.llm if options.llm is DEFAULT else options.llm
        require_question(question)
        history = as_answered(history)
        q, warnings = normalise_question(question, options.max_question_chars)
        if len(asked := cl.parts(q)) > 1:
            yield from self.compound(question, asked, history, options, warnings)
            return
        clock = Clock()
        with clock("index"):
            self.ensure_index()
            self.check_sources(options.sources)
        if history:
            yield Event("status", "Reading the conversation…")
        with clock("rewrite"):
            rw = rewrite(llm, q, history)
        if cl.asks_overview(q) and (not history or cl.asks_overview(rw.question)):
            yield from self.overview(question, rw, options, clock, warnings, llm)
            return
        yield Event("status", "Searching the documents…")
        with clock("retrieve"):
            retrieval = self.retriever.retrieve(rw.query, options.candidates, options.sources)
            earlier = self.earlier(retrieval, rw.earlier, options.sources)
        with clock("evidence"):
            evidence = self.evidence(retrieval, earlier)
        yield Event("status", f"Reading the {len(evidence.shown)} closest sentences…")
        with clock("read"):
            for step in answerer.drafting(llm, rw.reading, evidence):
                if isinstance(step, str):
                    yield Event("draft", step)
                else:
                    draft = step
        decision = refuse.judge(draft, evidence)
        if decision.answered and bare_pronoun(draft.text) and (own := draft.sentence(evidence)) is not None:
            # Whether the documents answer was judged on the pronoun's own sentence; which name it means is read
            # from the sentences before it.
            yield Event("status", "Reading the sentences before the answer's own…")
            with clock("resolve"):
                before, passage = self.before(own, retrieval, evidence)
                draft, evidence = answerer.resolved(llm, rw.reading, draft, evidence, before, passage)
        more = not cl.wants_phrase(q)  # the question wants more than a phrase (the user's words, not the rewrite's)
        if more and not decision.supported and (whole := answerer.in_its_words(draft, evidence)):
            draft, decision = whole, refuse.judge(whole, evidence)
        # A bare "Yes" to a yes/no question, or an answer that only restates an open one: the named sentence.
        settle = ("a yes/no question" if cl.asks_yes_no(q)
                  else "the answer only restates the question" if more and answerer.restates(draft) else "")  # fmt: skip
        if not decision.supported and settle and (whole := answerer.settling(draft, evidence, q, settle)):
            draft, decision = whole, refuse.judge(whole, evidence)
        warnings += [w for w in (rw.warning, draft.warning) if w]
        chosen, left, extra, sent, lead_before = [], [], (), 0, None
        if decision.answered:
            lead = draft.sentence(evidence)
            # An open question's answer leads in its sentence's words; a name, date or number is shown as it is.
            if more:
                draft = replace(draft, text=cl.lead_text(draft.text, lead))
                # A lead that is its sentence and opens with a pronoun ("Her killing ...") is shown after the
                # sentence the pronoun points to, the two cited as one passage.
                if lead is not None and draft.text == cl.plain(lead.text):
                    lead_before = cl.antecedent(lead, evidence.ranked)
                    both = cut_passage(self.settings.docs_dir, lead_before, lead) if lead_before is not None else None
                    if both is None:
                        lead_before = None
                    else:
                        evidence = replace(evidence, shown=tuple(both if s == lead else s for s in evidence.shown))
                        draft = replace(draft, text=f"{cl.plain(lead_before.text)} {draft.text}")
            # The lead is verified: it is shown while the other passages are checked for points.
            yield Event("claim", claim=claim(1, draft.text, draft.sentence(evidence)))
            sent = 1
            said = [cl.Point(evidence.shown[i - 1], cl.lead_text(text, evidence.shown[i - 1])) for text, i in draft.more]
            idf = self.idf()
            must = None  # an open question's points need hold no terms of their own
            if not more:  # after a phrase, what another answer must hold; when nothing, no other passage is checked
                must = cl.phrase_terms(rw.question, lead, draft.text, idf) if lead is not None else set()
            with clock("points"):
                pool = evidence
                if lead is not None and (more or must):
                    yield Event("status", "Checking the other passages…")
                    try:
                        extra, pool = self.widened(retrieval, lead, options.sources, earlier)
                    except IndexUnavailableError as e:  # the lead is already shown: keep it, and say what failed
                        warnings.append(f"The other points come from the first search only: {e}")
                    pool = self.whole_lists(retrieval, pool, lead, draft.text, (*earlier, *extra))
                ratio = cl.POINT_RATIO if more else cl.PHRASE_RATIO
                chosen, left = cl.points(rw.question, lead, draft.text, pool, ratio, said, idf, must, lead_before)
        trace = make_trace(question, rw, retrieval, evidence, draft, decision, llm, clock.done(), left, extra, earlier)
        final = compose(trace, evidence, draft, decision, options.top_k, tuple(warnings), chosen)
        for c in final.claims[sent:]:
            yield Event("claim", claim=c)
        yield Event("answer", answer=final)

    def compound(self, question: str, asked: Sequence[str], history: History, options: Options,
                 warnings: list[str]) -> Iterator[Event]:  # fmt: skip
        """A question that asks two things or more (claims.parts), each part answered in turn as a question of its
        own, its claims streamed as they are verified and numbered after the parts' before it. A part that points
        back ("..., and when was it due?") has the parts before it as its conversation. A part the documents do
        not answer is said in a warning; when none is answered, the answer is a refusal. The trace is the first
        part's, with each part's decision."""
        done: list[tuple[str, Answer]] = []
        claims: list[Claim] = []
        for part in asked:
            yield Event("status", f"Answering “{part}”…")
            turns = [(q, a.text) for q, a in done]
            for e in self.answer_stream(part, [*history, *turns] if follows_up(part, turns) else history, options):
                if e.kind == "claim":
                    claims.append(renumber(e.claim, len(claims) + 1))
                    yield Event("claim", claim=claims[-1])
                elif e.kind == "answer":
                    done.append((part, e.answer))
                else:
                    yield e
        warnings = [*warnings, *(w for _, a in done for w in a.warnings),
                    *(f"The documents don't say: {q}" for q, a in done if a.refused and len(done) > 1)]  # fmt: skip
        first = done[0][1].trace
        trace = replace(first, question=question,
                        decision="; ".join(f"“{q}”: {a.trace.decision}" for q, a in done))  # fmt: skip
        if not claims:
            related = list(dict.fromkeys(c for _, a in done for c in a.related))[: options.top_k]
            yield Event("answer", answer=Answer(REFUSAL, True, (), trace, tuple(related), tuple(warnings)))
            return
        yield Event("answer", answer=of_claims(claims, trace, tuple(warnings)))

    def overview(self, question: str, rw: Rewrite, options: Options, clock: Clock, warnings: list[str],
                 llm: LLM | None) -> Iterator[Event]:  # fmt: skip
        """An overview of the documents (a question that names nothing to search for, only asks what they say):
        from each document its most central sentences (claims.central; one each when there are many documents,
        more from few, within the answer's word budget), in the document's order, each a claim checked against its
        sentence like a point and streamed once it is."""
        yield Event("status", "Reading each document for what it is about…")
        names = sorted(options.sources if options.sources is not None else self.index.sources())
        if len(names) > OVERVIEW_DOCUMENTS:
            warnings = [*warnings, f"An overview of the first {OVERVIEW_DOCUMENTS} of {len(names)} documents: "
                                   "choose documents, or ask about a topic, for the others."]  # fmt: skip
        names = names[:OVERVIEW_DOCUMENTS]
        each = max(1, cl.MAX_POINTS // max(1, len(names)))
        claims: list[Claim] = []
        chosen, left, read, words = [], [], [], 0
        with clock("overview"):
            for name in names:
                hits = [Hit.of(c, 0.0) for c in self.index.first_chunks(name, OVERVIEW_CHUNKS)]
                read += hits
                sentences = ev.split(hits)
                picks = cl.central(sentences, self.vectors(sentences), each)
                # The document's first pick always; more only while the whole answer stays within the budget.
                kept = picks[:1]
                for s in picks[1:]:
                    if words + sum(len(x.text.split()) for x in (*kept, s)) <= cl.WORD_BUDGET:
                        kept.append(s)
                for s in sorted(kept, key=lambda x: x.start):
                    text = cl.plain(s.text)
                    support = verify.check(text, 1, [s], rw.question)
                    if not support.ok:
                        left.append((text, f"not verified: {support.reason}"))
                        continue
                    chosen.append(s)
                    claims.append(claim(len(chosen), text, s))
                    words += len(text.split())
                    yield Event("claim", claim=claims[-1])
        files = len({s.source for s in chosen})
        trace = Trace(question=question, query=rw.query, fused=tuple(read), evidence=tuple(chosen), overview=True,
                      verification="each claim is its document's own sentence, checked against it",
                      supported=bool(chosen), backend=llm.name if llm is not None else "extractive",
                      decision=f"an overview: the most central sentences of {files} of {len(names)} documents",
                      seconds=clock.done(), left_out=tuple(left))  # fmt: skip
        if not claims:
            yield Event("answer", answer=Answer(REFUSAL, True, (), trace, (), tuple(warnings)))
            return
        yield Event("answer", answer=of_claims(claims, trace, tuple(warnings)))

    def check_sources(self, sources: tuple[str, ...] | None) -> None:
        """Chosen documents must be in the index; naming one that is not is a clear error, not a refusal."""
        if sources is None:
            return
        if not sources:
            raise ConfigError("No documents were chosen to answer from: choose at least one, or all of them.")
        missing = sorted(set(sources) - set(self.index.sources()))
        if missing:
            raise ConfigError(f"Not in the index: {', '.join(missing)}. Choose from the documents listed.")

    def evidence(self, retrieval: Retrieval, more: Sequence[Hit] = ()) -> ev.Evidence:
        """The evidence stage over this index: sentences of the retrieved chunks (and of `more` chunks after
        them), scored against the query."""
        return ev.gather(retrieval.query, retrieval.vector, (*retrieval.fused, *more), self.index.doc_freq,
                         self.index.count(), self.vectors, EVIDENCE_SENTENCES)  # fmt: skip

    def before(self, s: ev.Sentence, retrieval: Retrieval, evidence: ev.Evidence, k: int = BEFORE_SENTENCES
               ) -> tuple[tuple[ev.Sentence, ...], ev.Sentence | None]:  # fmt: skip
        """Up to k sentences just before s in its document, scored as evidence (those of its own chunk, and when
        it has fewer than k before s, the last of the chunk before it, read from the index); and the passage
        from the first of them to the end of s, its exact text from the document (None when the document no
        longer holds those sentences where the index says)."""
        own = sorted((x for x in evidence.ranked if x.chunk_id == s.chunk_id and x.end <= s.start),
                     key=lambda x: x.start)  # fmt: skip
        found = own[-k:]
        if len(found) < k and (prev := previous_id(s.chunk_id)) is not None:
            try:
                stored = self.index.get([prev])
            except IndexUnavailableError:
                stored = []  # the sentences of its own chunk are context enough
            hits = [Hit.of(c, 0.0) for c, _ in stored if c.meta.get("source") == s.source]
            if hits:
                earlier = self.evidence(replace(retrieval, fused=tuple(hits)))
                last = sorted((x for x in earlier.ranked if x.end <= s.start), key=lambda x: x.start)
                found = [replace(x, chunk_rank=s.chunk_rank) for x in last[-(k - len(found)):]] + found
        if not found:
            return (), None
        whole = cut_passage(self.settings.docs_dir, *found, s)
        return (tuple(found), whole) if whole is not None else ((), None)

    def whole_lists(self, retrieval: Retrieval, pool: ev.Evidence, lead: ev.Sentence, said: str,
                    more: Sequence[Hit] = ()) -> ev.Evidence:  # fmt: skip
        """The pool with the chunks just before and after each chunk that holds an item of the answer's list
        (claims.answer_list): a list is cut wherever a chunk ends, and its items are the answer's points first."""
        items = cl.answer_list(pool.ranked, lead, frozenset(cl.terms(said)) | frozenset(cl.terms(lead.text)))
        held = {s.chunk_id for s in pool.ranked}
        ids = {s.chunk_id for s in pool.ranked if (s.source, s.start) in items}
        around = [n for c in sorted(ids) for n in (previous_id(c), next_id(c)) if n is not None and n not in held]
        if not around:
            return pool
        try:
            stored = self.index.get(list(dict.fromkeys(around)))
        except IndexUnavailableError:
            return pool  # the list's other items are a nicety: the points come from what is held
        hits = tuple(Hit.of(c, 0.0) for c, _ in stored)
        return self.evidence(retrieval, (*more, *hits)) if hits else pool

    def idf(self) -> Callable[[str], float]:
        """Each term's idf over this index, looked up once per term (for one answer: the index may change)."""
        n = max(1, self.index.count())
        return lru_cache(maxsize=None)(lambda term: ev.idf(self.index.doc_freq(term), n))

    def earlier(self, retrieval: Retrieval, query: str, sources: tuple[str, ...] | None) -> tuple[Hit, ...]:
        """For a follow-up, the chunks its last turn (question and answer as one query) retrieves first that the
        question's own search did not: the passages that answer quoted. Nothing for a question that stands on
        its own (an empty query)."""
        return self.beyond(query, EARLIER_CHUNKS, sources, retrieval.fused) if query else ()

    def beyond(self, query: str, k: int, sources: tuple[str, ...] | None, have: Sequence[Hit],
               new: bool = False) -> tuple[Hit, ...]:  # fmt: skip
        """The first k chunks a further query retrieves, less those already held; with `new`, the first k it
        retrieves that are not held (as many as there are, however many held ones rank above them)."""
        held = {h.id for h in have}
        found = self.retriever.retrieve(query, k + len(held) if new else k, sources).fused
        return tuple(h for h in found if h.id not in held)[:k]

    def widened(self, retrieval: Retrieval, lead: ev.Sentence, sources: tuple[str, ...] | None,
                earlier: Sequence[Hit] = ()) -> tuple[tuple[Hit, ...], ev.Evidence]:  # fmt: skip
        """The pool an open question's points come from: the evidence, plus the chunks that the question and its
        verified lead sentence together retrieve first (LEAD_CHUNKS), all scored against the question; and
        those chunks, for the trace. The lead names what the answer is about in the documents' own words, so it
        finds passages that say more of it (a summary elsewhere in the text) that the question's words alone
        did not rank."""
        more = self.beyond(f"{retrieval.query} {lead.text}", LEAD_CHUNKS, sources, (*retrieval.fused, *earlier),
                           new=True)
        return more, self.evidence(retrieval, (*earlier, *more))


def cut_passage(docs_dir: Path, *sentences: ev.Sentence) -> ev.Sentence | None:
    """The last of these sentences (next to each other in one document) as the passage from the first one's start
    to its own end, its exact text read from the document; None when the document no longer holds each sentence
    where the index says (it changed since it was indexed)."""
    first, last = sentences[0], sentences[-1]
    try:
        text = document_text(first.source, docs_dir)
    except (OSError, ValueError, QAError):
        return None
    if any(x.source != first.source or text[x.start : x.end] != x.text for x in sentences):
        return None
    return replace(last, text=text[first.start : last.end], start=first.start, page=first.page)


def as_answered(history: History) -> History:
    """The conversation as its turns answered: a turn that asked for a name, date or number answered with its
    phrase (its first claim). The points after a phrase are other passages on the question, and their names would
    pull a follow-up elsewhere ("Where was the toddler from?" after a date whose points named a minister)."""
    return tuple((q, (a or "").split(cl.ITEM_BREAK, 1)[0] if cl.wants_phrase(q) else a) for q, a in history)


def make_trace(question: str, rw: Rewrite, retrieval: Retrieval, evidence: ev.Evidence, draft: answerer.Draft,
               decision: refuse.Decision, llm: LLM | None, seconds: dict, left: Sequence[cl.Point] = (),
               widened: Sequence[Hit] = (), earlier: Sequence[Hit] = ()) -> Trace:  # fmt: skip
    """The trace of one answer, from the stages' records."""
    reading = draft.reading
    return Trace(
        question=question, query=retrieval.query, dense=retrieval.dense, keyword=retrieval.keyword,
        fused=retrieval.fused, evidence=evidence.ranked[:TRACE_SENTENCES], shown=evidence.shown,
        model_answer=reading.answer if reading else None, model_sentence=reading.sentence if reading else 0,
        verification=draft.support.reason, supported=decision.supported, signals=decision.signals,
        confidence=decision.confidence, decision=decision.reason,
        backend=llm.name if llm is not None else "extractive", seconds=seconds,
        left_out=tuple((p.text, p.reason) for p in left), widened=tuple(widened), earlier=tuple(earlier),
    )  # fmt: skip


def compose(trace: Trace, evidence: ev.Evidence, draft: answerer.Draft, decision: refuse.Decision, top_k: int,
            warnings: tuple[str, ...], points: Sequence[cl.Point] = ()) -> Answer:  # fmt: skip
    """The answer shown: its claims (the answer, then any points), each with its marker and citation; or the
    refusal with related passages."""
    if not decision.answered:
        related = tuple(from_sentence(s) for s in evidence.ranked[:top_k])
        return Answer(REFUSAL, True, (), trace, related, warnings)
    said = [(draft.text, draft.sentence(evidence))] + [(p.text, p.sentence) for p in points]
    return of_claims([claim(i, text, s) for i, (text, s) in enumerate(said, start=1)], trace, warnings)


def of_claims(claims: Sequence[Claim], trace: Trace, warnings: tuple[str, ...]) -> Answer:
    """The answer made of these claims: their texts joined, and their citations in order."""
    citations = tuple(c for claim in claims for c in claim.citations)
    return Answer(cl.join([c.text for c in claims]), False, citations, trace, (), warnings, tuple(claims))


def claim(n: int, text: str, sentence: ev.Sentence) -> Claim:
    """Claim n (1-based) of an answer: its text with its marker, citing the sentence it rests on."""
    return Claim(f"{text} [{n}]", (from_sentence(sentence),))


def renumber(c: Claim, n: int) -> Claim:
    """The claim as claim n of an answer (its marker changed)."""
    return replace(c, text=f"{MARKER.sub('', c.text).rstrip()} [{n}]")


class Clock:
    """Seconds per named stage, and the total since the clock was made."""

    def __init__(self) -> None:
        self.t0, self.times = time.perf_counter(), {}

    @contextmanager
    def __call__(self, stage: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.times[stage] = time.perf_counter() - t

    def done(self) -> dict:
        return {k: round(v, 4) for k, v in {**self.times, "total": time.perf_counter() - self.t0}.items()}
