"""What every LLM backend speaks: prompts in, a stream of tokens out (with their probabilities), and the
collected generation built on that stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

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

    def with_user(self, user: str) -> Prompt:
        """The same fixed start with another user turn."""
        return Prompt(self.system, user, self.shots)


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


class Stream:
    """A reply as it is written: iterate for its tokens; `text` and `generation()` once it is done.

    `tokens` is what a backend yields as the model writes; `finish` gives the reply's text as the backend
    decoded it (token pieces alone can split a multi-byte character) and the tokens to keep (a backend
    whose tokens do not spell the text keeps none). As simonw/llm's Response: the collected form is built on
    the stream, never the other way round.
    """

    def __init__(self, tokens: Iterable[Token], finish: Callable[[list[Token]], tuple[str, tuple[Token, ...]]]):
        self._tokens, self._finish = iter(tokens), finish
        self._seen: list[Token] = []
        self._done: Generation | None = None

    def __iter__(self) -> Iterator[Token]:
        for token in self._tokens:
            self._seen.append(token)
            yield token
        if self._done is None:
            self._done = Generation(*self._finish(self._seen))

    def generation(self) -> Generation:
        """The whole reply (reads the rest of the stream first)."""
        for _ in self:
            pass
        assert self._done is not None
        return self._done

    @property
    def text(self) -> str:
        return self.generation().text


class LLM(Protocol):
    """Generates text for a prompt, optionally held to a JSON schema, token by token."""

    name: str

    def warm_up(self) -> None: ...

    def stream(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Stream: ...

    def generate(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Generation:
        """The collected reply: `stream(...).generation()`."""
        ...
