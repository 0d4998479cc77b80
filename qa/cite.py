"""Citations: exact passages of real files, and the markers that point at them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .evidence import Sentence
from .extract import document_text

MARKER = re.compile(r"\s*\[\d+\]")  # "[1]" after an answer; the one definition of a citation marker

__all__ = ["Citation", "MARKER", "document_text", "from_sentence", "is_exact", "markers", "strip_markers"]


@dataclass(frozen=True)
class Citation:
    """A supporting passage: document_text(source)[start:end] == quote."""

    source: str
    quote: str
    start: int
    end: int
    score: float
    title: str = ""
    page: int | None = None  # 1-based page or slide; None where the format has no pages


def from_sentence(s: Sentence) -> Citation:
    return Citation(s.source, s.text, s.start, s.end, round(s.score, 4), s.title, s.page or None)


def is_exact(c: Citation, text: str) -> bool:
    """Whether the citation's quote sits at its offsets in the text."""
    return 0 <= c.start < c.end <= len(text) and text[c.start : c.end] == c.quote


def markers(n: int) -> str:
    """Citation markers for the first n citations: "[1][2]"."""
    return "".join(f"[{i}]" for i in range(1, n + 1))


def strip_markers(text: str) -> str:
    """The text without its citation markers."""
    return MARKER.sub("", text).strip()
