"""Ingest: keep the index in step with a folder (scan, hash, add, replace, move, remove).

Re-ingest is incremental. The store itself is the manifest: every chunk carries its file's
path, content hash and chunk count, so a half-written file (an ingest killed mid-way) is seen
as incomplete and redone, and no separate state can drift from the index. Both indexes are
written here: the vector store and the keyword index.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunk import CHUNKING, Chunk, chunk_document, chunk_id
from .config import Settings
from .embed import Embedder
from .errors import CorpusError
from .extract import MAX_FILE_BYTES, SUPPORTED, SkipFile, read_document
from .index import Index

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did, file by file."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.renamed)

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.removed)} removed",
            f"{len(self.renamed)} renamed",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
        ]
        lines = [", ".join(parts) + f"; {self.chunks} chunks in the index ({self.seconds:.1f}s)"]
        lines += [f"  skipped {src}: {why}" for src, why in self.skipped]
        return "\n".join(lines)


def file_hash(data: bytes) -> str:
    """A file's version as the index knows it: its bytes, and how they are chunked (a new way re-indexes it)."""
    h = hashlib.sha256(data)
    h.update(f"\0chunking {CHUNKING}".encode())  # after the bytes, without copying them
    return h.hexdigest()


def scan(docs_dir: Path) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    """Supported files under docs_dir (relative path -> path), and files passed over with why."""
    if not docs_dir.exists():
        raise CorpusError(f"The documents folder {docs_dir} does not exist. Set QA_DOCS_DIR or pass a folder.")
    if not docs_dir.is_dir():
        raise CorpusError(f"{docs_dir} is not a folder. Point qa at a folder of documents.")
    root = docs_dir.resolve()
    found: dict[str, Path] = {}
    skipped: list[tuple[str, str]] = []
    for path in sorted(docs_dir.rglob("*")):
        rel = path.relative_to(docs_dir).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            skipped.append((rel, "link to a file outside the documents folder"))
            continue
        if not path.is_file():
            continue
        if path.suffix.lower() not in SUPPORTED:
            skipped.append((rel, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            skipped.append((rel, f"larger than {MAX_FILE_BYTES // 2**20} MiB"))
            continue
        found[rel] = path
    return found, skipped


def sync(
    settings: Settings, index: Index, embedder: Embedder, progress: Progress | None = None, rebuild: bool = False
) -> IngestReport:
    """Bring the index in line with the documents folder; only new or changed files are embedded."""
    t0 = time.perf_counter()
    files, skipped = scan(settings.docs_dir)
    if not files:
        raise CorpusError(
            f"The documents folder {settings.docs_dir} has no documents qa can read "
            f"({', '.join(sorted(SUPPORTED))}). Add some and ingest again."
        )
    if rebuild:
        index.reset()
    held = Held.of(index)
    hashes: dict[str, str] = {}
    for rel, path in files.items():
        try:
            hashes[rel] = file_hash(path.read_bytes())
        except OSError as e:
            skipped.append((rel, f"unreadable ({e.strerror or e})"))
    unchanged = [rel for rel, h in hashes.items() if held.only(rel, h)]
    todo = [rel for rel in hashes if rel not in unchanged]
    gone = [src for src in held.by_source if src not in hashes]
    now = time.time()
    renamed = _moves(index, held, hashes, todo, gone, now)
    added, updated = _Writer(index, embedder, held, hashes, now).run(settings, files, todo, skipped, progress)
    for src in gone:
        held.drop(index, src)
    return IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(gone),
        renamed=tuple(renamed),
        unchanged=tuple(sorted(unchanged)),
        skipped=tuple(sorted(skipped)),
        chunks=index.count(),
        seconds=time.perf_counter() - t0,
    )


@dataclass
class Held:
    """What the index holds: chunk ids per (source, content hash), which of those are complete, and the
    hashes held per source."""

    ids: dict[tuple[str, str], list[str]]
    complete: set[tuple[str, str]]
    by_source: dict[str, set[str]]

    @classmethod
    def of(cls, index: Index) -> Held:
        ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        expected: dict[tuple[str, str], int] = {}
        for cid, meta in index.metadata().items():
            key = (meta["source"], meta["doc_hash"])
            ids[key].append(cid)
            expected[key] = int(meta["n_chunks"])
        by_source: dict[str, set[str]] = defaultdict(set)
        for src, h in ids:
            by_source[src].add(h)
        return cls(ids, {k for k, v in ids.items() if len(v) == expected[k]}, by_source)

    def only(self, source: str, doc_hash: str) -> bool:
        """The index holds this version of the file, whole, and no other."""
        return (source, doc_hash) in self.complete and len(self.by_source[source]) == 1

    def drop(self, index: Index, source: str, keep: str | None = None) -> None:
        """Remove a file's chunks (all versions but `keep`)."""
        index.delete([cid for h in self.by_source.get(source, ()) for cid in self.ids[(source, h)] if h != keep])


def _moves(index: Index, held: Held, hashes: dict[str, str], todo: list[str], gone: list[str], now: float):
    """A gone file whose exact content reappears under a new name is moved, not re-embedded."""
    renamed: list[tuple[str, str]] = []
    gone_by_hash = {h: src for src in gone for h in held.by_source[src] if (src, h) in held.complete}
    for rel in list(todo):
        old = gone_by_hash.pop(hashes[rel], None)
        if old is None or rel in held.by_source:
            continue
        _move(index, held.ids[(old, hashes[rel])], rel, now)
        renamed.append((old, rel))
        todo.remove(rel)
        gone.remove(old)
    return renamed


class _Writer:
    """Chunks, embeds and writes the files to do, several files' chunks to an embedding call.

    Files are streamed one at a time; chunks from several files are embedded together, which lets the
    embedder group them by length. Reading ahead was measured and dropped: in a thread, parsing holds
    the GIL the embedder's many small torch calls wait for (1.6k chunks: 18.9 s serial, 20.5 s
    threaded); a reader process (python -m, to avoid multiprocessing re-importing the caller's main
    module) starts in about 4 s and came out 5 s slower than serial on the same 1.6k chunks. Two worker
    processes that each parse and embed on one core (the parent only writing) were measured on 10k
    chunks: 120.9 s against 125.8 s serial, 4% faster for twice the memory (each loads the model,
    about 950 MiB) and 9 s of start-up, so dropped too.
    """

    def __init__(self, index: Index, embedder: Embedder, held: Held, hashes: dict[str, str], now: float):
        self.index, self.embedder, self.held, self.hashes, self.now = index, embedder, held, hashes, now
        self.recent: OrderedDict = OrderedDict()  # vectors of recently embedded texts, see embed_distinct
        self.added: list[str] = []
        self.updated: list[str] = []

    def run(self, settings: Settings, files: dict[str, Path], todo: list[str], skipped: list, progress):
        batch: list[list[Chunk]] = []
        for n, rel in enumerate(todo):
            if progress:
                progress(n, len(todo), rel)
            result = _prepare(files[rel], rel, self.hashes[rel], settings.chunk_size, settings.chunk_overlap)
            if isinstance(result, str):
                skipped.append((rel, result))
                self.held.drop(self.index, rel)
                continue
            batch.append(result)
            if sum(map(len, batch)) >= EMBED_BATCH:
                self.write(batch)
                batch = []
        self.write(batch)
        if progress:
            progress(len(todo), len(todo), "done")
        return self.added, self.updated

    def write(self, batch: list[list[Chunk]]) -> None:
        chunks = [c for file_chunks in batch for c in file_chunks]
        if not chunks:
            return
        texts = [c.text for c in chunks]
        vectors = embed_distinct(self.embedder, texts, self.recent)
        # Add the new versions before removing the old, so a file is never missing from the index.
        self.index.add([c.id for c in chunks], vectors, texts, [c.meta(self.now) for c in chunks])
        for file_chunks in batch:
            rel = file_chunks[0].source
            self.held.drop(self.index, rel, keep=self.hashes[rel])
            (self.updated if rel in self.held.by_source else self.added).append(rel)


EMBED_BATCH = 256  # chunks embedded per call, across files


def _prepare(path: Path, rel: str, doc_hash: str, chunk_size: int, chunk_overlap: int) -> list[Chunk] | str:
    """A file's chunks, or why it is skipped."""
    try:
        doc = read_document(path)
    except SkipFile as e:
        return str(e)
    chunks = chunk_document(doc.text, rel, doc_hash, chunk_size, chunk_overlap, doc.pages, doc.tabular)
    return chunks or "no content left after removing page boilerplate"


EMBED_CACHE = 8192  # the most recently used distinct chunk texts whose vectors one sync keeps


def embed_distinct(embedder: Embedder, texts: list[str], cache: OrderedDict | None = None) -> np.ndarray:
    """Embeddings for texts, computing each distinct text once (manuals repeat notes and snippets).

    `cache` (text -> vector, least recently used first) carries vectors from one call to the next and is
    trimmed to EMBED_CACHE texts, so memory stays bounded (about 15 MiB with MiniLM). On the 100k-chunk
    benchmark corpus (95,615 chunks when chunks still overlapped, 91,212 distinct texts), repeats within
    each call alone leave 94,345 texts to embed, with the cache 91,902. An OrderedDict is all the LRU
    this needs.
    """
    if not texts:
        return embedder.embed([])
    cache = OrderedDict() if cache is None else cache
    unique = list(dict.fromkeys(texts))
    new = [t for t in unique if t not in cache]
    if new:
        # Copies: a row view would keep its whole batch's array alive for as long as the row is cached.
        cache.update((t, v.copy()) for t, v in zip(new, embedder.embed(new), strict=True))
    for t in unique:
        cache.move_to_end(t)
    vectors = np.stack([cache[t] for t in texts])
    while len(cache) > EMBED_CACHE:
        cache.popitem(last=False)
    return vectors


def _move(index: Index, ids: Iterable[str], new_source: str, now: float) -> None:
    """Re-file a renamed document's chunks under its new name, reusing the stored vectors."""
    rows = index.get(list(ids), with_vectors=True)
    new_ids, vecs, texts, metas = [], [], [], []
    for chunk, vec in rows:
        meta = dict(chunk.meta, source=new_source, indexed_at=now)
        new_ids.append(chunk_id(new_source, meta["doc_hash"], meta["chunk_index"]))
        vecs.append(vec)
        texts.append(chunk.text)
        metas.append(meta)
    index.add(new_ids, np.asarray(vecs, dtype=np.float32), texts, metas)
    index.delete([c.id for c, _ in rows])
