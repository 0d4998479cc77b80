"""The values an answer is made of (Answer, Trace), the refusal text, and question clean-up."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .cite import Citation

REFUSAL = "The documents don't say."
History = Sequence[tuple[str, str]]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Listed = tuple[tuple[str, str, int, int, float], ...]  # (chunk id, source, start, end, score)


@dataclass(frozen=True)
class Trace:
    """What each stage did for one answer (shown in the UI's "why these sources?")."""

    question: str
    query: str
    dense: Listed = ()
    keyword: Listed = ()
    fused: Listed = ()
    evidence: tuple[tuple[str, int, int, float, str], ...] = ()  # (source, start, end, score, shown to reader?)
    model_answer: str | None = None
    model_sentence: int = 0
    verification: str = ""
    signals: dict = field(default_factory=dict)
    confidence: float | None = None
    decision: str = ""
    backend: str = ""
    seconds: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """An answer with its citations (best first), or a refusal with related passages."""

    text: str
    refused: bool
    citations: tuple[Citation, ...]
    trace: Trace
    related: tuple[Citation, ...] = ()
    warnings: tuple[str, ...] = ()


def normalise_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Strip control characters and cut an over-long question; returns it with any warnings."""
    q = " ".join(_CONTROL.sub(" ", question).split())
    warnings = []
    if len(q) > max_chars:
        q = q[:max_chars].rsplit(" ", 1)[0] or q[:max_chars]
        warnings.append(f"The question was longer than {max_chars} characters; only its first {len(q)} were used.")
    return q, warnings
