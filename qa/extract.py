"""Extraction: a file becomes the text qa indexes (txt, md, html, pdf here; docx, pptx, xlsx, csv and epub
through formats.py), with where its pages start. Citation offsets refer to this text."""

from __future__ import annotations

from pathlib import Path

from . import formats
from .formats import Document

TEXT = {".txt", ".md", ".markdown", ".html", ".htm"}
OFFICE = {".docx": formats.read_docx, ".pptx": formats.read_pptx, ".xlsx": formats.read_xlsx}
SUPPORTED = TEXT | {".pdf", ".csv", ".epub", *OFFICE}
MAX_FILE_BYTES = 50 * 1024 * 1024


class SkipFile(Exception):
    """A file that cannot be ingested; the message says why."""


def read_text(path: Path) -> str:
    """The text of a document as qa indexes it; citation offsets refer to this text."""
    return read_document(path).text


def read_document(path: Path) -> Document:
    """The document's text and page starts, or SkipFile saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SkipFile(f"unreadable ({e.strerror or e})") from e
    if not data.strip():
        raise SkipFile("empty file")
    try:
        doc = _extract(path, path.suffix.lower(), data)
    except formats.FormatError as e:
        raise SkipFile(str(e)) from e
    if not doc.text.strip():
        raise SkipFile("no text in the file")
    return doc


def _extract(path: Path, suffix: str, data: bytes) -> Document:
    if suffix == ".pdf":
        if b"%PDF" not in data[:1024]:
            raise SkipFile("not a PDF file: its content is something else")
        return _read_pdf(path)
    if suffix in OFFICE or suffix == ".epub":
        formats.check_archive(path, suffix)
        try:
            return OFFICE[suffix](path) if suffix in OFFICE else formats.read_epub(path, html_to_text)
        except formats.FormatError:
            raise
        except Exception as e:  # noqa: BLE001 - any parser failure on a sound archive means "cannot read it"
            raise SkipFile(f"{suffix} file could not be read ({type(e).__name__}: {str(e)[:80]})") from e
    if b"\x00" in data[:8192]:
        raise SkipFile("binary file, not text")
    if suffix == ".csv":
        return formats.read_csv(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SkipFile(f"not UTF-8 text (bad byte at offset {e.start})") from e
    return Document(html_to_text(text) if suffix in (".html", ".htm") else text)


# Elements whose text a reader never wants, plus the three whose strings BeautifulSoup's get_text
# leaves out by type (template, rt, rp), so the text is the same as BeautifulSoup's to the character.
_HTML_SKIP = frozenset(
    ["script", "style", "nav", "header", "footer", "aside", "noscript", "form", "template", "rt", "rp"]
)


class _HtmlStrings:
    """lxml parser target: a page's strings in document order, one per run of text between two tags."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._run: list[str] = []
        self._skip = 0

    def _flush(self) -> None:
        if self._run:
            if not self._skip:
                self.strings.append("".join(self._run))
            self._run = []

    def start(self, tag, attrib, nsmap=None) -> None:
        self._flush()
        self._skip += tag in _HTML_SKIP

    def end(self, tag) -> None:
        self._flush()
        self._skip -= tag in _HTML_SKIP

    def data(self, data: str) -> None:
        self._run.append(data)

    # Comments, processing instructions and doctypes are not text, but they end a run, as in BeautifulSoup.
    def comment(self, text) -> None:
        self._flush()

    def pi(self, target, data=None) -> None:
        self._flush()

    def doctype(self, *args) -> None:
        self._flush()

    def close(self) -> list[str]:
        self._flush()
        return self.strings


def html_to_text(html: str) -> str:
    """A page's text with its block structure kept as lines (the boilerplate filter needs them).

    This gives exactly what BeautifulSoup(html, "lxml") gives after removing _HTML_SKIP's elements and
    calling get_text("\n") (tests/test_ingest.py checks it against BeautifulSoup), but from lxml's
    parser events without building a tree: 15x faster (3,955 pages of Debian's Python and kernel
    manuals: 8.4 s against 125.2 s, identical text), where BeautifulSoup took three quarters of an HTML
    manual's read-and-chunk time. llama-index's HTML readers split per tag and lose where the text sat.
    """
    from lxml import etree

    target = _HtmlStrings()
    parser = etree.HTMLParser(target=target, recover=True)
    parser.feed(html)
    lines = (line.strip() for line in "\n".join(parser.close()).splitlines())
    return "\n".join(line for line in lines if line)


def _read_pdf(path: Path) -> Document:
    """The pages' text joined by newlines (as llama-index's reader joins a whole document), with page starts."""
    from llama_index.readers.file import PDFReader

    try:
        docs = PDFReader(return_full_document=False).load_data(path)
    except Exception as e:  # noqa: BLE001 - any parser failure means "cannot read this PDF"
        raise SkipFile(f"PDF could not be parsed ({type(e).__name__})") from e
    starts, pos = [], 0
    for d in docs:
        starts.append(pos)
        pos += len(d.text) + 1
    text = "\n".join(d.text for d in docs)
    if not text.strip():
        raise SkipFile("PDF has no extractable text")
    return Document(text, tuple(starts))


def document_text(source: str, docs_dir: Path) -> str:
    """The text a citation's offsets refer to (the file's text; for HTML/PDF the extracted text)."""
    root = docs_dir.resolve()
    path = (docs_dir / source).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"{source!r} is outside the documents folder")
    return read_text(path)
