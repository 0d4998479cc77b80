"""The local backend: a GGUF model run in-process by llama-cpp-python; JSON schemas become grammars."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BackendError, ModelError
from . import sampler
from .types import TOP_ALTERNATIVES, Prompt, Stream, Token

KEEP_STATES = 8  # evaluated fixed starts kept on disk (two kinds of prompt for each model used)
PROBES = ("a", "b")  # two user turns that differ at once: their prompts' common start is the fixed start


class LlamaCppLLM:
    """A GGUF model in-process. Every prompt is evaluated from its kind's fixed start (system prompt and worked
    examples), kept evaluated in a llama.cpp context, so no reply depends on which prompt came before it."""

    CONTEXTS = 2  # llama.cpp contexts, each keeping the evaluated start of one kind of prompt (reader, rewrite)

    def __init__(self, path: Path, chat: bool, threads: int = 2, n_ctx: int = 4096,
                 state_dir: Path | None = None) -> None:  # fmt: skip
        self.path, self.chat, self.threads, self.n_ctx = path, chat, threads, n_ctx
        # Where each fixed start, once evaluated, is kept for the next process (see _restore); None: nowhere.
        self.state_dir = state_dir
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
            state = self._state_file(anchor)
            if not self._restore(ctx, anchor, state):
                ctx.eval(anchor)
                self._keep(ctx, anchor, state)
        else:
            sampler.cut(ctx, len(anchor))

    def _state_file(self, anchor: list[int]) -> Path | None:
        """Where this model's evaluated fixed start is kept between processes: named by everything its numbers
        depend on (the model file, llama.cpp's version, the threads, the context size and the tokens)."""
        if self.state_dir is None:
            return None
        import llama_cpp

        try:
            stat = self.path.stat()
        except OSError:
            return None
        key = json.dumps([str(self.path.resolve()), stat.st_size, stat.st_mtime_ns, llama_cpp.__version__,
                          self.threads, self.n_ctx, anchor])  # fmt: skip
        return self.state_dir / f"{self.path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.state"

    def _restore(self, ctx, anchor: list[int], path: Path | None) -> bool:
        """Load the fixed start a previous process evaluated (its cache entries as they were written, so every
        reply is the same as after evaluating it here), rather than spend seconds evaluating it again: the
        reader's instructions and worked examples are about 850 tokens, 9 s on 2 cores, 0.01 s to load. `path`
        is its `_state_file`."""
        if path is None or not path.is_file():
            return False
        if sampler.load_start(ctx, path, anchor):
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: kept when older files are pruned
            return True
        with contextlib.suppress(OSError):
            path.unlink()  # truncated or from another build: evaluated again and written anew
        return False

    def _keep(self, ctx, anchor: list[int], path: Path | None) -> None:
        """Write the evaluated fixed start to `path` (its `_state_file`) for the next process; a folder that
        cannot be written only costs the next process the evaluation. The newest KEEP_STATES files stay (about
        25 MB each for the reader)."""
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
            os.close(fd)
            try:  # as uploads.store_upload writes a file: whole or not at all, whichever process writes last
                if sampler.save_start(ctx, Path(tmp), anchor):
                    os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)  # a failed or partial write leaves nothing behind
            states = sorted(path.parent.glob("*.state"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in states[KEEP_STATES:]:
                old.unlink()
        except OSError:
            pass

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

        form = layout(schema)

        def tokens():
            with self._lock:
                ctx = self._context(prompt.fixed)
                anchor = self.anchor(ctx, prompt)
                self._from_anchor(ctx, anchor)
                try:
                    if form is not None:
                        yield from self._fill(ctx, prompt, anchor, schema, form, max_tokens, pieces)
                        return
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

    def _fill(self, ctx, prompt: Prompt, anchor: list[int], schema: dict, form: tuple, max_tokens: int,
              pieces: list[str]):  # fmt: skip
        """A reply held to a flat JSON schema, with the text the schema fixes evaluated in one batch each.

        The keys of such a reply (`{"answer":`, `, "sentence":`) are fixed by the schema, yet decoded one token
        at a time they cost a decode step each: six of a one-word answer's fourteen steps, and a seventh for
        the end-of-text token after the closing brace. Here the first key is evaluated with the prompt, each
        other with the token that ends the value before it, and the reply ends at its closing brace. The
        values, each from its first character on (the space and quote of ` "...`, where the reader's
        confidence reads the chance of an empty answer), are decoded as before: greedy, held to the schema's
        grammar, with their tokens' probabilities. A reply laid out otherwise than by json.dumps (as the
        reader's worked examples are) is decoded on, token by token.
        """
        import llama_cpp

        grammar = sampler.GrammarFirstGreedy(ctx, sampler.json_grammar(json.dumps(schema)), None)
        ids = self._tokens(ctx, prompt)[len(anchor):]
        state = _Layout(form)
        ahead = self._text_tokens(ctx, state.next_literal(""))
        if len(anchor) + len(ids) + len(ahead) >= self.n_ctx:  # the library's own message for this
            raise ValueError(f"Requested tokens ({len(anchor) + len(ids) + len(ahead)}) exceed context window "
                             f"of {self.n_ctx}")  # fmt: skip
        ctx.eval(ids + ahead)
        written, spelled = [], ""
        try:
            for step in range(max_tokens + 1):
                for t in ahead:  # fixed text, evaluated: the grammar and the reply take it as written
                    grammar.accept(t)
                    written.append(t)
                    piece = self._piece(t)
                    spelled += piece
                    yield Token(piece)
                if state.finished or step == max_tokens or ctx.n_tokens + 1 >= self.n_ctx:
                    return
                row = grammar.logits(ctx._ctx)
                tid = grammar.choose(row)
                if llama_cpp.llama_vocab_is_eog(ctx._model.vocab, tid):
                    return
                grammar.accept(tid)
                written.append(tid)
                spelled += self._piece(tid)
                yield self._token(tid, row)
                ahead = self._text_tokens(ctx, state.next_literal(spelled))
                if not state.finished:
                    ctx.eval([tid, *ahead[: max(0, self.n_ctx - ctx.n_tokens - 1)]])
        finally:
            # The reply as one text: token pieces alone can split a multi-byte character.
            pieces[:] = [ctx.detokenize(written).decode("utf-8", errors="replace")]

    def _text_tokens(self, ctx, text: str) -> list[int]:
        return ctx.tokenize(text.encode("utf-8"), add_bos=False, special=False) if text else []

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


# The types of value a reply's fixed layout can hold: how each one's text ends (a string at its closing quote;
# a number where something other than a digit follows it).
_VALUE_END = {
    "string": re.compile(r'\s*"(?:[^"\\]|\\.)*"'),
    "integer": re.compile(r"\s*-?\d+(?=\D)"),
}


def layout(schema: dict | None) -> tuple[tuple[str, str], ...] | None:
    """The fixed text before each value of a reply held to `schema`, and the value's type, as json.dumps lays
    the reply out: (('{"answer":', 'string'), (', "sentence":', 'integer')). Only for an object whose
    properties are all required scalars, in order (llama-cpp-python's grammar then fixes that order); None
    for any other schema."""
    if not schema or schema.get("type") != "object":
        return None
    props = schema.get("properties") or {}
    if not props or list(schema.get("required") or ()) != list(props):
        return None
    if any(p.get("type") not in _VALUE_END or set(p) != {"type"} for p in props.values()):
        return None
    return tuple((("{" if i == 0 else ", ") + json.dumps(k) + ":", p["type"]) for i, (k, p) in enumerate(props.items()))


class _Layout:
    """Where a reply in a fixed layout stands: which value it is writing, and where that value's text starts."""

    def __init__(self, form: tuple[tuple[str, str], ...]) -> None:
        self.form, self.value, self.start = form, -1, 0
        self.finished = False  # the reply is whole (its closing brace written)
        self.free = False  # the reply left the layout: the grammar alone holds the rest

    def next_literal(self, text: str) -> str:
        """The fixed text to add after `text` (the reply so far) now: the first key at the start, the next key
        once a value has ended, the closing brace after the last; "" while a value is still being written."""
        if self.value < 0:
            self.value, self.start = 0, len(self.form[0][0])
            return self.form[0][0]
        if self.free or self.finished:
            return ""
        m = _VALUE_END[self.form[self.value][1]].match(text, self.start)
        if not m:
            return ""
        after = text[m.end():]
        last = self.value + 1 == len(self.form)
        literal = "}" if last else self.form[self.value + 1][0]
        if not literal.startswith(after):
            self.free = True
            return ""
        self.value += 1
        self.start = m.end() + len(literal)
        self.finished = last
        return literal[len(after):]
