"""LLM backends behind one small interface (types.py), chosen from one registry (registry.py): the local
llama.cpp backend (llamacpp.py, with sampler.py holding every reach into llama-cpp-python's private names)
and any OpenAI-compatible server (remote.py)."""

from .registry import Backend, backend, backends, make_llm
from .types import LLM, TOP_ALTERNATIVES, Generation, Prompt, Stream, Token


def __getattr__(name: str):
    # The backends' classes import their client libraries; load them only when asked for.
    if name == "LlamaCppLLM":
        from .llamacpp import LlamaCppLLM

        return LlamaCppLLM
    if name == "OpenAILLM":
        from .remote import OpenAILLM

        return OpenAILLM
    raise AttributeError(name)


__all__ = ["LLM", "TOP_ALTERNATIVES", "Backend", "Generation", "LlamaCppLLM", "OpenAILLM", "Prompt", "Stream",
           "Token", "backend", "backends", "make_llm"]  # fmt: skip
