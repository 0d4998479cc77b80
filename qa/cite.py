"""Citations: exact passages of real files, checked against the document text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .evidence import Sentence


@dataclass(frozen=True)
class Citation:
    """A supporting passage: document_text(source)[start:end] == quote."""

    source: str
    quote: str
    start: int
    end: int
    score: float
    title: str = ""


def from_sentence(s: Sentence) -> Citation:
    return Citation(s.source, s.text, s.start, s.end, round(s.score, 4), s.title)


def document_text(source: str, docs_dir: Path) -> str:
    """The text a citation's offsets refer to (the file's text; for HTML/PDF the extracted text)."""
    from .ingest import read_text

    root = docs_dir.resolve()
    path = (docs_dir / source).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"{source!r} is outside the documents folder")
    return read_text(path)


def is_exact(c: Citation, text: str) -> bool:
    """Whether the citation's quote sits at its offsets in the text."""
    return 0 <= c.start < c.end <= len(text) and text[c.start : c.end] == c.quote


def markers(n: int) -> str:
    """Citation markers for the first n citations: "[1][2]"."""
    return "".join(f"[{i}]" for i in range(1, n + 1))
