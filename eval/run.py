"""Run the eval sets through qa (exactly as a user would) and the stock baselines, one row per question."""

from __future__ import annotations

import time

from qa import answer as qa_answer
from qa.config import Settings

from . import metrics as M
from .dataset import Pair, gold_spans
from .score import Row, score_row


def ready(settings: Settings) -> None:
    """The engine for these settings with its index in step with the documents and the code (an index an earlier
    version left in the data folder keeps that version's chunks until it is synced: the eval measures what a fresh
    install builds), and its models loaded, so latency measures answering only."""
    from qa.engines import engine_for

    engine = engine_for(settings)
    engine.ingest()
    engine.warm_up()


def run_qa(pairs: list[Pair], settings: Settings, progress=None) -> list[Row]:
    """Every pair through qa.answer, with its history."""
    ready(settings)
    rows = []
    for pair in pairs:
        gold = gold_spans(pair, settings.docs_dir)
        t0 = time.perf_counter()
        a = qa_answer(pair.question, history=list(pair.history), settings=settings)
        secs = time.perf_counter() - t0
        passages = [(h.source, h.start, h.end) for h in a.trace.fused]
        # The answer's own citations: its first claim's. The points after it cite other things the documents say
        # on the question (the synthesis set scores them); counting them here would score them as wrong
        # citations of the answer.
        own = a.claims[0].citations if a.claims else a.citations
        cited = [{"source": c.source, "start": c.start, "end": c.end, "quote": c.quote} for c in own]
        row = score_row(pair, gold, a.text, a.refused, secs, passages, cited)
        # What the reader found, shown or not: the calibration needs it to know whether refusing was right.
        row.reader_answer = a.trace.model_answer
        if a.trace.model_answer is not None:
            row.reader_contains = M.contains_gold(a.trace.model_answer, pair.answers) if pair.answers else 0.0
        # The first claim alone: a name, date or number may have points after it, which the whole text counts.
        if a.claims and pair.answers:
            row.first_contains = M.contains_gold(M.strip_markers(a.claims[0].text), pair.answers)
        row.claims = len(a.claims)
        row.signals, row.confidence, row.supported = a.trace.signals, a.trace.confidence, a.trace.supported
        rows.append(row)
        if progress:
            progress()
    return rows


def run_baseline(pairs: list[Pair], settings: Settings, name: str, progress=None) -> list[Row]:
    """Every pair through one stock LlamaIndex pipeline (eval/baseline.py), with its chat history."""
    from qa.engines import engine_for

    from .baseline import BASELINES

    stock = BASELINES[name](settings, engine_for(settings).llm)
    stock.ask("warm up")
    rows = []
    for pair in pairs:
        gold = gold_spans(pair, settings.docs_dir)
        b = stock.ask(pair.question, pair.history)
        passages = [(p[0], p[1], p[2]) for p in b.passages]
        cited = [{"source": p[0], "start": p[1], "end": p[2], "quote": p[3]} for p in b.passages]
        row = score_row(pair, gold, b.text, M.is_refusal(b.text), b.seconds, passages, cited)
        row.first_contains = row.contains  # a stock answer is one text, not claims
        rows.append(row)
        if progress:
            progress()
    return rows
