"""Office and e-book formats: .docx (python-docx), .pptx (python-pptx), .xlsx (openpyxl), .csv (the standard
library) and .epub (EbookLib), each into text whose offsets citations use, with page starts where the format
has pages (a presentation's slides).

These formats are zip archives: a file is opened by its library only after its archive is checked (the
content really is a zip, not a password-protected or binary Office file, and not a zip bomb), so a hostile
file is skipped with a reason and nothing else is lost.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_UNZIPPED = 200 * 2**20  # bytes an archive may unpack to
MAX_RATIO = 100  # unpacked to packed, for archives over ZIP_RATIO_FLOOR: text compresses about 5-10 times
ZIP_RATIO_FLOOR = 10 * 2**20
MAX_CELLS = 2_000_000  # spreadsheet cells read at most
CELL_SEP = " | "  # between a table row's cells: a row stays one line


class FormatError(Exception):
    """A file this module cannot read; the message says why (ingest skips it with that reason)."""


@dataclass(frozen=True)
class Document:
    """A file's text; `pages` holds where each page (or slide) starts in it, none where the format has no
    pages; `tabular` text is rows of a table, which page-furniture rules must leave whole."""

    text: str
    pages: tuple[int, ...] = ()
    tabular: bool = False


def is_header(cells: list[str]) -> bool:
    """A table's first row names its columns when every cell is a distinct word, not a number."""
    filled = [c for c in cells if c]
    return len(filled) == len(cells) > 1 and len(set(filled)) == len(filled) and not any(_number(c) for c in filled)


def _number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


class _Table:
    """A table's rows as lines: the header as it is, then each row with its column names ("Branch: Kingsmead |
    Volunteers: 14"), so a row read alone (an evidence sentence, a chunk without the header) still says what
    each value is."""

    def __init__(self, out: _Writer) -> None:
        self.out, self.header = out, None

    def row(self, cells: list[str]) -> None:
        while cells and not cells[-1]:
            cells = cells[:-1]
        if not cells:
            return
        if self.header is None:
            self.header = cells if is_header(cells) else []
            self.out.line(CELL_SEP.join(cells))
            return
        if self.header:
            cells = [f"{h}: {c}" if h and c else c for h, c in zip(self.header, cells, strict=False)] + cells[
                len(self.header) :
            ]
        self.out.line(CELL_SEP.join(cells))


class _Writer:
    """Text built line by line, remembering where each page starts."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.pages: list[int] = []

    def page(self) -> None:
        self.pages.append(self.size)

    def line(self, text: str) -> None:
        text = " ".join(text.split())
        if text:
            self.lines.append(text)
            self.size += len(text) + 1

    def document(self, tabular: bool = False) -> Document:
        return Document("\n".join(self.lines), tuple(self.pages), tabular)


def check_archive(path: Path, kind: str) -> None:
    """The file must be a sound zip archive, of a size it may unpack to."""
    with path.open("rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormatError(f"password-protected, or an old binary Office file: save it as {kind} without a password")
    if not magic.startswith(b"PK\x03\x04"):
        raise FormatError(f"not a {kind} file: its content is something else")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise FormatError(f"corrupt {kind} file ({e})") from e
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > MAX_UNZIPPED or (unpacked > ZIP_RATIO_FLOOR and unpacked / packed > MAX_RATIO):
        raise FormatError(f"unpacks to {unpacked // 2**20} MiB from {packed // 2**10} KiB: refused as a zip bomb")


def read_docx(path: Path) -> Document:
    """Paragraphs and tables in the body's order; headings marked '#' so the title is the document's own."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    doc = docx.Document(str(path))
    out = _Writer()
    for block in doc.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            p = Paragraph(block, doc)
            heading = (p.style.name if p.style is not None else "").lower().startswith(("heading", "title"))
            out.line(("# " if heading and p.text.strip() else "") + p.text)
        elif tag == "tbl":
            for row in Table(block, doc).rows:
                out.line(CELL_SEP.join(c.text.strip() for c in row.cells))
    return out.document()


def read_pptx(path: Path) -> Document:
    """One page per slide: its shapes' text and tables, top to bottom, the title first."""
    from pptx import Presentation

    out = _Writer()
    for slide in Presentation(str(path)).slides:
        out.page()
        title = slide.shapes.title
        if title is not None and title.has_text_frame:
            out.line(title.text_frame.text)
        for shape in sorted(slide.shapes, key=lambda s: (s.top or 0, s.left or 0)):
            if shape is title or (title is not None and shape.shape_id == title.shape_id):
                continue
            if shape.has_text_frame:
                for para in shape.text_frame.paragraphs:
                    out.line("".join(r.text for r in para.runs))
            elif getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    out.line(CELL_SEP.join(c.text.strip() for c in row.cells))
    return out.document()


def read_xlsx(path: Path) -> Document:
    """Each sheet under its name, a row a line (values as last computed, not formulas)."""
    from openpyxl import load_workbook

    book = load_workbook(str(path), read_only=True, data_only=True)
    out, cells = _Writer(), 0
    try:
        for sheet in book.worksheets:
            out.line(f"# {sheet.title}")
            table = _Table(out)
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                if cells > MAX_CELLS:
                    raise FormatError(f"more than {MAX_CELLS:,} cells")
                table.row([_cell(v) for v in row])
    finally:
        book.close()
    return out.document(tabular=True)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_csv(data: bytes) -> Document:
    """A row a line, cells as they are (the dialect sniffed: comma, semicolon, tab)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text (bad byte at offset {e.start})") from e
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    out = _Writer()
    table = _Table(out)
    for row in csv.reader(io.StringIO(text), dialect):
        table.row([c.strip() for c in row])
    return out.document(tabular=True)


def read_epub(path: Path, html_to_text) -> Document:
    """The book's chapters in reading order (its spine), each as its text."""
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    out = _Writer()
    titles = book.get_metadata("DC", "title")
    if titles:
        out.line(f"# {titles[0][0]}")
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            for line in html_to_text(item.get_content().decode("utf-8", errors="replace")).splitlines():
                out.line(line)
    return out.document()
