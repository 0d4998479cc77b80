"""The remote backend: any OpenAI-compatible chat server (llama.cpp's server, vLLM, Ollama, ...), streamed."""

from __future__ import annotations

from ..errors import BackendError
from .types import TOP_ALTERNATIVES, Prompt, Stream, Token


class OpenAILLM:
    """Any OpenAI-compatible chat server, asked for token log-probabilities where it gives them."""

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

    def stream(self, prompt: Prompt, max_tokens: int, schema: dict | None = None) -> Stream:
        kwargs = dict(
            model=self.model, messages=prompt.messages, max_tokens=max_tokens, temperature=0.0, stream=True
        )
        if schema is not None:
            # llama.cpp's server takes the schema here; vLLM and Ollama take json_object and read the prompt.
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        pieces: list[str] = []

        def finish(tokens: list[Token]) -> tuple[str, tuple[Token, ...]]:
            text = "".join(pieces)
            # Servers that send no log-probabilities give tokens that do not spell the text: drop them.
            return text, tuple(tokens) if "".join(t.text for t in tokens) == text else ()

        return Stream(self._tokens(kwargs, pieces), finish)

    def generate(self, prompt: Prompt, max_tokens: int, schema: dict | None = None):
        return self.stream(prompt, max_tokens, schema).generation()

    def _tokens(self, kwargs: dict, pieces: list[str]):
        if self._logprobs:
            try:
                # Nothing is yielded before the server's first part arrives, so a refusal costs no output.
                yield from self._parts(kwargs | {"logprobs": True, "top_logprobs": TOP_ALTERNATIVES}, pieces)
                return
            except BackendError as e:
                from openai import APIStatusError, AuthenticationError

                # Some servers refuse log-probabilities (llama.cpp's unless started with logits_all): a server
                # that answered with an error status is asked again without them, from now on.
                if pieces or not isinstance(e.__cause__, APIStatusError) or isinstance(e.__cause__, AuthenticationError):
                    raise
                self._logprobs = False
        yield from self._parts(kwargs, pieces)

    def _parts(self, kwargs: dict, pieces: list[str]):
        try:
            for part in self._client.chat.completions.create(**kwargs):
                if not part.choices:
                    continue
                choice = part.choices[0]
                if choice.delta and choice.delta.content:
                    pieces.append(choice.delta.content)
                for lp in (choice.logprobs.content or []) if choice.logprobs else []:
                    top = tuple((t.token, t.logprob) for t in lp.top_logprobs or ())
                    yield Token(lp.token, lp.logprob, top)
        except Exception as e:  # noqa: BLE001 - every client failure is "backend down" to the user
            raise BackendError(f"The LLM server at {self.url} failed: {type(e).__name__}") from e
