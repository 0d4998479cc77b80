"""The local backend: its contexts (each kind of prompt keeps its own, so its evaluated start is reused) and its
grammar-held greedy sampling."""

from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
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
    """A llama.cpp context as the backend sees it: the evaluated tokens, their count, and the cache."""

    def __init__(self):
        self._input_ids, self.n_tokens, self.cut, self.evals = np.array([], dtype=int), 0, [], []
        self._ctx = self

    def run(self, ids):  # what the library does for a prompt: evaluate past what it can reuse
        keep = self.longest_token_prefix(self._input_ids[: self.n_tokens].tolist(), ids)
        self.eval(ids[keep:], start=keep)

    def eval(self, ids, start=None):
        start = self.n_tokens if start is None else start
        self.evals.append((start, list(ids)))
        self._input_ids = np.array(self._input_ids[:start].tolist() + list(ids))
        self.n_tokens = len(self._input_ids)

    @staticmethod
    def longest_token_prefix(a, b):
        from llama_cpp import Llama

        return Llama.longest_token_prefix(a, b)

    def kv_cache_seq_rm(self, seq, p0, p1):
        self.cut.append(p0)


def test_every_prompt_starts_from_its_fixed_start_evaluated_alone():
    llm = LlamaCppLLM(Path("model.gguf"), chat=True)
    ctx, anchor = _Cached(), [1, 2, 3]
    llm._from_anchor(ctx, anchor)  # a new context: the fixed start is evaluated on its own first
    assert ctx.evals == [(0, [1, 2, 3])]
    ctx.run([1, 2, 3, 4, 5, 6])  # a question: only its own part is evaluated
    from qa.llm import sampler

    sampler.cut(ctx, len(anchor))
    assert ctx.n_tokens == 3 and ctx.cut == [3] and ctx.evals[-1] == (3, [4, 5, 6])
    llm._from_anchor(ctx, anchor)  # the next question finds the fixed start, and nothing else, in place
    ctx.run([1, 2, 3, 4, 5, 7])
    assert ctx.evals[-1] == (3, [4, 5, 7]) and len(ctx.evals) == 3
    # Whatever the context held before (another kind of prompt), it goes back to the fixed start alone.
    ctx.eval([9, 9, 9, 9], start=0)
    llm._from_anchor(ctx, anchor)
    assert ctx.evals[-1] == (0, [1, 2, 3]) and ctx.n_tokens == 3


def test_the_fixed_start_is_where_two_prompts_differing_in_the_user_turn_part(monkeypatch):
    from qa.llm import Prompt, sampler

    llm = LlamaCppLLM(Path("model.gguf"), chat=True)
    monkeypatch.setattr(sampler, "prompt_tokens",
                        lambda ctx, messages, text: [7, 8, 9] + [ord(c) for c in messages[-1]["content"]] + [0])
    ctx = _Cached()
    assert llm.anchor(ctx, Prompt("system", "How old?")) == [7, 8, 9]


@pytest.mark.slow
def test_the_same_question_gets_the_same_reading_whatever_was_asked_before():
    """Real model, never warmed up or primed: the reply and its token confidences do not depend on the previous
    prompt, nor on which question came first."""
    from qa.config import Settings
    from qa.evidence import Sentence
    from qa.llm import make_llm
    from qa.reader import read

    def evidence(*texts):
        return [Sentence(f"s{i}.txt", "", t, 0, len(t), f"c{i}", i) for i, t in enumerate(texts)]

    llm = make_llm(Settings(llm="local"))
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

    from qa.bundled import DEFAULT_READER, bundled
    from qa.llm import Prompt, llamacpp
    from qa.llm import sampler as backend
    from qa.reader import INSTRUCTIONS, SCHEMA, SHOTS, user_turn

    class LibraryChain(LlamaCppLLM):
        def _load(self):  # LlamaCppLLM's own loading, with llama-cpp-python's Llama and its sampler chain
            with pytest.MonkeyPatch.context() as m:
                m.setattr(backend, "llama_class", lambda: Llama)
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
    monkeypatch.setattr(llamacpp, "layout", lambda schema: None)  # every token decoded, as the library does
    try:
        for prompt, schema in prompts:
            assert ours.generate(prompt, 24, schema) == library.generate(prompt, 24, schema)
        assert all(type(c) is Llama for c in library._contexts.values())
        assert not any(type(c) is Llama for c in ours._contexts.values())
    finally:
        ours.close()
        library.close()
    assert overruled, "the second prompt should make the grammar overrule the model's first choice"


@pytest.mark.slow
def test_an_engine_that_was_never_warmed_up_answers_a_question_the_same_before_and_after_another(settings):
    """Real model and embedder over the seeds, no warm_up: the question asked first does not become the cache's
    rewind point (the old rule kept the first prompt evaluated, reply and all, as the start every later prompt
    was cut back to). After every answer the reader's context holds exactly its fixed start, and the same
    question gets the same answer, confidence included, whatever was asked before it."""
    from qa.llm import make_llm, sampler
    from qa.pipeline import Engine

    s = settings.model_copy(update={"llm": "local"})
    engine = Engine(s, llm=make_llm(s))
    q1, q2 = "How old was Baby P's mother?", "Who is the Ofsted chief inspector?"

    def held():
        (fixed, ctx), = engine.llm._contexts.items()
        return sampler.evaluated(ctx), engine.llm._anchors[fixed]

    first = engine.answer(q1)
    tokens, anchor = held()
    assert tokens == anchor and 100 < len(anchor)
    engine.answer(q2)
    assert held()[0] == anchor
    again = engine.answer(q1)
    assert held()[0] == anchor
    assert (again.text, again.refused, again.citations) == (first.text, first.refused, first.citations)
    assert again.trace.signals == first.trace.signals and again.trace.confidence == first.trace.confidence


def test_a_llama_cpp_failure_is_a_backend_error_and_the_cache_goes_back_to_the_fixed_start(monkeypatch):
    """A prompt llama.cpp refuses (past the context, say) reaches the answerer as BackendError, whose fallback
    keeps the user's answer; the context is left holding its fixed start."""
    from qa.errors import BackendError
    from qa.llm import Prompt

    llm = LlamaCppLLM(Path("model.gguf"), chat=True)
    ctx = _Cached()

    def refuse(**kwargs):
        raise ValueError("Requested tokens (5000) exceed context window of 4096")

    ctx.create_chat_completion = refuse
    llm._llm = ctx
    monkeypatch.setattr(llm, "warm_up", lambda: None)
    monkeypatch.setattr(llm, "anchor", lambda c, p: [1, 2, 3])
    with pytest.raises(BackendError, match="exceed context window"):
        llm.generate(Prompt("system", "question"), 8)
    assert ctx.n_tokens == 3 and ctx.evals == [(0, [1, 2, 3])]


def test_a_flat_schema_has_a_layout_of_fixed_keys_and_any_other_has_none():
    from qa.llm.llamacpp import layout
    from qa.reader import SCHEMA
    from qa.rewrite import CONDENSE_SCHEMA

    assert layout(SCHEMA) == (('{"answer":', "string"), (', "sentence":', "integer"))
    assert layout(CONDENSE_SCHEMA) == (('{"question":', "string"),)
    nested = {"type": "object", "properties": {"a": {"type": "object"}}, "required": ["a"]}
    optional = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]}
    bounded = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}, "required": ["a"]}
    assert layout(None) is layout({"type": "array"}) is layout(nested) is layout(optional) is layout(bounded) is None


def test_the_fixed_text_comes_once_each_value_ends_and_a_reply_laid_out_otherwise_is_left_to_the_grammar():
    from qa.llm.llamacpp import _Layout, layout
    from qa.reader import SCHEMA

    state, text = _Layout(layout(SCHEMA)), ""
    steps = []
    for piece in ["", ' "', "He said", ' \\"no\\"', '",', " ", "2", "}"]:
        text += piece
        literal = state.next_literal(text)
        steps.append(literal)
        text += literal
    assert steps == ['{"answer":', "", "", "", ' "sentence":', "", "", ""]
    assert text == '{"answer": "He said \\"no\\"", "sentence": 2}' and state.finished
    # An integer ends where something else follows it; a comma the model wrote itself is not added again.
    state = _Layout(layout(SCHEMA))
    assert state.next_literal("") == '{"answer":'
    assert state.next_literal('{"answer": ""') == ', "sentence":'
    assert state.next_literal('{"answer": "", "sentence": 1') == "" and not state.finished
    assert state.next_literal('{"answer": "", "sentence": 12}') == "" and state.finished
    # Other whitespace than json.dumps's: nothing more is added, and the reply is not taken as finished.
    state = _Layout(layout(SCHEMA))
    state.next_literal("")
    assert state.next_literal('{"answer": "x"\n') == "" and state.free and not state.finished
    assert state.next_literal('{"answer": "x"\n, "sentence": 1}') == ""


@pytest.mark.slow
def test_evaluating_a_replys_fixed_keys_in_batches_writes_the_same_reply_in_fewer_steps(monkeypatch):
    """Real model: a reply held to the reader's schema (and to a one-key schema) is the same JSON, with the same
    confidences to a small tolerance (batches round differently), whether its fixed keys are evaluated with the
    prompt and with the token before them or decoded one token at a time, and takes at least six fewer
    evaluations of the model."""
    from llama_cpp import Llama

    from qa.bundled import DEFAULT_READER, bundled
    from qa.errors import BackendError
    from qa.llm import Prompt, llamacpp
    from qa.reader import INSTRUCTIONS, SCHEMA, SHOTS, parse, user_turn
    from qa.rewrite import CONDENSE_SCHEMA

    evals = []
    real_eval = Llama.eval
    monkeypatch.setattr(Llama, "eval", lambda self, tokens: evals.append(len(tokens)) or real_eval(self, tokens))
    llm = LlamaCppLLM(bundled(DEFAULT_READER).path(), chat=True)
    sentences = ["The tower was designed by Ana Ruiz in 1961.", "It is 80 metres tall."]
    prompts = [
        (Prompt(INSTRUCTIONS, user_turn("Who designed it?", sentences), SHOTS), SCHEMA),
        (Prompt(INSTRUCTIONS, user_turn("Who painted it?", sentences), SHOTS), SCHEMA),
        (Prompt("Rewrite the question as JSON.", "Question: how tall is it"), CONDENSE_SCHEMA),
    ]
    try:
        for prompt, schema in prompts:
            llm.generate(prompt, 1, schema)  # the fixed start, evaluated once
            evals.clear()
            fast = llm.generate(prompt, 32, schema)
            batched = len(evals)
            with monkeypatch.context() as m:
                m.setattr(llamacpp, "layout", lambda s: None)
                evals.clear()
                slow = llm.generate(prompt, 32, schema)
                stepped = len(evals)
            assert fast.text == slow.text and fast.text.endswith("}")
            assert [t.text for t in fast.tokens] == [t.text for t in slow.tokens]
            for f, s in zip(fast.tokens, slow.tokens, strict=True):
                assert f.logprob is None or abs(f.logprob - s.logprob) < 0.05, (f, s)
            assert batched <= stepped - (6 if schema is SCHEMA else 3), (batched, stepped)
            if schema is SCHEMA:
                a, b = parse(fast), parse(slow)
                assert (a.answer, a.sentence) == (b.answer, b.sentence)
                assert abs(a.none_prob - b.none_prob) < 0.05
        # A prompt past the context is the backend's error, as on the library's path, and nothing is evaluated.
        long = Prompt(INSTRUCTIONS, user_turn("Who?", ["word " * 5000]), SHOTS)
        evals.clear()
        with pytest.raises(BackendError, match="exceed context window"):
            llm.generate(long, 8, SCHEMA)
        assert evals == []
    finally:
        llm.close()


@pytest.mark.slow
def test_a_new_process_loads_the_evaluated_fixed_start_and_reads_exactly_as_if_it_had_evaluated_it(
        monkeypatch, tmp_path):  # fmt: skip
    """Real model: the first instance evaluates the fixed start and writes it to the state folder; a second
    (as in a new process) loads it instead of evaluating it, and its reply, token by token with the same
    probabilities, is the first one's. A damaged file is evaluated again and written anew."""
    from llama_cpp import Llama

    from qa.bundled import DEFAULT_READER, bundled
    from qa.llm import Prompt
    from qa.reader import INSTRUCTIONS, SCHEMA, user_turn

    evals = []
    real_eval = Llama.eval
    monkeypatch.setattr(Llama, "eval", lambda self, tokens: evals.append(len(tokens)) or real_eval(self, tokens))
    path = bundled(DEFAULT_READER).path()
    prompt = Prompt(INSTRUCTIONS, user_turn("Who designed it?", ["The tower was designed by Ana Ruiz in 1961."]))

    def reply():
        llm = LlamaCppLLM(path, chat=True, state_dir=tmp_path / "state")
        evals.clear()
        try:
            gen = llm.generate(prompt, 24, SCHEMA)
            return gen, len(llm.anchor(llm._llm, prompt)), list(evals)
        finally:
            llm.close()

    first, fixed, evaluated = reply()
    assert fixed > 50 and evaluated[0] == fixed  # the fixed start, evaluated on its own
    (state,) = (tmp_path / "state").glob("*.state")
    size = state.stat().st_size
    second, _, loaded = reply()
    assert fixed not in loaded and sum(loaded) < sum(evaluated) - fixed + 1
    assert second.text == first.text and '"Ana Ruiz"' in first.text
    assert [(t.text, t.logprob) for t in second.tokens] == [(t.text, t.logprob) for t in first.tokens]

    state.write_bytes(state.read_bytes()[:1000])  # cut short: a disk filled up mid-write, say
    third, _, again = reply()
    assert again[0] == fixed and third.text == first.text
    assert state.stat().st_size == size


@pytest.mark.parametrize("value", ["", "off", "None"])
def test_an_empty_or_off_state_dir_keeps_nothing_on_disk(monkeypatch, tmp_path, value):
    """QA_LLM_STATE_DIR empty or "off" turns the kept fixed start off: read as a path, an empty value would be
    the working folder, and every run would leave 25 MB state files wherever qa was started."""
    from qa.llm.registry import BUILT_IN

    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")  # named, never loaded
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_LLM_STATE_DIR", value)
    settings = Settings(llm="gguf", llm_model=str(model))
    assert settings.llm_state_dir is None
    llm = BUILT_IN["gguf"].build(settings)
    assert llm.state_dir is None and llm._state_file([1, 2, 3]) is None
    monkeypatch.setenv("QA_LLM_STATE_DIR", str(tmp_path / "kept"))
    kept = BUILT_IN["gguf"].build(Settings(llm="gguf", llm_model=str(model)))
    assert kept._state_file([1, 2, 3]).parent == tmp_path / "kept"
