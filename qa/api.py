"""The public API: `from qa import answer, ingest`. One engine per configuration per process, built
once, with models shared between engines that use the same ones."""

from __future__ import annotations

import threading
from pathlib import Path

from .answer import Answer, History
from .config import Settings
from .embed import make_embedder
from .ingest import IngestReport, Progress
from .llm import make_llm
from .pipeline import Engine

_models: dict[tuple, object] = {}
_lock = threading.Lock()
_engines: dict[tuple, Engine] = {}


def _shared(key: tuple, make):
    """One instance per key per process: models load once."""
    with _lock:
        if key not in _models:
            _models[key] = make()
        return _models[key]


def engine_for(settings: Settings) -> Engine:
    """The process-wide engine for these settings (built once)."""
    key = (settings.index_key(), str(settings.docs_dir.resolve()), settings.llm, settings.llm_model,
           settings.llm_url, settings.top_k, settings.candidates)  # fmt: skip
    with _lock:
        engine = _engines.get(key)
    if engine is not None:
        return engine
    # Models are built only for a new engine; an OpenAI client is cheap and holds a key, so it is not shared.
    embedder = _shared(("embed", settings.embed_model), lambda: make_embedder(settings.embed_model))
    llm = (
        make_llm(settings)
        if settings.llm == "openai"
        else _shared(("llm", settings.llm, settings.llm_model), lambda: make_llm(settings))
    )
    with _lock:
        return _engines.setdefault(key, Engine(settings, embedder=embedder, llm=llm))


def answer(question: str, history: History = (), settings: Settings | None = None) -> Answer:
    """Answer a question from the documents (the public API: `from qa import answer`)."""
    return engine_for(settings or Settings()).answer(question, history)


def ingest(
    docs_dir=None, settings: Settings | None = None, progress: Progress | None = None, rebuild: bool = False
) -> IngestReport:
    """Index a folder of documents incrementally (the public API: `from qa import ingest`)."""
    settings = settings or Settings()
    if docs_dir is not None:
        settings = settings.model_copy(update={"docs_dir": Path(docs_dir)})
    return engine_for(settings).ingest(progress=progress, rebuild=rebuild)
