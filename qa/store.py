"""The chunk index qa ships: a Chroma collection, local (persistent) or on a Chroma server, with its keyword
side (keyword.py) kept in step (ChromaIndex)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np

from .config import Settings
from .embed import resolve
from .errors import IndexDamagedError, IndexUnavailableError, QAError
from .index import Hit, StoredChunk, fingerprint
from .keyword import KeywordIndex

SCHEMA_VERSION = 4  # 2: general furniture rules, no dateline (issue 12); 3: vectors padded per text (embed.PAD_STEP); 4: pages. A new version starts a new index
PAGE = 5000  # rows per Chroma call when reading or writing many chunks


def collection_name(settings: Settings) -> str:
    """One collection per corpus folder, embedder and chunking, so indexes never mix."""
    key = "|".join(
        [
            str(settings.docs_dir.resolve()),
            resolve(settings.embed_model),
            str(settings.chunk_size),
            str(settings.chunk_overlap),
            str(SCHEMA_VERSION),
        ]
    )
    return f"{settings.collection}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def open_client(settings: Settings):
    """A Chroma client: HttpClient when QA_CHROMA_URL is set, else a persistent local one."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = settings.chroma_url.removeprefix("http://")
        host, _, port = url.rpartition(":")
        if not host or not port.isdigit():
            raise QAError(f"QA_CHROMA_URL must be host:port, got {settings.chroma_url!r}.")
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            return chromadb.HttpClient(host=host, port=int(port), headers=headers, settings=chroma_settings)
        except Exception as e:
            raise QAError(f"Cannot reach the Chroma server at {settings.chroma_url}: {e}") from e
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as e:
        raise IndexDamagedError(
            f"The index in {path} cannot be opened ({e}). Rebuild it with: qa ingest --rebuild"
        ) from e


class Store:
    """Adds, removes and searches chunks in one Chroma collection (ChromaIndex's vector side)."""

    def __init__(self, settings: Settings, client=None) -> None:
        self.settings = settings
        self._max_batch: int | None = None
        self.client = client or open_client(settings)
        self.name = collection_name(settings)
        try:
            self.col = self.client.get_or_create_collection(
                self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        except Exception as e:
            raise IndexDamagedError(
                f"The index collection {self.name} cannot be opened ({e}). Rebuild it with: qa ingest --rebuild"
            ) from e

    def _call(self, fn, *args, **kwargs):
        """Run a collection call; a failing Chroma server becomes a QAError that names it."""
        try:
            return fn(*args, **kwargs)
        except QAError:
            raise
        except Exception as e:
            if self.settings.chroma_url:
                raise IndexUnavailableError(
                    f"The Chroma server at {self.settings.chroma_url} failed ({type(e).__name__}). "
                    "Check that it is running; the local index was not touched."
                ) from e
            raise

    def reset(self) -> None:
        """Drop every chunk (for --rebuild)."""
        try:
            self.client.delete_collection(self.name)
        except Exception:  # noqa: BLE001 - a missing collection is already reset
            pass
        self.col = self.client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    def warm_up(self) -> None:
        """Reach the collection once, so a server that is down is reported before the first question."""
        self.count()

    def count(self) -> int:
        return self._call(self.col.count)

    def add(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        """Add chunks; calls are split at the client's batch limit (a server says how many it takes)."""
        if not ids:
            return
        step = self._batch_limit()
        for i in range(0, len(ids), step):
            self._call(
                self.col.upsert,
                ids=ids[i : i + step],
                embeddings=vectors[i : i + step].tolist(),
                documents=texts[i : i + step],
                metadatas=metas[i : i + step],
            )

    def _batch_limit(self) -> int:
        if self._max_batch is None:
            self._max_batch = max(1, min(PAGE, int(self._call(self.client.get_max_batch_size))))
        return self._max_batch

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._call(self.col.delete, ids=ids)

    def ids(self) -> list[str]:
        """Every chunk id (cheap: no texts or vectors)."""
        return [i for got in self._pages([]) for i in got["ids"]]

    def _pages(self, include: list[str]):
        """Every chunk, PAGE at a time, so a large collection is never held in one response."""
        offset = 0
        while True:
            got = self._call(self.col.get, include=include, limit=PAGE, offset=offset)
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def metadata(self) -> dict[str, dict]:
        """id -> metadata for every chunk (what ingest compares against)."""
        out: dict[str, dict] = {}
        for got in self._pages(["metadatas"]):
            out.update(zip(got["ids"], got["metadatas"], strict=False))
        return out

    def get(self, ids: list[str], with_vectors: bool = False) -> list[tuple[StoredChunk, list[float] | None]]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
        got = self._call(self.col.get, ids=ids, include=include)
        vecs = got.get("embeddings") if with_vectors else None
        return [
            (StoredChunk(i, d, m), (list(vecs[n]) if vecs is not None else None))
            for n, (i, d, m) in enumerate(zip(got["ids"], got["documents"], got["metadatas"], strict=False))
        ]

    def first_chunks(self, source: str, n: int) -> list[StoredChunk]:
        """Chroma filters on the metadata, so only these chunks cross the wire (not the whole index's)."""
        where = {"$and": [{"source": source}, {"chunk_index": {"$lt": n}}]}
        got = self._call(self.col.get, where=where, include=["documents", "metadatas"])
        chunks = [StoredChunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=False)]
        return sorted(chunks, key=lambda c: int(c.meta["chunk_index"]))

    def all_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk with its text (for the keyword index), streamed a page at a time."""
        for got in self._pages(["documents", "metadatas"]):
            yield from (
                StoredChunk(i, d, m)
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=False)
            )

    def search(self, vector: np.ndarray, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        """Nearest chunks by cosine similarity, best first (within these documents, if given)."""
        n = self.count()
        if n == 0 or sources == ():
            return []
        res = self._call(
            self.col.query,
            query_embeddings=[vector.tolist()],
            n_results=min(k, n),
            where={"source": {"$in": list(sources)}} if sources else None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit.of(StoredChunk(i, d, m), 1.0 - float(dist))
            for i, d, m, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=False
            )
        ]


def open_store(settings: Settings, rebuild: bool = False) -> Store:
    """Open the store; with rebuild, a local index that cannot be opened is wiped and made anew."""
    try:
        return Store(settings)
    except IndexDamagedError:
        if not rebuild or settings.chroma_url:
            raise
    import shutil

    from chromadb.api.client import SharedSystemClient

    # chromadb keeps one system per path in-process; drop it so the fresh folder is really reopened.
    SharedSystemClient.clear_system_cache()
    shutil.rmtree(settings.data_dir / "chroma", ignore_errors=True)
    return Store(settings)


class ChromaIndex:
    """The Index qa ships: every write goes to the Chroma collection, then to the BM25 keyword index."""

    def __init__(self, store: Store, keyword: KeywordIndex) -> None:
        self.store, self.keyword = store, keyword
        self.name = store.name

    def warm_up(self) -> None:
        self.store.warm_up()
        self.keyword.warm_up()

    def add(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        self.store.add(ids, vectors, texts, metas)
        self.keyword.add(StoredChunk(i, t, m) for i, t, m in zip(ids, texts, metas, strict=True))

    def delete(self, ids: list[str]) -> None:
        if ids:
            self.store.delete(ids)
            self.keyword.delete(ids)

    def reset(self) -> None:
        self.store.reset()
        self.keyword.rebuild([])

    def count(self) -> int:
        return self.store.count()

    def metadata(self) -> dict[str, dict]:
        return self.store.metadata()

    def first_chunks(self, source: str, n: int) -> list[StoredChunk]:
        return self.store.first_chunks(source, n)

    def get(self, ids: list[str], with_vectors: bool = False) -> list[tuple[StoredChunk, list[float] | None]]:
        return self.store.get(ids, with_vectors=with_vectors)

    def search_dense(self, vector: np.ndarray, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        return self.store.search(vector, k, sources)

    def search_keyword(self, query: str, k: int, sources: tuple[str, ...] | None = None) -> list[Hit]:
        return self.keyword.search(query, k, sources)

    def sources(self) -> list[str]:
        return self.keyword.sources()

    def doc_freq(self, term: str) -> int:
        return self.keyword.doc_freq(term)

    def repair(self) -> bool:
        if fingerprint(self.store.ids()) == fingerprint(self.keyword.ids()):
            return False
        self.keyword.rebuild(self.store.all_chunks())
        return True


def open_index(settings: Settings, store: Store | None = None) -> ChromaIndex:
    """The Chroma store (given, or opened from the settings) and its keyword index on disk."""
    store = store or open_store(settings)
    return ChromaIndex(store, KeywordIndex(settings.data_dir / "keyword" / f"{store.name}.sqlite"))
