"""The local backend: a GGUF model run in-process by llama-cpp-python; JSON schemas become grammars."""

from __future__ import annotations

import atexit
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BackendError, ModelError
from . import sampler
from .types import TOP_ALTERNATIVES, Prompt, Stream, Token

PROBES = ("a", "b")  # two user turns that differ at once: their prompts' common start is the fixed start


class LlamaCppLLM:
    """A GGUF model in-process. Every prompt is evaluated from its kind's fixed start (system prompt and worked
    examples), kept evaluated in a llama.cpp context, so no reply depends on which prompt came before it."""

    CONTEXTS = 2  # llama.cpp contexts, each keeping the evaluated start of one kind of prompt (reader, rewrite)

    def __init__(self, path: Path, chat: bool, threads: int = 2, n_ctx: int = 4096) -> None:
        self.path, self.chat, self.threads, self.n_ctx = path, chat, threads, n_ctx
        self.name = path.name
        self._llm = None
        # Fixed start (Prompt.fixed) -> context, least recently used first. llama.cpp reuses the longest prefix
        # a context has already evaluated; with one context a follow-up's rewrite prompt would evict the
        # reader's long fixed start (instructions and examples) and the reader would pay for it again.
        self._contexts: dict[tuple, object] = {}
        self._anchors: dict[tuple, list[int]] = {}  # fixed start -> its tokens (see _from_anchor)
        # llama.cpp contexts are not safe to use from two threads at once; the app serves many users.
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._llm is not None:
            return
        if not self.path.is_file():
            raise ModelError(f"GGUF model file {self.path} does not exist.")
        self._llm = self._load()
        # Free the model before interpreter teardown; llama.cpp's own finaliser fails that late.
        atexit.register(self.close)

    def _load(self):
        try:
            return sampler.llama_class()(
                model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads, verbose=False, seed=0
            )
        except Exception as e:  # noqa: BLE001 - llama.cpp raises plain ValueError/RuntimeError
            raise ModelError(f"Could not load GGUF model {self.path}: {e}") from e

    def _context(self, fixed: tuple):
        """The context for prompts with this fixed start: its own, a new one, or the least recently used."""
        ctx = self._contexts.pop(fixed, None)
        if ctx is None:
            if not self._contexts:
                ctx = self._llm
            elif len(self._contexts) < self.CONTEXTS:
                ctx = self._load()  # the weights are memory-mapped, so a second context shares them
            else:
                oldest = next(iter(self._contexts))
                ctx = self._contexts.pop(oldest)
        self._contexts[fixed] = ctx
        return ctx

    def anchor(self, ctx, prompt: Prompt) -> list[int]:
        """The tokens of the prompt's fixed start: where two prompts that differ only in the user's turn part."""
        if prompt.fixed not in self._anchors:
            a, b = (self._tokens(ctx, prompt.with_user(p)) for p in PROBES)
            self._anchors[prompt.fixed] = a[: ctx.longest_token_prefix(a, b)]
        return self._anchors[prompt.fixed]

    def _tokens(self, ctx, prompt: Prompt) -> list[int]:
        return sampler.prompt_tokens(ctx, prompt.messages if self.chat else None, prompt.completion)

    def _from_anchor(self, ctx, anchor: list[int]) -> None:
        """Leave the context holding exactly the fixed start, evaluated on its own.

        Left in place, the last prompt's tokens are reused as far as they match the next one, and how much
        matched changes the numbers enough to flip an answer: the same question could get another answer after
        another question. The fixed start is evaluated alone (never as part of a longer prompt) and every
        prompt's own part is evaluated after it, so a question's reply is the same whatever came before.
        """
        have = sampler.evaluated(ctx)
        if ctx.longest_token_prefix(have, anchor) < len(anchor):
            sampler.cut(ctx, 0)
            ctx.eval(anchor)
        else:
            sampler.cut(ctx, len(anchor))

    def close(self) -> None:
        for ctx in {id(c): c for c in [self._llm, *self._contexts.values()] if c is not None}.values():
            sampler.release(ctx)
        self._llm, self._contexts, self._anchors = None, {}, {}

    def stream(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Stream:
        self.warm_up()
        steps: list[np.ndarray] = []
        chosen: list[int] = []
        pieces: list[str] = []

        # llama-cpp-python gives log-probabilities only with logits_all=True, which keeps a vocabulary-sized
        # row for every prompt token (151k x 4k floats for Qwen); a logits processor sees each step's row
        # before sampling instead. Step t's input ends with the token chosen at step t-1.
        def record(input_ids, scores):
            if steps:
                chosen.append(int(input_ids[-1]))
            steps.append(scores.copy())
            return scores

        kwargs = dict(max_tokens=max_tokens, temperature=0.0, logits_processor=[record], stream=True)
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}

        def tokens():
            with self._lock:
                ctx = self._context(prompt.fixed)
                anchor = self.anchor(ctx, prompt)
                self._from_anchor(ctx, anchor)
                try:
                    if self.chat:
                        chunks = ctx.create_chat_completion(messages=prompt.messages, **kwargs)
                    else:
                        chunks = ctx.create_completion(prompt.completion, stop=["\n\n"], **kwargs)
                    done = 0
                    for chunk in chunks:
                        choice = chunk["choices"][0]
                        pieces.append((choice["delta"].get("content") if self.chat else choice["text"]) or "")
                        yield from self._tokens_so_far(chosen, steps, done)
                        done = len(chosen)
                    yield from self._tokens_so_far(chosen, steps, done)
                except (ValueError, RuntimeError) as e:  # llama.cpp's own failures (a prompt past n_ctx, ...)
                    raise BackendError(f"The local model failed: {e}") from e
                finally:
                    sampler.cut(ctx, len(anchor))

        return Stream(tokens(), lambda seen: ("".join(pieces), tuple(seen)))

    def generate(self, prompt: Prompt, max_tokens: int, schema: dict | None = None):
        return self.stream(prompt, max_tokens, schema).generation()

    def _tokens_so_far(self, chosen: list[int], steps: list[np.ndarray], done: int):
        for i in range(done, len(chosen)):
            yield self._token(chosen[i], steps[i])

    def _token(self, tid: int, row: np.ndarray) -> Token:
        logp = row - (row.max() + np.log(np.exp(row - row.max()).sum()))
        top = np.argpartition(-logp, TOP_ALTERNATIVES)[:TOP_ALTERNATIVES]
        top = top[np.argsort(-logp[top])]
        return Token(self._piece(tid), float(logp[tid]), tuple((self._piece(int(i)), float(logp[i])) for i in top))

    @lru_cache(maxsize=65536)  # noqa: B019 - one model object per process; pieces never change
    def _piece(self, tid: int) -> str:
        return self._llm.detokenize([tid]).decode("utf-8", errors="replace")
