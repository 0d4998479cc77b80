"""The keyword index: BM25 in SQLite FTS5, persistent, updated in place, rebuilt only when out of step."""

from qa.chunk import CHUNKING
from qa.index import StoredChunk, fingerprint
from qa.keyword import KeywordIndex
from qa.pipeline import Engine
from tests.fakes import HashEmbedder


def _c(i, text, source="a.txt"):
    return StoredChunk(i, text, {"source": source, "title": "", "start": 0, "end": len(text)})


def test_search_ranks_by_bm25_and_ignores_stopwords(tmp_path):
    k = KeywordIndex(tmp_path / "k.sqlite")
    k.add(
        [
            _c("1", "The inspectors inspected the children's services in Haringey."),
            _c("2", "The council leader spoke about the budget."),
            _c("3", "Inspectors and more inspectors: an inspection of inspections."),
        ]
    )
    hits = k.search("What did the inspector find?", 5)
    assert [h.id for h in hits][:2] == ["3", "1"]  # stemmed match, more occurrences first
    assert k.search("the of and", 5) == []
    assert k.doc_freq("inspector") == 2 and k.doc_freq("zebra") == 0 and k.doc_freq('x" OR "y') == 0


def test_persistent_and_incremental(tmp_path):
    path = tmp_path / "k.sqlite"
    k = KeywordIndex(path)
    k.add([_c("1", "alpha beta"), _c("2", "beta gamma")])
    k.delete(["1"])
    k.add([_c("2", "delta only")])  # replacing a chunk keeps one row
    k.close()
    again = KeywordIndex(path)
    assert again.size == 1 and again.ids() == ["2"]
    assert again.search("delta", 3)[0].id == "2" and again.search("alpha", 3) == []


def test_engine_keeps_keyword_index_in_step_and_repairs_it(settings, corpus):
    e = Engine(settings, embedder=HashEmbedder(), llm=None)
    e.ingest()
    assert sorted(e.index.keyword.ids()) == sorted(e.index.store.ids())
    (corpus / "001_9d6825c7be89d32a.txt").unlink()
    e.ingest()
    assert sorted(e.index.keyword.ids()) == sorted(e.index.store.ids())
    assert fingerprint(e.index.keyword.ids()) == fingerprint(e.index.store.ids())
    # Out of step (say, a crash between the two writes): the next start rebuilds it.
    e.index.keyword.delete(e.index.keyword.ids()[:5])
    e2 = Engine(settings, embedder=HashEmbedder(), llm=None)
    e2.ensure_index()
    assert sorted(e2.index.keyword.ids()) == sorted(e2.index.store.ids())


def test_first_use_syncs_an_index_an_earlier_version_cut_another_way(settings, corpus, monkeypatch):
    import shutil
    import sys

    from qa.ingest import file_hash

    for module in ("qa.ingest", "qa.chunk"):  # an earlier version of qa cut these files another way
        monkeypatch.setattr(sys.modules[module], "CHUNKING", -1)
    Engine(settings, embedder=HashEmbedder(), llm=None).ingest()
    monkeypatch.undo()
    files = sorted(corpus.iterdir())
    files[0].unlink()
    (corpus / "new.txt").write_text("A note written after the index was built.", encoding="utf-8")

    e = Engine(settings, embedder=HashEmbedder(), llm=None)
    assert e.cut_another_way()
    e.ensure_index()
    metas = list(e.index.metadata().values())
    assert {m["chunking"] for m in metas} == {CHUNKING} and not e.cut_another_way()
    held = {m["source"]: m["doc_hash"] for m in metas}
    assert held == {p.name: file_hash(p.read_bytes()) for p in corpus.iterdir()}  # the folder as it is now
    assert sorted(e.index.keyword.ids()) == sorted(e.index.store.ids())

    # Cut this way, a changed file is left to `ingest`: the first question does not wait for embedding.
    (corpus / "later.txt").write_text("Written after the sync.", encoding="utf-8")
    n = e.index.count()
    again = Engine(settings, embedder=HashEmbedder(), llm=None)
    again.ensure_index()
    assert again.index.count() == n
    # A folder that is gone leaves an index cut another way as it is, to answer from (no error, nothing dropped).
    for c, _ in again.index.get(again.index.store.ids()[:1]):
        assert c.meta["chunking"] == CHUNKING
    monkeypatch.setattr(sys.modules["qa.pipeline"], "CHUNKING", CHUNKING + 1)
    shutil.rmtree(corpus)
    gone = Engine(settings, embedder=HashEmbedder(), llm=None)
    gone.ensure_index()
    assert gone.index.count() == n
