"""Chunking: page furniture left out by general rules, the rest split into chunks with exact offsets."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .text import Span, line_spans, sentence_pieces

_SENTENCE_END = re.compile(r"[.!?\"'”’)]\s*$")
SHORT_LINE_WORDS = 8  # a line this short with no sentence in it reads as a link or a menu item
MIN_TAIL_LINES = 3  # that many such lines ending a page are its link list or footer
# How documents are cut into chunks, as part of each file's hash in the index (ingest.file_hash): a change here
# re-indexes every file once. 2: sentences by nltk's English Punkt (text.sentence_pieces), not llama-index's
# untrained one; 3: without Punkt's breaks after initials and before numbered references (text.punkt_spans);
# 4: with a break after an initial that a sentence-opening stopword follows ("Baby P. Our reading ...");
# 5: the same chunks, each with this version in its metadata (pipeline.Engine.cut_another_way reads it).
CHUNKING = 5


@dataclass(frozen=True)
class Chunk:
    """A passage of a document with its exact place in the document text."""

    id: str
    source: str
    text: str
    start: int
    end: int
    title: str
    doc_hash: str
    index: int
    count: int
    page: int = 0  # the page (or slide) the chunk starts on, 1-based; 0 where the format has no pages
    breaks: tuple[int, ...] = ()  # offsets in the chunk's text where a new page starts

    def meta(self, indexed_at: float) -> dict:
        return {
            "source": self.source,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "doc_hash": self.doc_hash,
            "chunk_index": self.index,
            "n_chunks": self.count,
            "indexed_at": indexed_at,
            "page": self.page,
            "page_breaks": ",".join(map(str, self.breaks)),  # a store's metadata holds scalars only
            "chunking": CHUNKING,  # how it was cut: an index cut another way is synced on first use
        }


def is_nav_row(line: str) -> bool:
    """A row of capitalised link words with no sentence in it ("Americas Africa Europe ...")."""
    words = line.split()
    return len(words) >= 4 and not _SENTENCE_END.search(line) and all(w[0].isupper() for w in words)


def _is_short(line: str) -> bool:
    return len(line.split()) <= SHORT_LINE_WORDS and not (_SENTENCE_END.search(line) and len(line.split()) > 3)


def content_spans(text: str) -> list[Span]:
    """Spans of the lines that are the document's content, with page furniture left out.

    General rules only, none written for a particular site: rows of capitalised link words
    (navigation bars), and the run of short lines that ends a page (related links, footers) when it
    is at least MIN_TAIL_LINES long.
    """
    spans = [(a, b) for a, b in line_spans(text) if not is_nav_row(text[a:b])]
    tail = 0
    while tail < len(spans) and _is_short(text[slice(*spans[-1 - tail])]):
        tail += 1
    if MIN_TAIL_LINES <= tail < len(spans):
        spans = spans[:-tail]
    return spans


def _plain(line: str) -> str:
    return re.sub(r"[*#_`>]+", "", line).strip()


_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")


def find_title(text: str, spans: list[Span], source: str) -> str:
    """The document's title: its first Markdown heading, else a short first line that is no sentence,
    else the first words of the text, else the file name."""
    for start, end in spans:
        if text[start:end].startswith("#"):
            return _plain(text[start:end]) or Path(source).stem
    for start, end in spans[:4]:
        line = _plain(text[start:end])
        if _CLOCK.search(line):
            continue  # a page's timestamp line ("Page last updated at 12:08 GMT, ...") is not its heading
        if line and len(line.split()) <= 16 and not line.endswith("."):
            return line
    if not spans:
        return Path(source).stem
    words = text[spans[0][0] : spans[0][1]].split()
    return " ".join(words[:10]) + (" …" if len(words) > 10 else "")


def regions(spans: list[Span], text: str) -> list[Span]:
    """Merge content lines into regions that no left-out line interrupts."""
    regions: list[list[int]] = []
    for start, end in spans:
        if regions and not text[regions[-1][1] : start].strip():
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(s, e) for s, e in regions]


def chunk_id(source: str, doc_hash: str, index: int) -> str:
    """A chunk's id: its file's path and content hash and its place in the file (stable across runs)."""
    return f"{hashlib.sha1(source.encode()).hexdigest()[:10]}-{doc_hash[:12]}-{index}"


def neighbour_id(chunk: str, step: int) -> str | None:
    """The id of the chunk `step` places after this one in its file (before it for a negative step); None for an id
    of no file or a place before the file's first chunk. A place past the file's last chunk gets an id no chunk has."""
    head, _, i = chunk.rpartition("-")
    return f"{head}-{int(i) + step}" if head and i.isdigit() and int(i) + step >= 0 else None


def previous_id(chunk: str) -> str | None:
    """The id of the chunk just before this one in its file (None for a file's first chunk)."""
    return neighbour_id(chunk, -1)


def next_id(chunk: str) -> str | None:
    """The id the chunk just after this one in its file has, if there is one (None for an id of no file)."""
    return neighbour_id(chunk, 1)


def page_at(pages: tuple[int, ...], offset: int) -> int:
    """The 1-based page holding a text offset, given where each page starts; 0 without pages."""
    return bisect.bisect_right(pages, offset) if pages else 0


def chunk_document(text: str, source: str, doc_hash: str, chunk_size: int, chunk_overlap: int,
                   pages: tuple[int, ...] = (), tabular: bool = False) -> list[Chunk]:  # fmt: skip
    """Split a document's content into chunks with exact offsets and pages. Page furniture is left out, except
    from tables (a sheet's header and last rows are content, however short)."""
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    spans = [(a, b) for a, b in line_spans(text)] if tabular else content_spans(text)
    title = find_title(text, spans, source)
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, chunking_tokenizer_fn=sentence_pieces)
    pieces: list[Span] = []
    for rs, re_ in regions(spans, text):
        region = text[rs:re_]
        cursor = 0
        for node in splitter.get_nodes_from_documents([Document(text=region)]):
            body = node.get_content()
            start = node.start_char_idx
            if start is None or region[start : start + len(body)] != body:
                # The splitter could not place the chunk; find it ourselves from where we are.
                start = region.find(body, max(0, cursor - len(body)))
                if start < 0:
                    continue
            pieces.append((rs + start, rs + start + len(body)))
            cursor = start + 1
    return [
        Chunk(chunk_id(source, doc_hash, i), source, text[s:e], s, e, title, doc_hash, i, len(pieces),
              page_at(pages, s), tuple(p - s for p in pages if s < p < e))  # fmt: skip
        for i, (s, e) in enumerate(pieces)
    ]
