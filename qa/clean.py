"""Pure text functions: page-boilerplate detection, title and dateline, sentence spans.

Everything here works on spans of the original text, so offsets stay true to the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache

Span = tuple[int, int]

# Lines that are page furniture wherever they appear.
_BOILERPLATE_LINE = re.compile(
    r"""^\W*(?:
        print\s+sponsor | related\s+(?:articles|internet\s+links|stories|links) | comments\s+are\s+closed\.?
      | blogs | more\s+information | more\s+from\s+[\w\s]{2,40} | features,\s+views,\s+analysis
      | bbc\s+id | sign\s+in | bbc\s+navigation | share\s+this(?:\s+page)? | advertisement
      | skip\s+to\s+(?:main\s+)?content | (?:accept|reject|manage)\s+(?:all\s+)?cookies
      | copyright\s+©.* | ©.* | the\s+bbc\s+is\s+not\s+responsible\b.*
      | this\s+page\s+is\s+best\s+viewed\b.* | .*\bwe\s+use\s+cookies\b.* | .*\bupgrade\s+your\s+browser\b.*
      | .*\benable\s+(?:javascript|style\s+sheets)\b.*
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A line after which the rest of a page is links and navigation, not the article.
_FOOTER_START = re.compile(
    r"^\W*(?:related\s+(?:articles|internet\s+links|stories)|print\s+sponsor|comments\s+are\s+closed)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?\"'”’)]\s*$")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?[\s,]+({_MONTHS})[\s,]+(\d{{4}})\b|\b({_MONTHS})\s+(\d{{1,2}}),?\s+(\d{{4}})\b"
)


def line_spans(text: str) -> Iterator[Span]:
    """Spans of the non-blank lines of `text`, without their surrounding whitespace."""
    for m in re.finditer(r"[^\n]+", text):
        start = m.start()
        line = m.group()
        stripped = line.strip()
        if not stripped:
            continue
        start += len(line) - len(line.lstrip())
        yield start, start + len(stripped)


def _is_nav_line(line: str) -> bool:
    """A row of capitalised link words with no sentence in it ("Americas Africa Europe ...")."""
    words = line.split()
    return len(words) >= 4 and not _SENTENCE_END.search(line) and all(w[0].isupper() for w in words)


def content_spans(text: str) -> list[Span]:
    """Spans of the lines that are the document's content, with page boilerplate left out.

    A footer marker ("Related articles", "Print Sponsor") starts a tail of short link lines:
    those are dropped, but any full sentence found there is kept.
    """
    spans: list[Span] = []
    in_footer = False
    for start, end in line_spans(text):
        line = text[start:end]
        if _FOOTER_START.match(line):
            in_footer = True
            continue
        if _BOILERPLATE_LINE.match(line) or _is_nav_line(line):
            continue
        if in_footer and (len(line.split()) < 12 or not _SENTENCE_END.search(line)):
            continue
        spans.append((start, end))
    return spans


def _plain(line: str) -> str:
    return re.sub(r"[*#_`>]+", "", line).strip()


def find_title(text: str, spans: list[Span]) -> str | None:
    """The document's title: its first Markdown heading, else a short first line that is no sentence."""
    for start, end in spans:
        line = text[start:end]
        if line.startswith("#"):
            return _plain(line) or None
    for start, end in spans[:3]:
        line = _plain(text[start:end])
        if line and len(line.split()) <= 16 and not line.endswith(".") and not _DATE.search(line):
            if not re.match(r"^page last updated", line, re.IGNORECASE):
                return line
    return None


def find_dateline(text: str, spans: list[Span]) -> str | None:
    """A full date (day, month, year) in the header lines, before the body's first long line."""
    head_end = next((s for s, e in spans if len(text[s:e].split()) >= 20), len(text))
    m = _DATE.search(text[:head_end])
    if not m:
        return None
    if m.group(1):
        return f"{int(m.group(1))} {m.group(2)} {m.group(3)}"
    return f"{int(m.group(5))} {m.group(4)} {m.group(6)}"


@lru_cache(maxsize=1)
def _punkt():
    # Punkt ships inside llama-index-core's package data; point nltk there so nothing downloads.
    import llama_index.core
    import nltk

    path = os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")
    if path not in nltk.data.path:
        nltk.data.path.append(path)
    return nltk.tokenize.PunktTokenizer("english")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans inside text[start:end]; a line break always ends a sentence."""
    end = len(text) if end is None else end
    out: list[Span] = []
    tok = _punkt()
    for ls, le in line_spans(text[start:end]):
        line = text[start + ls : start + le]
        for ss, se in tok.span_tokenize(line):
            piece = line[ss:se]
            if re.search(r"\w", piece):
                out.append((start + ls + ss, start + ls + se))
    return out
