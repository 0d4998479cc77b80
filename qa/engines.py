"""The public API behind `from qa import answer, answer_stream, ingest`. One engine per index per process,
built once; models shared between engines and requests that use the same ones (as each backend's record
allows)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path

from .answer import Answer, Event, History
from .config import Settings
from .embed import make_embedder, resolve
from .ingest import IngestReport, Progress
from .llm import LLM, backend
from .pipeline import Engine, Options

_lock = threading.RLock()  # re-entered: an engine is made while its models are looked up
_models: dict[Hashable, object] = {}
_engines: dict[Hashable, Engine] = {}


def _once(cache: dict, key: Hashable, make: Callable[[], object]):
    """One instance per key per process (made under the lock, so a model is never loaded twice)."""
    with _lock:
        if key not in cache:
            cache[key] = make()
        return cache[key]


def llm_for(settings: Settings) -> LLM | None:
    """The LLM these settings ask for: shared where its backend allows, else one for these exact settings."""
    b = backend(settings)
    secret = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    key = (b.name, b.key(settings)) if b.shared else (b.name, settings.llm_url, settings.llm_model, secret,
                                                       settings.llm_timeout)  # fmt: skip
    return _once(_models, ("llm", key), lambda: b.build(settings))


def engine_for(settings: Settings) -> Engine:
    """The process-wide engine for the index these settings name (built once), with their LLM as its default."""
    key = (settings.index_key(), str(settings.docs_dir.resolve()))
    embed = resolve(settings.embed_model)

    def make() -> Engine:
        embedder = _once(_models, ("embed", embed), lambda: make_embedder(embed, settings))
        return Engine(settings, embedder=embedder, llm=llm_for(settings))

    return _once(_engines, key, make)


def answer(question: str, history: History = (), settings: Settings | None = None,
           sources: Sequence[str] | None = None) -> Answer:  # fmt: skip
    """Answer a question from the documents (the public API: `from qa import answer`); `sources` limits it
    to those documents (names as the index lists them), all of them by default."""
    settings = settings or Settings()
    return engine_for(settings).answer(question, history, Options.of(settings, llm_for(settings), sources))


def answer_stream(question: str, history: History = (), settings: Settings | None = None,
                  sources: Sequence[str] | None = None) -> Iterator[Event]:  # fmt: skip
    """Answer a question as a stream of events (`status`, `claim` as each is verified, last `answer`)."""
    settings = settings or Settings()
    return engine_for(settings).answer_stream(question, history, Options.of(settings, llm_for(settings), sources))


def ingest(
    docs_dir=None, settings: Settings | None = None, progress: Progress | None = None, rebuild: bool = False
) -> IngestReport:
    """Index a folder of documents incrementally (the public API: `from qa import ingest`)."""
    settings = settings or Settings()
    if docs_dir is not None:
        settings = settings.model_copy(update={"docs_dir": Path(docs_dir)})
    return engine_for(settings).ingest(progress=progress, rebuild=rebuild)
