"""The LLM backends by name: `local` (a bundled GGUF), `gguf` (any GGUF by path), `openai` (any
OpenAI-compatible server) and `extractive` (no LLM); a package adds one with an entry point in the group
`qa.llm` whose object is a qa.plugins.Backend."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, ModelError
from ..plugins import Backend, choose, names
from .types import LLM

GROUP = "qa.llm"


def _local(settings: Settings) -> LLM:
    from ..bundled import DEFAULT_READER, bundled
    from .llamacpp import LlamaCppLLM

    model = bundled(settings.llm_model or DEFAULT_READER)
    return LlamaCppLLM(model.path(), model.chat, settings.llm_threads, state_dir=settings.llm_state_dir)


def _gguf(settings: Settings) -> LLM:
    from .llamacpp import LlamaCppLLM

    if not settings.llm_model:
        raise ConfigError("The 'gguf' backend needs a model: the path of a .gguf file (QA_LLM_MODEL).")
    path = Path(settings.llm_model).expanduser()
    if not path.is_file():
        raise ModelError(f"GGUF model file {path} does not exist.")
    name = path.name.lower()
    chat = any(k in name for k in ("instruct", "chat", "-it"))
    return LlamaCppLLM(path, chat, settings.llm_threads, state_dir=settings.llm_state_dir)


def _openai(settings: Settings) -> LLM:
    from .remote import OpenAILLM

    if not settings.llm_url or not settings.llm_model:
        raise ConfigError(
            "The 'openai' backend needs the server's URL (its /v1 address; QA_LLM_URL) and a model name "
            "(QA_LLM_MODEL)."
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAILLM(settings.llm_url, settings.llm_model, key, settings.llm_timeout)


def _model_key(settings: Settings) -> tuple:
    return (settings.llm_model, settings.llm_threads, settings.llm_state_dir)


BUILT_IN: dict[str, Backend] = {
    "local": Backend("local", _local, shared=True, key=_model_key),
    "gguf": Backend("gguf", _gguf, shared=True, key=_model_key),
    # A client is cheap and holds the user's key: each engine that asks gets its own.
    "openai": Backend("openai", _openai, shared=False),
    "extractive": Backend("extractive", lambda settings: None, shared=True),
}


def backends() -> list[str]:
    """Every backend's name: the built-in ones and those installed packages add (group `qa.llm`)."""
    return names(GROUP, BUILT_IN)


def backend(settings: Settings) -> Backend:
    """The backend record the settings name."""
    return choose(GROUP, BUILT_IN, settings.llm, "QA_LLM")


def make_llm(settings: Settings) -> LLM | None:
    """The LLM the settings ask for; None means extractive answers only."""
    return backend(settings).build(settings)
