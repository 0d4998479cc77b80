"""Office and e-book formats: each read into text whose offsets citations use, pages kept for PDFs and
slides, table rows kept whole, and hostile files skipped with a reason while everything else is indexed."""

import pytest

import qa.refuse
from qa.cite import document_text, is_exact
from qa.config import Settings
from qa.extract import read_document
from qa.memory import MemoryIndex
from qa.pipeline import Engine
from tests.fakes import HashEmbedder
from tests.formats_corpus import QUESTIONS, make_folder, zip_bomb


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "docs")


@pytest.fixture
def answer_when_supported(monkeypatch):
    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
    )


def test_each_format_becomes_text_with_its_pages(folder):
    docx = read_document(folder / "orchard.docx")
    assert docx.text.startswith("# Wexcombe orchard trust annual note") and "Bramley | 12" in docx.text
    assert docx.pages == ()
    pptx = read_document(folder / "bridge.pptx")
    assert len(pptx.pages) == 3 and pptx.text[pptx.pages[2]:].startswith("Budget")
    assert "Works begin in June." in pptx.text[pptx.pages[2]:]
    xlsx = read_document(folder / "branches.xlsx")
    assert xlsx.tabular and xlsx.text.splitlines()[:2] == ["# Branches", "Branch | Volunteers | Opened"]
    assert xlsx.text.splitlines()[-1] == "Branch: Eastgate | Volunteers: 9 | Opened: 2001"  # a row says what it holds
    csv = read_document(folder / "routes.csv")
    assert csv.text.splitlines()[0] == "Stop | Route | Frequency" and csv.tabular
    epub = read_document(folder / "keepers.epub")
    assert epub.text.startswith("# Keepers of the northern lights") and "Tomas Avery" in epub.text
    pdf = read_document(folder / "reservoir.pdf")
    assert len(pdf.pages) == 3 and pdf.text[pdf.pages[1]:].startswith("The Fennick reservoir reopened")


def test_table_rows_stay_rows_header_and_last_row_included(folder):
    from qa.chunk import chunk_document

    for name in ("branches.xlsx", "routes.csv"):
        doc = read_document(folder / name)
        chunks = chunk_document(doc.text, name, "0" * 40, 96, 0, doc.pages, doc.tabular)
        text = "\n".join(c.text for c in chunks)
        assert text.strip() == doc.text.strip(), name  # nothing left out as page furniture


@pytest.mark.parametrize("question, phrase, source, page", QUESTIONS)
def test_a_question_about_each_file_is_answered_from_it_with_exact_offsets_and_pages(
    tmp_path, folder, answer_when_supported, question, phrase, source, page
):
    s = Settings(docs_dir=folder, data_dir=tmp_path / "data", llm="extractive")
    e = Engine(s, embedder=HashEmbedder(), llm=None, index=MemoryIndex())
    assert not e.ingest().skipped
    a = e.answer(question)
    assert not a.refused, a.trace.decision
    c = a.citations[0]
    assert c.source == source and phrase in c.quote
    assert is_exact(c, document_text(c.source, folder)) and c.page == page


def test_hostile_files_are_skipped_with_a_reason_and_nothing_else_is_lost(tmp_path, folder):
    zip_bomb(folder / "bomb.docx")
    (folder / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    (folder / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (folder / "fake.pptx").write_text("I am plain text with a presentation's name.", encoding="utf-8")
    (folder / "fake.pdf").write_text("Not a PDF at all.", encoding="utf-8")
    (folder / "broken.epub").write_bytes(_zip_with("mimetype", b"application/epub+zip"))
    s = Settings(docs_dir=folder, data_dir=tmp_path / "data", llm="extractive")
    report = Engine(s, embedder=HashEmbedder(), llm=None, index=MemoryIndex()).ingest()
    why = dict(report.skipped)
    assert "zip bomb" in why["bomb.docx"]
    assert "corrupt" in why["corrupt.xlsx"]
    assert "password-protected" in why["locked.docx"]
    assert "not a .pptx file" in why["fake.pptx"] and "not a PDF" in why["fake.pdf"]
    assert "could not be read" in why["broken.epub"]
    assert sorted(report.added) == sorted(q[2] for q in QUESTIONS)


def _zip_with(name: str, data: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def test_uploads_accept_the_new_formats(tmp_path, folder):
    from qa.uploads import store_upload

    (tmp_path / "up").mkdir()
    for name in ("orchard.docx", "bridge.pptx", "branches.xlsx", "routes.csv", "keepers.epub"):
        store_upload(tmp_path / "up", name, (folder / name).read_bytes(), 10 * 2**20)
    assert len(list((tmp_path / "up").iterdir())) == 5


@pytest.mark.slow
def test_with_the_bundled_models_each_file_answers_its_own_question(tmp_path_factory):
    """The default embedder and reader over the folder: each question answered (or honestly refused) from the
    right file, cited exactly, with the right page; most of them answered."""
    from qa import answer

    folder = make_folder(tmp_path_factory.mktemp("formats") / "docs")
    s = Settings(docs_dir=folder, data_dir=tmp_path_factory.mktemp("formats-data"), llm="local")
    answered = 0
    for question, phrase, source, page in QUESTIONS:
        a = answer(question, settings=s)
        if a.refused:
            continue
        answered += 1
        c = a.citations[0]
        assert (c.source, c.page) == (source, page) and phrase in c.quote, (question, a.text, c)
        assert is_exact(c, document_text(c.source, folder))
    assert answered >= 5, answered
