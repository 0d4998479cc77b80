"""The local backend's contexts: each kind of prompt keeps its own, so its evaluated start is reused."""

from pathlib import Path

from qa.llm import LlamaCppLLM


class _Ctx:
    closed = 0

    def close(self):
        _Ctx.closed += 1


def test_each_system_prompt_keeps_a_context_and_no_more_than_two_are_loaded(monkeypatch):
    llm = LlamaCppLLM(Path("model.gguf"), chat=True)
    loads = []
    monkeypatch.setattr(llm, "_load", lambda: loads.append(_Ctx()) or loads[-1])
    llm._llm = llm._load()
    reader, rewrite = llm._context("reader"), llm._context("rewrite")
    assert reader is llm._llm and rewrite is not reader and len(loads) == 2
    assert llm._context("reader") is reader and llm._context("rewrite") is rewrite
    # A third kind takes the least recently used context instead of loading another model.
    assert llm._context("other") is reader and len(loads) == 2
    assert llm._context("rewrite") is rewrite
    _Ctx.closed = 0
    llm.close()
    assert _Ctx.closed == 2 and llm._llm is None
