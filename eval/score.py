"""Scoring: one answer against its question's gold answers, and the headline figures over a system's rows
(pure functions; run.py makes the rows, report.py writes them out)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import metrics as M
from .dataset import Pair


@dataclass
class Row:
    """One question's outcome for one system."""

    id: str
    kind: str
    question: str
    golds: list[str]
    answer: str
    refused: bool
    seconds: float
    hit_rank: int | None
    cited: list[dict] = field(default_factory=list)
    cited_support: list[bool] = field(default_factory=list)
    em: float = 0.0
    f1: float = 0.0
    contains: float = 0.0
    problem: str = ""
    signals: dict = field(default_factory=dict)  # the refusal model's inputs (qa rows), for calibration
    confidence: float | None = None
    supported: bool = False  # the reader's answer passed the support check (before the refusal decision)
    reader_answer: str | None = None  # what the reader found, shown or refused (None: no reader ran)
    reader_contains: float | None = None  # whether that holds a gold answer (None: no reader ran)
    first_contains: float = 0.0  # whether the answer's first claim alone holds a gold answer
    claims: int = 0


def score_row(
    pair: Pair,
    gold: list,
    answer_text: str,
    refused: bool,
    seconds: float,
    passages: list[tuple[str, int, int]],
    cited: list[dict],
) -> Row:
    """Score one answer against its pair (pure)."""
    text = M.strip_markers(answer_text)
    row = Row(
        pair.id,
        pair.kind,
        pair.question,
        list(pair.answers),
        text,
        refused,
        seconds,
        M.first_hit_rank(passages, gold) if gold else None,
        cited,
    )
    if pair.answerable:
        row.cited_support = [
            M.supports(c["quote"], (c["source"], c["start"], c["end"]), pair.answers, gold) for c in cited
        ]
        if not refused:
            row.em, row.f1, row.contains = (
                M.exact_match(text, pair.answers),
                M.f1(text, pair.answers),
                M.contains_gold(text, pair.answers),
            )
        row.problem = (
            "false refusal"
            if refused
            else "wrong answer"
            if not row.contains
            else "citations do not support it"
            if cited and not any(row.cited_support)
            else ""
        )
        if row.problem and row.hit_rank is None:
            row.problem += " (retrieval missed the evidence)"
    elif not refused:
        row.problem = "answered an unanswerable question"
    return row


def summarise(rows: list[Row]) -> dict:
    """Headline metrics over a system's rows."""
    ans = [r for r in rows if r.golds]
    una = [r for r in rows if not r.golds]
    answered = [r for r in ans if not r.refused]
    ranks = [r.hit_rank for r in ans]
    cites = [s for r in answered for s in r.cited_support]
    secs = [r.seconds for r in rows]
    out = {
        "questions": len(rows),
        "answerable": len(ans),
        "unanswerable": len(una),
        "hit@1": M.hit_at(ranks, 1),
        "hit@3": M.hit_at(ranks, 3),
        "hit@5": M.hit_at(ranks, 5),
        "mrr": M.mrr(ranks),
        "exact_match": _mean([r.em for r in ans]),
        "f1": _mean([r.f1 for r in ans]),
        "contains_gold": _mean([float(bool(r.contains) and not r.refused) for r in ans]),
        "answers_right": sum(1 for r in ans if r.contains and not r.refused),
        "first_claim_right": _mean([float(bool(r.first_contains) and not r.refused) for r in ans]),
        "answers_with_points": sum(1 for r in rows if r.claims > 1),
        "citation_precision": _mean([float(s) for s in cites]),
        "citation_recall": _mean([float(any(r.cited_support)) for r in answered]),
        "refusal_accuracy": _mean([float(r.refused) for r in una]),
        "refused_unanswerable": sum(1 for r in una if r.refused),
        "false_refusals": sum(1 for r in ans if r.refused),
        "false_refusal_rate": _mean([float(r.refused) for r in ans]),
        "latency_p50": M.percentile(secs, 50),
        "latency_p95": M.percentile(secs, 95),
    }
    by_kind = defaultdict(list)
    for r in rows:
        by_kind[r.kind].append(r)
    out["by_kind"] = {
        k: {"n": len(v), "right": sum(1 for r in v if is_right(r))} for k, v in sorted(by_kind.items())
    }
    return out


def is_right(r: Row) -> bool:
    """Answerable: answered and holds a gold answer. Unanswerable: refused."""
    return bool(r.contains and not r.refused) if r.golds else r.refused


def would_be_right(r: Row) -> bool:
    """The answer the reader found (shown or refused) holds a gold answer."""
    return bool(r.golds) and bool(right_if_shown(r.__dict__))


def right_if_shown(r: dict) -> float:
    """Whether the row's answer would be right if shown: the reader's answer where it is recorded (refused rows
    included), else the shown one (reports written before the reader's answer had a field of its own)."""
    got = r.get("reader_contains")
    return r["contains"] if got is None else got


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


CAPS = (0.05, 0.10, 0.15, 0.20, 0.30)


def tradeoff(rows: list[dict]) -> list[dict]:
    """For each cap on answerable questions refused: the most unanswerable ones any threshold refuses
    within it, and the answers right there. Computed from each row's confidence; nothing is fitted."""
    from .calibrate import curve

    points = curve(rows, [r["confidence"] if r["supported"] else None for r in rows])
    out = []
    for cap in CAPS:
        ok = [p for p in points if p["false_refusals"] <= cap + 1e-9]
        if ok:
            best = max(ok, key=lambda p: (p["unanswerable_refused"], p["answers_right"]))
            out.append({"cap": cap, **best})
    return out
