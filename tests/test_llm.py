"""The local backend: its contexts (each kind of prompt keeps its own, so its evaluated start is reused) and its
grammar-held greedy sampling."""

from pathlib import Path

import pytest

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


class _Cached:
    """A llama.cpp context as _rewind sees it: the evaluated tokens, their count, and the cache."""

    def __init__(self):
        self.buffer, self.n_tokens, self.cut = [], 0, []
        self._ctx = self

    def evaluate(self, ids):
        self.buffer, self.n_tokens = list(ids), len(ids)

    @property
    def _input_ids(self):
        import numpy as np

        return np.array(self.buffer[: self.n_tokens])

    @staticmethod
    def longest_token_prefix(a, b):
        from llama_cpp import Llama

        return Llama.longest_token_prefix(a, b)

    def kv_cache_seq_rm(self, seq, p0, p1):
        self.cut.append(p0)


def test_after_each_prompt_the_cache_is_cut_back_to_the_start_all_prompts_share():
    llm = LlamaCppLLM(Path("model.gguf"), chat=True)
    ctx = _Cached()
    ctx.evaluate([1, 2, 3, 9, 9])  # the first prompt of this kind (prime's) anchors the shared start
    llm._rewind(ctx, "reader")
    assert ctx.n_tokens == 5 and ctx.cut == []
    ctx.evaluate([1, 2, 3, 4, 5, 6])  # a question: its own part is dropped, the shared start kept
    llm._rewind(ctx, "reader")
    assert ctx.n_tokens == 3 and ctx.cut == [3]
    ctx.evaluate([1, 2, 3, 7, 8])
    llm._rewind(ctx, "reader")
    assert ctx.n_tokens == 3 and ctx.cut == [3, 3]


@pytest.mark.slow
def test_the_same_question_gets_the_same_reading_whatever_was_asked_before():
    """Real model: the reply and its token confidences do not depend on the previous prompt."""
    from qa.config import Settings
    from qa.evidence import Sentence
    from qa.llm import make_llm
    from qa.reader import prime, read

    def evidence(*texts):
        return [Sentence(f"s{i}.txt", "", t, 0, len(t), f"c{i}", i) for i, t in enumerate(texts)]

    llm = make_llm(Settings(llm="local"))
    prime(llm)
    ages = evidence("The girl's aunt, who is 41, was interviewed.", "Her cousin, 19, was not.")
    other = evidence("The ferry to Lundy leaves at nine.", "Tickets cost twelve pounds for adults.")
    first = read(llm, "How old was the aunt?", ages)
    read(llm, "What do adult tickets cost?", other)
    again = read(llm, "How old was the aunt?", ages)
    assert first == again and first.answer


@pytest.mark.slow
def test_checking_the_grammar_on_the_likeliest_token_first_picks_what_the_library_chain_picks(monkeypatch):
    """Real model: GrammarFirstGreedy writes the same tokens, with the same confidences, as llama-cpp-python's
    own sampler chain, both where the likeliest token fits the schema and where it does not (a prompt that
    does not ask for JSON, so the grammar has to overrule the model's first choice)."""
    from llama_cpp import Llama

    from qa import llm as backend
    from qa.bundled import DEFAULT_READER, bundled
    from qa.llm import Prompt
    from qa.reader import INSTRUCTIONS, SCHEMA, SHOTS, user_turn

    class LibraryChain(LlamaCppLLM):
        def _load(self):  # LlamaCppLLM's own loading, with llama-cpp-python's Llama and its sampler chain
            with pytest.MonkeyPatch.context() as m:
                m.setattr(backend, "_llama_class", lambda: Llama)
                return super()._load()

    path = bundled(DEFAULT_READER).path()
    ours, library = LlamaCppLLM(path, chat=True), LibraryChain(path, chat=True)
    greeting = {"type": "object", "properties": {"greeting": {"type": "string"}}, "required": ["greeting"]}
    prompts = [
        (
            Prompt(
                INSTRUCTIONS, user_turn("Who designed it?", ["The tower was designed by Ana Ruiz in 1961."]), SHOTS
            ),
            SCHEMA,
        ),
        (Prompt("You are a friendly assistant.", "Say hello to Ann in a sentence."), greeting),
    ]
    overruled = []
    first_choice = backend.GrammarFirstGreedy._best_allowed

    def spy(self, row):
        overruled.append(1)
        return first_choice(self, row)

    monkeypatch.setattr(backend.GrammarFirstGreedy, "_best_allowed", spy)
    try:
        for prompt, schema in prompts:
            assert ours.generate(prompt, 24, schema) == library.generate(prompt, 24, schema)
        assert all(type(c) is Llama for c in library._contexts.values())
        assert not any(type(c) is Llama for c in ours._contexts.values())
    finally:
        ours.close()
        library.close()
    assert overruled, "the second prompt should make the grammar overrule the model's first choice"
