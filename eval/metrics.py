"""Metric functions, all pure: SQuAD-style answer scores, passage hits, citation support, latency."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from qa.cite import strip_markers  # noqa: F401 - one definition of the citation marker, re-exported

REFUSAL_PHRASES = re.compile(
    r"documents don'?t say|not (mentioned|provided|stated|specified|given|available)|no information|"
    r"(does not|doesn'?t|do not) (say|mention|provide|contain|specify)|cannot (be )?(determined|answered|find)|"
    r"unknown|i don'?t know|not possible to determine",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().replace("’", "'").replace("\xa0", " ")
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"‘", "“", "”", "£"})
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(pred: str, golds: Sequence[str]) -> float:
    return float(any(normalize(pred) == normalize(g) for g in golds))


def f1(pred: str, golds: Sequence[str]) -> float:
    """Best token F1 of the prediction against any gold answer."""
    best = 0.0
    p = normalize(pred).split()
    for g in golds:
        gt = normalize(g).split()
        common = Counter(p) & Counter(gt)
        same = sum(common.values())
        if same == 0:
            continue
        prec, rec = same / len(p), same / len(gt)
        best = max(best, 2 * prec * rec / (prec + rec))
    return best


def contains_gold(pred: str, golds: Sequence[str]) -> float:
    """1 if any normalised gold answer appears inside the normalised prediction."""
    p = f" {normalize(pred)} "
    return float(any(f" {normalize(g)} " in p for g in golds if normalize(g)))


def overlaps(span: tuple[int, int], gold: tuple[int, int], min_share: float = 0.5) -> bool:
    """Whether a passage span covers at least min_share of a gold evidence span."""
    inter = min(span[1], gold[1]) - max(span[0], gold[0])
    return inter > 0 and inter >= min_share * (gold[1] - gold[0])


def first_hit_rank(passages: Sequence[tuple[str, int, int]], gold: Sequence[tuple[str, int, int]]) -> int | None:
    """1-based rank of the first passage (source, start, end) that holds a gold evidence span."""
    for rank, (src, s, e) in enumerate(passages, start=1):
        if any(src == gs and overlaps((s, e), (a, b)) for gs, a, b in gold):
            return rank
    return None


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr(ranks: Sequence[int | None]) -> float:
    return sum(1 / r for r in ranks if r) / len(ranks) if ranks else 0.0


def supports(quote: str, span: tuple[str, int, int], golds: Sequence[str], gold_spans) -> bool:
    """A cited passage supports the answer if it holds a gold answer or overlaps gold evidence."""
    if contains_gold(quote, golds):
        return True
    src, s, e = span
    return any(
        src == gs and (overlaps((s, e), (a, b), 0.3) or overlaps((a, b), (s, e), 0.3)) for gs, a, b in gold_spans
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    if not values:
        return 0.0
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def is_refusal(text: str) -> bool:
    return bool(REFUSAL_PHRASES.search(text))
