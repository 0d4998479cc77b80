"""A folder of office and e-book files made with their own libraries, each holding facts no other file does
(for tests of formats, pages and hostile archives)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from tests.fakes import tiny_pdf

# question, the phrase the answer's passage must hold, the file, and its page (None: no pages)
QUESTIONS = [
    ("Who chairs the Wexcombe orchard trust?", "Priya Lindqvist", "orchard.docx", None),
    ("What is the budget for the Marlow footbridge repairs?", "84,000", "bridge.pptx", 3),
    ("How many volunteers does Thornbury library have?", "Thornbury", "branches.xlsx", None),
    ("Which bus route serves Aldgate Quarry?", "route 47", "routes.csv", None),
    ("Who is the lighthouse keeper at Skerrow Point?", "Tomas Avery", "keepers.epub", None),
    ("When did the Fennick reservoir reopen?", "April 2019", "reservoir.pdf", 2),
]


def make_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Wexcombe orchard trust annual note", level=1)
    d.add_paragraph("The orchard trust planted forty new trees on the east slope this spring.")
    d.add_paragraph("Priya Lindqvist chairs the Wexcombe orchard trust and has done so since 2016.")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "Variety", "Trees"
    t.cell(1, 0).text, t.cell(1, 1).text = "Bramley", "12"
    d.save(str(path))


def make_pptx(path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    p = Presentation()
    slides = [
        ("Marlow footbridge", "A review of the crossing over the mill stream."),
        ("Condition survey", "The survey found corrosion in two of the six steel beams."),
        ("Budget", "The repairs to the Marlow footbridge have a budget of 84,000 pounds for this year."),
    ]
    for title, body in slides:
        s = p.slides.add_slide(p.slide_layouts[1])
        s.shapes.title.text = title
        s.placeholders[1].text = body
    s.shapes.add_textbox(Inches(1), Inches(6), Inches(4), Inches(1)).text_frame.text = "Works begin in June."
    p.save(str(path))


def make_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Branches"
    for row in [("Branch", "Volunteers", "Opened"), ("Kingsmead library", 14, 1962),
                ("Thornbury library", 23, 1978), ("Eastgate", 9, 2001)]:  # fmt: skip
        ws.append(row)
    wb.save(str(path))


def make_csv(path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerows([("Stop", "Route", "Frequency"), ("Aldgate Quarry", "route 47", "every 20 minutes"),
                 ("Mill Lane", "route 12", "hourly")])  # fmt: skip
    path.write_text(buf.getvalue(), encoding="utf-8")


def make_epub(path: Path) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("keepers-1")
    book.set_title("Keepers of the northern lights")
    book.set_language("en")
    chapters = []
    for n, (title, text) in enumerate([
        ("Skerrow Point", "<p>Tomas Avery is the lighthouse keeper at Skerrow Point, where he has served "
                          "for eleven years.</p>"),
        ("Gull Rock", "<p>The light at Gull Rock was automated in 1989 and has no keeper.</p>"),
    ], start=1):  # fmt: skip
        c = epub.EpubHtml(title=title, file_name=f"ch{n}.xhtml", lang="en")
        c.content = f"<html><body><h1>{title}</h1>{text}</body></html>"
        book.add_item(c)
        chapters.append(c)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    epub.write_epub(str(path), book)


def make_pdf(path: Path) -> None:
    path.write_bytes(tiny_pdf("The Fennick reservoir was drained for repairs to its dam wall.",
                              "The Fennick reservoir reopened in April 2019 after the repairs.",
                              "Fishing permits are sold at the lodge."))  # fmt: skip


def make_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_docx(folder / "orchard.docx")
    make_pptx(folder / "bridge.pptx")
    make_xlsx(folder / "branches.xlsx")
    make_csv(folder / "routes.csv")
    make_epub(folder / "keepers.epub")
    make_pdf(folder / "reservoir.pdf")
    return folder


def zip_bomb(path: Path, unpacked: int = 300 * 2**20) -> None:
    """A .docx-named zip holding one member of zeros that unpacks to `unpacked` bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            block = b"\0" * 2**20
            for _ in range(unpacked // 2**20):
                f.write(block)
