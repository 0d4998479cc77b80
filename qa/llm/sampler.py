"""Where qa reaches past llama-cpp-python's public API: greedy grammar-held sampling through its C API, and
the handful of private names the local backend relies on, each pinned here with why.

llama-cpp-python==0.3.36 (pyproject.toml pins it). The private names, all on `llama_cpp.Llama` unless said:
- `_input_ids`, `n_tokens`: the tokens evaluated into the context (the library matches each new prompt
  against them to reuse its cache); `_ctx.kv_cache_seq_rm`: drops cache entries past a position.
  Used by `evaluated` and `cut`, so every prompt is evaluated from the same cached start.
- `_init_sampler`: where the library builds its sampler chain; overridden to sample with GrammarFirstGreedy.
- `_model.vocab`, and a LlamaGrammar's `_grammar` and `_root`: what llama.cpp's grammar sampler is built from.
- `_sampler`: the sampler a context holds; dropped before the context closes (see `release`).
- `_ctx.ctx` (the llama_context pointer) and `input_ids`: `save_start` and `load_start` write and read the
  evaluated fixed start with llama.cpp's own sequence-state files, and tell the Llama which tokens it holds.
- A chat handler calls `create_completion(prompt=tokens, ...)` on the Llama it was given: `prompt_tokens`
  catches that call to learn which tokens a chat prompt becomes, without evaluating anything.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError


def evaluated(ctx) -> list[int]:
    """The tokens the context holds evaluated, in order."""
    return ctx._input_ids[: ctx.n_tokens].tolist()


def cut(ctx, keep: int) -> None:
    """Drop the context's cache past `keep` tokens."""
    if keep < ctx.n_tokens:
        ctx._ctx.kv_cache_seq_rm(-1, keep, -1)
        ctx.n_tokens = keep


def save_start(ctx, path: Path, tokens: list[int]) -> bool:
    """Write the context's evaluated `tokens` (all it holds) to `path` with llama.cpp's sequence-state file:
    its cache entries, bit for bit, so a context that loads them reads on exactly as this one would."""
    import llama_cpp

    ids = (llama_cpp.llama_token * len(tokens))(*tokens)
    return llama_cpp.llama_state_seq_save_file(ctx._ctx.ctx, str(path).encode(), 0, ids, len(tokens)) > 0


def load_start(ctx, path: Path, tokens: list[int]) -> bool:
    """Load `path` into an empty context when it holds exactly `tokens`; otherwise leave the context empty."""
    import llama_cpp

    out, count = (llama_cpp.llama_token * len(tokens))(), ctypes.c_size_t(0)
    read = llama_cpp.llama_state_seq_load_file(ctx._ctx.ctx, str(path).encode(), 0, out, len(tokens),
                                               ctypes.byref(count))  # fmt: skip
    if not read or count.value != len(tokens) or list(out[: count.value]) != tokens:
        ctx._ctx.kv_cache_seq_rm(-1, 0, -1)  # whatever a failed load left behind
        ctx.n_tokens = 0
        return False
    ctx.input_ids[: len(tokens)] = tokens
    ctx.n_tokens = len(tokens)
    return True


def release(ctx) -> None:
    """Close a context; a GrammarFirstGreedy frees its grammar first, while the model it reads is alive."""
    ctx._sampler = None
    ctx.close()


class _Caught(Exception):
    """Raised by the stand-in for create_completion once it has seen the prompt's tokens."""


def prompt_tokens(ctx, messages: list[dict] | None, text: str | None = None) -> list[int]:
    """The tokens the library would evaluate for chat `messages` (through the model's chat template), or for
    a plain completion `text`. Nothing is evaluated."""
    if messages is None:
        return ctx.tokenize(text.encode("utf-8"), add_bos=True, special=True)
    seen: list[int] = []

    def catch(prompt, *args, **kwargs):
        seen.extend(ctx.tokenize(prompt.encode("utf-8"), add_bos=True, special=True) if isinstance(prompt, str)
                    else prompt)  # fmt: skip
        raise _Caught

    ctx.create_completion = catch  # an instance attribute, shadowing the method for this call only
    try:
        ctx.create_chat_completion(messages=messages, max_tokens=1)
    except _Caught:
        pass
    finally:
        del ctx.create_completion
    return seen


class GrammarFirstGreedy:
    """Greedy decoding held to a grammar, with the grammar checked against the likeliest token first.

    llama-cpp-python's sampler chain runs the grammar over the whole vocabulary at every step (151,936
    tokens for Qwen: about 25 ms a token on 2 cores, a tenth of an answer's time). llama.cpp's own common
    sampler checks only the token it would pick and runs the grammar over the whole vocabulary only when
    that token breaks it; llama-cpp-python does not expose that sampler, so this does the same through its
    C API. The token chosen is the one the chain would choose: the likeliest token the grammar allows.
    """

    def __init__(self, llama, grammar, processors) -> None:
        import ctypes

        import llama_cpp

        self._c, self._ctypes = llama_cpp, ctypes
        self._llama, self._processors = llama, list(processors or ())
        self._n = llama.n_vocab()
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            raise ModelError("llama.cpp could not compile the JSON schema's grammar.")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._all = None

    def __del__(self) -> None:
        if getattr(self, "_grammar", None):
            self._c.llama_sampler_free(self._grammar)
            self._grammar = None

    def sample(self, ctx, idx: int = -1) -> int:
        row = self.logits(ctx, idx)
        for processor in self._processors:
            row = processor(self._llama._input_ids, row)
        token = self.choose(row)
        self.accept(token)
        return token

    def logits(self, ctx, idx: int = -1) -> np.ndarray:
        """The logits llama.cpp holds for position idx (the last evaluated by default): a view, valid until the
        context evaluates again. `ctx` is a llama_cpp context (Llama._ctx)."""
        logits = self._c.llama_get_logits_ith(ctx.ctx, idx)
        if not logits:
            raise ModelError(f"llama.cpp has no logits at position {idx}.")
        return np.ctypeslib.as_array(logits, shape=(self._n,))

    def choose(self, row: np.ndarray) -> int:
        """The likeliest token the grammar allows next."""
        token = int(np.argmax(row))
        return token if self._allows(token, float(row[token])) else self._best_allowed(row)

    def accept(self, token: int) -> None:
        """Advance the grammar past a token (chosen, or fixed text the caller evaluates itself)."""
        self._c.llama_sampler_accept(self._grammar, token)

    def _apply(self, data, size: int) -> None:
        ptr = self._ctypes.cast(data, self._c.llama_token_data_p)
        arr = self._c.llama_token_data_array(data=ptr, size=size, selected=-1, sorted=False)
        self._c.llama_sampler_apply(self._grammar, self._ctypes.byref(arr))

    def _allows(self, token: int, logit: float) -> bool:
        self._one[0].id, self._one[0].logit, self._one[0].p = token, logit, 0.0
        self._apply(self._one, 1)
        return self._one[0].logit != -np.inf

    def _best_allowed(self, row: np.ndarray) -> int:
        if self._all is None:  # the grammar only lowers logits, so the ids stay in place between steps
            self._all = (self._c.llama_token_data * self._n)()
            np.ctypeslib.as_array(self._all)["id"] = np.arange(self._n)
        view = np.ctypeslib.as_array(self._all)
        view["logit"], view["p"] = row, 0.0
        self._apply(self._all, self._n)
        return int(view["id"][int(np.argmax(view["logit"]))])


def json_grammar(schema: str):
    """The grammar llama-cpp-python builds for a JSON schema (as its chat completion does for response_format)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema, verbose=False)


@lru_cache(maxsize=1)
def llama_class():
    """llama-cpp-python's Llama, sampling greedy grammar-held replies with GrammarFirstGreedy; any other
    sampling (temperature, penalties, mirostat) keeps the library's own chain."""
    from llama_cpp import Llama

    class _Llama(Llama):
        def _init_sampler(self, **kw):
            plain = (
                kw.get("temp") == 0.0
                and kw.get("mirostat_mode", 0) == 0
                and kw.get("repeat_penalty", 1.0) == 1.0
                and not kw.get("frequency_penalty")
                and not kw.get("presence_penalty")
            )
            if plain and kw.get("grammar") is not None:
                return GrammarFirstGreedy(self, kw["grammar"], kw.get("logits_processor"))
            return super()._init_sampler(**kw)

    return _Llama
