"""LLM backends behind one small interface, chosen from one registry.

Built in: `local` (a bundled GGUF), `gguf` (any GGUF by path), `openai` (any OpenAI-compatible server)
and `extractive` (no LLM). A package adds a backend with an entry point in the group `qa.llm`
whose object takes Settings and returns an LLM, as simonw/llm's plugins do.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import Settings
from .errors import BackendError, ConfigError, ModelError

TOP_ALTERNATIVES = 10  # log-probabilities kept per generated token, for the reader's confidence


@dataclass(frozen=True)
class Prompt:
    """Chat messages for instruction-tuned models, and the same as plain text for base ones."""

    system: str
    user: str
    shots: tuple[tuple[str, str], ...] = ()  # worked examples: (user, assistant) turns before the question

    @property
    def messages(self) -> list[dict[str, str]]:
        turns = [{"role": "system", "content": self.system}]
        for user, assistant in self.shots:
            turns += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        return [*turns, {"role": "user", "content": self.user}]

    @property
    def completion(self) -> str:
        return "\n\n".join([self.system, *(f"{u}\n{a}" for u, a in self.shots), self.user]) + "\n"

    @property
    def fixed(self) -> tuple:
        """The part every prompt of this kind shares: the system prompt and the worked examples."""
        return (self.system, self.shots)


@dataclass(frozen=True)
class Token:
    """One generated token: its text, its log-probability, and the likeliest alternatives at its place."""

    text: str
    logprob: float | None = None
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Generation:
    """What a model wrote, with per-token log-probabilities where the backend gives them."""

    text: str
    tokens: tuple[Token, ...] = ()


class LLM(Protocol):
    """Generates text for a prompt, optionally held to a JSON schema."""

    name: str

    def warm_up(self) -> None: ...

    def generate(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Generation: ...


class LlamaCppLLM:
    """A GGUF model run in-process by llama-cpp-python; JSON schemas become grammars."""

    CONTEXTS = 2  # llama.cpp contexts, each keeping the evaluated start of one kind of prompt (reader, rewrite)

    def __init__(self, path: Path, chat: bool, threads: int = 2, n_ctx: int = 4096) -> None:
        self.path, self.chat, self.threads, self.n_ctx = path, chat, threads, n_ctx
        self.name = path.name
        self._llm = None
        # Fixed start (Prompt.fixed) -> context, least recently used first. llama.cpp reuses the longest prefix
        # a context has already evaluated; with one context a follow-up's rewrite prompt would evict the
        # reader's long fixed start (instructions and examples) and the reader would pay for it again.
        self._contexts: dict[tuple, object] = {}
        # Fixed start -> the tokens of the first prompt evaluated in its context (see _rewind).
        self._anchors: dict[tuple, list[int]] = {}
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
            return _llama_class()(
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
                self._anchors.pop(oldest, None)
        self._contexts[fixed] = ctx
        return ctx

    def _rewind(self, ctx, fixed: tuple) -> None:
        """Cut the context's cache back to the start its prompts share, so each prompt is evaluated from the
        same state. Left in place, the last prompt's tokens are reused as far as they match the next one, and
        how much matched changes the numbers enough to flip an answer: the same question could get another
        answer after another question. The shared start is where this prompt stops matching the first one
        evaluated in the context (for the reader, prime's), and at most that much is kept.

        llama-cpp-python has no public call for this. It matches prompts against the first n_tokens of its
        token buffer and drops the cache past n_tokens when it next evaluates; the cache is cut here too.
        """
        try:
            used = ctx._input_ids.tolist()  # the evaluated tokens: prompt and reply
            anchor = self._anchors.setdefault(fixed, used)
            keep = ctx.longest_token_prefix(anchor, used)
            if keep < ctx.n_tokens:
                ctx._ctx.kv_cache_seq_rm(-1, keep, -1)
                ctx.n_tokens = keep
        except AttributeError:  # another llama-cpp-python version: answers still come, only less repeatable
            pass

    def close(self) -> None:
        for ctx in {id(c): c for c in [self._llm, *self._contexts.values()] if c is not None}.values():
            ctx._sampler = None  # a GrammarFirstGreedy frees its grammar now, while the model it reads is alive
            ctx.close()
        self._llm, self._contexts, self._anchors = None, {}, {}

    def generate(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Generation:
        self.warm_up()
        steps: list[np.ndarray] = []
        chosen: list[int] = []

        # llama-cpp-python gives log-probabilities only with logits_all=True, which keeps a vocabulary-sized
        # row for every prompt token (151k x 4k floats for Qwen); a logits processor sees each step's row
        # before sampling instead. Step t's input ends with the token chosen at step t-1.
        def record(input_ids, scores):
            if steps:
                chosen.append(int(input_ids[-1]))
            steps.append(scores.copy())
            return scores

        kwargs = dict(max_tokens=max_tokens, temperature=0.0, logits_processor=[record])
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        with self._lock:
            llm = self._context(prompt.fixed)
            if self.chat:
                out = llm.create_chat_completion(messages=prompt.messages, **kwargs)
                text = out["choices"][0]["message"]["content"] or ""
            else:
                out = llm.create_completion(prompt.completion, stop=["\n\n"], **kwargs)
                text = out["choices"][0]["text"]
            tokens = tuple(self._token(tid, row) for tid, row in zip(chosen, steps, strict=False))
            self._rewind(llm, prompt.fixed)
        return Generation(text, tokens)

    def _token(self, tid: int, row: np.ndarray) -> Token:
        logp = row - (row.max() + np.log(np.exp(row - row.max()).sum()))
        top = np.argpartition(-logp, TOP_ALTERNATIVES)[:TOP_ALTERNATIVES]
        top = top[np.argsort(-logp[top])]
        return Token(self._piece(tid), float(logp[tid]), tuple((self._piece(int(i)), float(logp[i])) for i in top))

    @lru_cache(maxsize=65536)  # noqa: B019 - one model object per process; pieces never change
    def _piece(self, tid: int) -> str:
        return self._llm.detokenize([tid]).decode("utf-8", errors="replace")


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
        logits = self._c.llama_get_logits_ith(ctx.ctx, idx)
        if not logits:
            raise ModelError(f"llama.cpp has no logits at position {idx}.")
        row = np.ctypeslib.as_array(logits, shape=(self._n,))
        for processor in self._processors:
            row = processor(self._llama._input_ids, row)
        token = int(np.argmax(row))
        if not self._allows(token, float(row[token])):
            token = self._best_allowed(row)
        self._c.llama_sampler_accept(self._grammar, token)
        return token

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


@lru_cache(maxsize=1)
def _llama_class():
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


class OpenAILLM:
    """Any OpenAI-compatible chat server (llama.cpp's server, vLLM, Ollama, ...), streamed."""

    def __init__(self, url: str, model: str, api_key: str | None, timeout: float) -> None:
        from openai import OpenAI

        self.name = f"{model} @ {url}"
        self.url = url
        self.model = model
        # The key goes to the client only; it is never logged or shown.
        self._client = OpenAI(base_url=url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)
        self._logprobs = True

    def warm_up(self) -> None:
        """Nothing to load here; the server holds the model."""

    def generate(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Generation:
        kwargs = dict(
            model=self.model, messages=prompt.messages, max_tokens=max_tokens, temperature=0.0, stream=True
        )
        if schema is not None:
            # llama.cpp's server takes the schema here; vLLM and Ollama take json_object and read the prompt.
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        if self._logprobs:
            try:
                return self._stream(kwargs | {"logprobs": True, "top_logprobs": TOP_ALTERNATIVES})
            except BackendError as e:
                from openai import APIStatusError, AuthenticationError

                # Some servers refuse log-probabilities (llama.cpp's unless started with logits_all): a server
                # that answered with an error status is asked again without them, from now on.
                if not isinstance(e.__cause__, APIStatusError) or isinstance(e.__cause__, AuthenticationError):
                    raise
                self._logprobs = False
        return self._stream(kwargs)

    def _stream(self, kwargs: dict) -> Generation:
        pieces: list[str] = []
        tokens: list[Token] = []
        try:
            for part in self._client.chat.completions.create(**kwargs):
                if not part.choices:
                    continue
                choice = part.choices[0]
                if choice.delta and choice.delta.content:
                    pieces.append(choice.delta.content)
                for lp in (choice.logprobs.content or []) if choice.logprobs else []:
                    top = tuple((t.token, t.logprob) for t in lp.top_logprobs or ())
                    tokens.append(Token(lp.token, lp.logprob, top))
        except Exception as e:  # noqa: BLE001 - every client failure is "backend down" to the user
            raise BackendError(f"The LLM server at {self.url} failed: {type(e).__name__}") from e
        text = "".join(pieces)
        # Servers that send no log-probabilities give tokens that do not spell the text: drop them.
        return Generation(text, tuple(tokens) if "".join(t.text for t in tokens) == text else ())


# --- the registry --------------------------------------------------------------------------------


def _local(settings: Settings) -> LLM:
    from .bundled import DEFAULT_READER, bundled

    model = bundled(settings.llm_model or DEFAULT_READER)
    return LlamaCppLLM(model.path(), model.chat, settings.llm_threads)


def _gguf(settings: Settings) -> LLM:
    if not settings.llm_model:
        raise ConfigError("QA_LLM=gguf needs QA_LLM_MODEL set to the path of a .gguf file.")
    path = Path(settings.llm_model).expanduser()
    if not path.is_file():
        raise ModelError(f"GGUF model file {path} does not exist.")
    name = path.name.lower()
    return LlamaCppLLM(path, any(k in name for k in ("instruct", "chat", "-it")), settings.llm_threads)


def _openai(settings: Settings) -> LLM:
    if not settings.llm_url or not settings.llm_model:
        raise ConfigError("QA_LLM=openai needs QA_LLM_URL (the server's /v1 URL) and QA_LLM_MODEL.")
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAILLM(settings.llm_url, settings.llm_model, key, settings.llm_timeout)


BUILT_IN: dict[str, Callable[[Settings], LLM | None]] = {
    "local": _local,
    "gguf": _gguf,
    "openai": _openai,
    "extractive": lambda settings: None,
}


def backends() -> dict[str, Callable[[Settings], LLM | None]]:
    """Every backend by name: the built-in ones and those installed packages add (group `qa.llm`)."""
    found = dict(BUILT_IN)
    for ep in entry_points(group="qa.llm"):
        found.setdefault(ep.name, ep.load)
    return found


def make_llm(settings: Settings) -> LLM | None:
    """The backend the settings ask for; None means extractive answers only."""
    registry = backends()
    if settings.llm not in registry:
        raise ConfigError(f"Unknown QA_LLM {settings.llm!r}; use one of: {', '.join(registry)}.")
    factory = registry[settings.llm]
    if settings.llm not in BUILT_IN:
        factory = factory()  # an entry point names the factory; load it only when asked for
    return factory(settings)
