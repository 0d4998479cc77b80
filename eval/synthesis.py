"""The synthesis set: questions whose answer spans several sentences or files, each with key points (every point a
list of accepted phrasings). Scored by the share of points an answer covers, answers complete, files cited, words,
whether every claim is verified against exact citations, and the time to the first claim and to the whole answer.

`python -m eval --sets synthesis-dev,synthesis-test` runs it through `qa.answer_stream` with the stock hybrid
chat engine beside it in the same run (times compare as ratios; the machine's speed cancels out).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa import verify
from qa.cite import document_text, strip_markers
from qa.config import Settings

from . import metrics as M

SYNTHESIS_SET = Path(__file__).resolve().parent / "synthesis_qa.jsonl"
# The same kind of questions over the public slice's articles (dev: Spectre, test: Twilight Princess; cal: the
# other eight articles as one corpus; SQuAD 2.0 training articles nobody here wrote), written from the articles'
# own text: key points are its phrasings.
PUBLIC_SET = Path(__file__).resolve().parent / "synthesis_public.jsonl"


@dataclass(frozen=True)
class Question:
    id: str
    split: str
    question: str
    points: tuple[tuple[str, ...], ...]


@dataclass
class Outcome:
    """One answer to one synthesis question."""

    id: str
    question: str
    answer: str
    refused: bool
    covered: list[bool]
    files: int
    words: int
    claims: int = 0
    claims_verified: int = 0  # claims whose every citation is exact and holds the claim
    first_claim: float | None = None  # seconds to the first claim (None: no claim came)
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def share(self) -> float:
        return sum(self.covered) / len(self.covered) if self.covered else 0.0


def load(split: str, path: Path = SYNTHESIS_SET) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Question(r["id"], r["split"], r["question"], tuple(tuple(p) for p in r["points"]))
            for r in rows if r["split"] == split]  # fmt: skip


def covered(text: str, points) -> list[bool]:
    """Per key point, whether the answer holds one of its phrasings (normalised as the factoid scores are)."""
    norm = M.normalize(strip_markers(text))
    return [any(M.normalize(p) in norm for p in phrasings) for phrasings in points]


def claim_verified(claim, docs: Path) -> bool:
    """Every citation exact at its offsets, and the claim's words in its cited text."""
    quotes = []
    for c in claim.citations:
        try:
            if document_text(c.source, docs)[c.start : c.end] != c.quote:
                return False
        except (OSError, ValueError):
            return False
        quotes.append(c.quote)
    return verify.check(strip_markers(claim.text), 1, [_Text(" ".join(quotes))], "").ok


@dataclass(frozen=True)
class _Text:
    text: str


def run_qa(questions: list[Question], settings: Settings) -> list[Outcome]:
    from qa import answer_stream

    from .run import ready

    ready(settings)
    out = []
    for q in questions:
        t0, first = time.perf_counter(), None
        for e in answer_stream(q.question, settings=settings):
            if e.kind == "claim" and first is None:
                first = time.perf_counter() - t0
            if e.kind == "answer":
                a = e.answer
        secs = time.perf_counter() - t0
        text = strip_markers(a.text) if not a.refused else ""
        out.append(Outcome(
            q.id, q.question, a.text, a.refused, covered(text, q.points), len({c.source for c in a.citations}),
            len(text.split()), len(a.claims), sum(claim_verified(c, settings.docs_dir) for c in a.claims), first,
            secs, {"left_out": [list(x) for x in a.trace.left_out], "confidence": a.trace.confidence,
                   "supported": a.trace.supported, "signals": a.trace.signals,  # what the refusal model saw
                   "stages": a.trace.seconds},
        ))  # fmt: skip
    return out


def run_stock(questions: list[Question], settings: Settings) -> list[Outcome]:
    from qa.engines import engine_for

    from .baseline import BASELINES

    stock = BASELINES["stock-hybrid"](settings, engine_for(settings).llm)
    stock.ask("warm up")
    out = []
    for q in questions:
        b = stock.ask(q.question)
        refused = M.is_refusal(b.text)
        text = "" if refused else b.text
        out.append(Outcome(q.id, q.question, b.text, refused, covered(text, q.points),
                           len({p[0] for p in b.passages}), len(text.split()), seconds=b.seconds))  # fmt: skip
    return out


def summary(rows: list[Outcome]) -> dict:
    if not rows:
        return {}
    times = [r.seconds for r in rows]
    firsts = [r.first_claim for r in rows if r.first_claim is not None]
    answered = [r for r in rows if not r.refused]
    return {
        "questions": len(rows),
        "points_covered": round(sum(sum(r.covered) for r in rows) / sum(len(r.covered) for r in rows), 3),
        "complete": sum(all(r.covered) for r in rows),
        "refused": len(rows) - len(answered),
        "files_per_answer": round(statistics.mean(r.files for r in answered), 2) if answered else 0.0,
        "words_per_answer": round(statistics.mean(r.words for r in answered), 1) if answered else 0.0,
        "claims_verified": f"{sum(r.claims_verified for r in rows)}/{sum(r.claims for r in rows)}",
        "p50_first_claim": round(statistics.median(firsts), 2) if firsts else None,
        "p50_seconds": round(statistics.median(times), 2),
    }


def report(name: str, results: dict[str, list[Outcome]], out: Path) -> dict:
    """Write <name>.json beside the other reports; returns its summaries (with the latency ratios)."""
    sums = {system: summary(rows) for system, rows in results.items()}
    if "qa" in sums and "stock-hybrid" in sums and sums["stock-hybrid"].get("p50_seconds"):
        base = sums["stock-hybrid"]["p50_seconds"]
        if sums["qa"].get("p50_first_claim") is not None:
            sums["qa"]["first_claim_vs_stock"] = round(sums["qa"]["p50_first_claim"] / base, 2)
        sums["qa"]["whole_answer_vs_stock"] = round(sums["qa"]["p50_seconds"] / base, 2)
    data = {"set": name, "summary": sums, "rows": {s: [asdict(r) | {"share": r.share} for r in rows]
                                                   for s, rows in results.items()}}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return sums
