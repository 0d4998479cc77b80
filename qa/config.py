"""One typed Settings object for qa, read from `QA_*` environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DOCS = PROJECT_DIR / "seeds"
DEFAULT_DATA = PROJECT_DIR / ".qa-data"
DEFAULT_LLM_STATE = Path.home() / ".cache" / "qa" / "state"


class Settings(BaseSettings):
    """Everything a user can set; each field is also `QA_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore", frozen=True)

    # --- corpus and index ---
    docs_dir: Path = Field(DEFAULT_DOCS, description="Folder of documents to answer from.")
    data_dir: Path = Field(DEFAULT_DATA, description="Where the index (Chroma, manifest) lives.")
    chroma_url: str | None = Field(None, description="host:port of a Chroma server; local store if unset.")
    chroma_token: SecretStr | None = Field(None, description="Auth token for the Chroma server.")
    collection: str = Field("qa_chunks", description="Chroma collection name.")

    # --- chunking ---
    chunk_size: int = Field(96, gt=16, le=4096, description="Chunk size in tokens.")
    # No overlap by default. The splitter carries whole sentences, so 16 tokens of overlap only repeated
    # short lines, 8% more chunks to embed on the manuals (10,074 against 9,279), and on the seed eval
    # overlap 0 did as well or better on every figure (34 of 54 right against 33, MRR 0.637 against 0.630).
    chunk_overlap: int = Field(0, ge=0, le=1024, description="Chunk overlap in tokens.")

    # --- embeddings ---
    # auto: all-MiniLM-L6-v2 in bfloat16 where the CPU has bf16 instructions, else as int8 ONNX. On the
    # seed eval both answer as well as float MiniLM, faster (eval/README.md has the figures).
    embed_model: str = Field(
        "auto",
        description="'auto', 'minilm-bf16', 'minilm-int8' (all-MiniLM-L6-v2, int8 ONNX), 'minilm', 'mpnet', "
        "or a local sentence-transformers folder.",
    )

    # --- retrieval ---
    top_k: int = Field(3, gt=0, le=20, description="How many citations an answer may carry.")
    candidates: int = Field(8, gt=0, le=100, description="Chunks fused from dense and keyword lists.")
    max_question_chars: int = Field(2000, gt=10, description="Longer questions are truncated.")

    # --- answering ---
    llm: str = Field("local", description="A backend from qa.llm.backends(): local, gguf, openai, extractive.")
    llm_model: str | None = Field(
        None,
        description="For local: qwen2.5-1.5b (default), qwen2.5-0.5b, smollm2 or gemma3; a .gguf path for "
        "gguf; the server's model name for openai.",
    )
    llm_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the OpenAI-compatible server.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before an LLM call is abandoned.")
    llm_threads: int = Field(2, gt=0, le=64, description="CPU threads for the local model.")
    llm_state_dir: Path | None = Field(
        DEFAULT_LLM_STATE,
        description="Where the local model keeps its evaluated prompt start (instructions, worked examples) "
        "between runs, so a new process starts in a second rather than ten; empty or 'off': nowhere.",
    )

    # --- app ---
    host: str = Field("127.0.0.1", description="Address the app binds to.")
    port: int = Field(7860, gt=0, lt=65536, description="Port the app listens on.")
    auth: SecretStr | None = Field(
        None, description="Logins for the app: 'user:password', or the path of a users file (qa user add NAME)."
    )
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file the app accepts for upload.")

    # --- API server (qa serve) ---
    api_host: str = Field("127.0.0.1", description="Address `qa serve` binds to; beyond loopback it needs api_key.")
    api_port: int = Field(8000, gt=0, lt=65536, description="Port `qa serve` listens on.")
    api_key: SecretStr | None = Field(None, description="Bearer token `qa serve` requires of every request.")

    @field_validator("llm_state_dir", mode="before")
    @classmethod
    def _no_state_dir(cls, value):
        """An empty value (`QA_LLM_STATE_DIR=`) or "off" keeps nothing on disk; read as a path, an empty value
        would be the working folder, and each run would leave 25 MB files wherever qa was started."""
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none"):
            return None
        return value

    def index_key(self) -> tuple:
        """The settings that decide what the index holds; a change needs a separate index."""
        return (
            str(self.data_dir.resolve()),
            self.chroma_url,
            self.collection,
            self.embed_model,
            self.chunk_size,
            self.chunk_overlap,
        )
