import os
import sys

import pytest

from qa.chunk import chunk_document, content_spans, regions
from qa.config import Settings
from qa.errors import CorpusError
from qa.extract import read_text
from qa.ingest import sync
from qa.store import Store, open_index
from tests.fakes import HashEmbedder, tiny_pdf


def test_chunk_offsets_point_at_the_text(corpus):
    for path in sorted(corpus.iterdir()):
        text = read_text(path)
        chunks = chunk_document(text, path.name, "h" * 64, chunk_size=96, chunk_overlap=16)
        assert chunks, path
        for c in chunks:
            assert text[c.start : c.end] == c.text
            assert c.count == len(chunks)
        # Chunks hold content lines only: nothing the furniture rules left out.
        kept = content_spans(text)
        for c in chunks:
            assert any(a <= c.start and c.end <= b for a, b in regions(kept, text))


def _sync(settings, embedder, **kw):
    return sync(settings, open_index(settings), embedder, **kw)


def test_a_documents_first_chunks_come_from_chroma_in_order_as_from_memory(settings, corpus):
    """first_chunks filters in Chroma (source and chunk index), and MemoryIndex, the Protocol's other
    implementation, gives the same chunks for the same ingest."""
    from qa.memory import MemoryIndex

    index, memory = open_index(settings), MemoryIndex()
    sync(settings, index, HashEmbedder())
    sync(settings, memory, HashEmbedder())
    meta = index.metadata()
    for source in sorted({m["source"] for m in meta.values()}):
        every = sorted((i for i, m in meta.items() if m["source"] == source), key=lambda i: meta[i]["chunk_index"])
        got = index.first_chunks(source, 2)
        assert [c.id for c in got] == every[:2] and all(c.meta["source"] == source for c in got)
        assert [int(c.meta["start"]) for c in got] == sorted(int(c.meta["start"]) for c in got)
        assert [(c.id, c.text) for c in memory.first_chunks(source, 2)] == [(c.id, c.text) for c in got]
    assert index.first_chunks("no-such-file.txt", 2) == [] == memory.first_chunks("no-such-file.txt", 2)


def test_incremental_reingest(settings, corpus):
    emb = HashEmbedder()
    first = _sync(settings, emb)
    assert len(first.added) == 5 and first.chunks > 0
    n_chunks = first.chunks

    emb.calls.clear()
    again = _sync(settings, emb)
    assert len(again.unchanged) == 5 and not again.changed and emb.texts_embedded == 0

    # change one, delete one, rename one
    (corpus / "000_a6d396aacebdc077.txt").write_text("A brand new text about Tottenham.\n", encoding="utf-8")
    (corpus / "001_9d6825c7be89d32a.txt").unlink()
    os.rename(corpus / "004_277fab3659fc019e.txt", corpus / "renamed.txt")
    emb.calls.clear()
    rep = _sync(settings, emb)
    assert rep.updated == ("000_a6d396aacebdc077.txt",)
    assert rep.removed == ("001_9d6825c7be89d32a.txt",)
    assert rep.renamed == (("004_277fab3659fc019e.txt", "renamed.txt"),)
    assert emb.texts_embedded == 1  # only the changed file's single chunk
    sources = {m["source"] for m in Store(settings).metadata().values()}
    assert sources == {
        "000_a6d396aacebdc077.txt",
        "002_74398830eb76dfcf.txt",
        "003_7d1de0c64763a0a0.txt",
        "renamed.txt",
    }
    assert rep.chunks < n_chunks


def test_a_new_way_of_chunking_reindexes_every_file_once(settings, corpus, monkeypatch):
    module = sys.modules["qa.ingest"]  # qa.ingest, the attribute, is the function of that name

    emb = HashEmbedder()
    first = _sync(settings, emb)
    monkeypatch.setattr(module, "CHUNKING", module.CHUNKING + 1)
    again = _sync(settings, emb)
    assert sorted(again.updated) == sorted(first.added) and again.chunks == first.chunks
    assert len(_sync(settings, emb).unchanged) == len(first.added)


def test_interrupted_ingest_is_completed_next_time(settings):
    emb = HashEmbedder()
    _sync(settings, emb)
    store = Store(settings)
    # Simulate a crash half-way through writing one file: drop some of its chunks.
    ids = [i for i, m in store.metadata().items() if m["source"] == "002_74398830eb76dfcf.txt"]
    store.delete(ids[: len(ids) // 2])
    rep = _sync(settings, emb)
    assert "002_74398830eb76dfcf.txt" in rep.updated
    fresh = Settings(docs_dir=settings.docs_dir, data_dir=settings.data_dir.parent / "clean", llm="extractive")
    clean = _sync(fresh, HashEmbedder())
    assert rep.chunks == clean.chunks


def test_bad_files_are_skipped_and_listed(settings, corpus, tmp_path):
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00" * 20)
    (corpus / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret")
    (corpus / "link.txt").symlink_to(outside)
    rep = _sync(settings, HashEmbedder())
    reasons = dict(rep.skipped)
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "unsupported" in reasons["image.png"]
    assert "outside" in reasons["link.txt"]
    assert len(rep.added) == 5


def test_html_and_markdown_are_read(settings, corpus):
    (corpus / "page.html").write_text(
        "<html><head><script>var x=1;</script></head><body><nav>Home News</nav>"
        "<p>The zebra crossing was repainted on Tuesday.</p></body></html>",
        encoding="utf-8",
    )
    rep = _sync(settings, HashEmbedder())
    assert "page.html" in rep.added
    text = read_text(corpus / "page.html")
    assert "zebra crossing" in text and "var x" not in text


def test_pdf_is_read_and_cited_by_its_extracted_text(settings, corpus):
    (corpus / "notice.pdf").write_bytes(tiny_pdf("The zebra crossing was repainted on Tuesday."))
    rep = _sync(settings, HashEmbedder())
    assert "notice.pdf" in rep.added
    text = read_text(corpus / "notice.pdf")
    chunks = chunk_document(text, "notice.pdf", "h" * 64, 96, 16)
    assert "zebra crossing" in chunks[0].text and text[chunks[0].start : chunks[0].end] == chunks[0].text


def test_missing_and_empty_folders_give_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        _sync(Settings(docs_dir=tmp_path / "nope", data_dir=tmp_path / "d"), HashEmbedder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no documents"):
        _sync(Settings(docs_dir=tmp_path / "empty", data_dir=tmp_path / "d"), HashEmbedder())


# The HTML reader promises BeautifulSoup's text to the character (citation offsets and the boilerplate
# filter depend on it), from lxml's parser events instead of a tree. BeautifulSoup is the reference.
def _soup_text(html: str) -> str:
    import warnings

    from bs4 import BeautifulSoup

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XMLParsedAsHTMLWarning on pages that start with <?xml
        soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "noscript", "form"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


TRICKY_PAGES = [
    '<?xml version="1.0" encoding="iso-8859-1"?><html><body><p>a&amp;b &nbsp; c</p></body></html>',
    "<!DOCTYPE html><p>x<!-- a comment splits the line -->y</p><?php echo 1 ?>z",
    "<p>one<nav>skip<header>nested skip</header>still skipped</nav>two</p><pre>  a\n   b </pre>",
    "<p>unclosed <b>bold <i>italic</p> after</b> tail",
    "<table><tr><td>a<td>b</table><br>c<br/>d",
    "<![CDATA[ cdata ]]> text <template>t</template><ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>",
    "<p>\u2028line\x0bsep\x0cfeed</p><form>f<input>x</form>after<select><option>o1</option></select>",
    "<svg><text>svg text</text></svg><math><mi>x</mi></math>",
    "plain text, no tags",
    "<",
]


@pytest.mark.parametrize("page", TRICKY_PAGES)
def test_html_text_is_beautifulsoups(page):
    from qa.extract import html_to_text as _html_to_text

    assert _html_to_text(page) == _soup_text(page)


def test_html_text_is_beautifulsoups_on_tag_soup():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from qa.extract import html_to_text as _html_to_text

    tags = ["p", "div", "b", "nav", "script", "style", "pre", "br", "td", "table", "li", "header", "a", "rt"]
    piece = st.one_of(
        st.sampled_from(["hello", " ", "\n", "  x y ", "&amp;", "&lt;", "é", "\xa0", "a\tb", "-->", "<!-- c -->"]),
        st.sampled_from(tags).map(lambda t: f"<{t}>"),
        st.sampled_from(tags).map(lambda t: f"</{t}>"),
        st.text(max_size=5),
    )

    @settings(max_examples=400, deadline=None)
    @given(st.lists(piece, max_size=30).map("".join))
    def check(page):
        assert _html_to_text(page) == _soup_text(page)

    check()


def test_a_text_repeated_across_batches_is_embedded_once(settings, corpus, monkeypatch):
    ingest_module = sys.modules["qa.ingest"]  # the module; `qa.ingest` is also the function qa exports
    monkeypatch.setattr(ingest_module, "EMBED_BATCH", 1)  # every file is written on its own
    shared = (corpus / "002_74398830eb76dfcf.txt").read_text(encoding="utf-8")
    (corpus / "copy.txt").write_text(shared, encoding="utf-8")
    emb = HashEmbedder()
    _sync(settings, emb)
    store = Store(settings)
    stored = store.get(list(store.metadata()), with_vectors=True)
    texts = [chunk.text for chunk, _ in stored]
    assert len(texts) > len(set(texts))  # the copy's chunks repeat the original's
    assert emb.texts_embedded == len(set(texts))
    for chunk, vector in stored:
        assert vector == pytest.approx(HashEmbedder().embed([chunk.text])[0], abs=1e-6)


def test_the_embedding_cache_is_bounded_and_changes_no_vector(monkeypatch):
    from collections import OrderedDict

    ingest_module = sys.modules["qa.ingest"]
    monkeypatch.setattr(ingest_module, "EMBED_CACHE", 3)
    emb, cache = HashEmbedder(), OrderedDict()
    calls = [["a b", "c d", "a b"], ["c d", "e f", "g h"], ["i j", "a b"], ["c d"]]
    for texts in calls:
        got = ingest_module.embed_distinct(emb, texts, cache)
        assert got == pytest.approx(HashEmbedder().embed(texts))
        assert len(cache) <= 3
    # "c d" was cached by the first call and reused by the second; by the fourth it had been evicted.
    assert emb.calls == [["a b", "c d"], ["e f", "g h"], ["i j", "a b"], ["c d"]]
