"""Split GGUF models: joined once, checked by sha256, and a missing or corrupt part named in the error."""

import hashlib
import importlib
import sys

import pytest

from qa.bundled import BUNDLED, DEFAULT_READER, SplitGGUF, assemble
from qa.errors import ModelError

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"middle part " * 300, b"the end"]


@pytest.fixture
def split(tmp_path, monkeypatch):
    """Three part packages (fakepartN/data/partNN.bin) on sys.path, and the model they make."""
    root = tmp_path / "site"
    for n, data in enumerate(PARTS, start=1):
        pkg = root / f"fakepart{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    yield root, SplitGGUF(
        "fake", "fake.gguf", "fakepart", "fake-part", "1.0", 3, sum(map(len, PARTS)),
        hashlib.sha256(b"".join(PARTS)).hexdigest(),
    )  # fmt: skip
    for n in range(1, 4):
        sys.modules.pop(f"fakepart{n}", None)


def test_parts_are_joined_once_and_checked(split, tmp_path):
    _, model = split
    path = assemble(model, tmp_path / "cache", progress=False)
    assert path.read_bytes() == b"".join(PARTS)
    made = path.stat().st_mtime_ns
    assert assemble(model, tmp_path / "cache", progress=False) == path and path.stat().st_mtime_ns == made


def test_missing_part_is_named(split, tmp_path):
    root, model = split
    (root / "fakepart2" / "__init__.py").unlink()
    (root / "fakepart2" / "data" / "part02.bin").unlink()
    (root / "fakepart2" / "data").rmdir()
    (root / "fakepart2").rmdir()
    sys.modules.pop("fakepart2", None)
    importlib.invalidate_caches()
    with pytest.raises(ModelError, match=r"Part 2 of 3 .*fake-part2"):
        assemble(model, tmp_path / "cache", progress=False)


def test_corrupt_part_fails_the_checksum_and_leaves_nothing(split, tmp_path):
    root, model = split
    bad = root / "fakepart3" / "data" / "part03.bin"
    bad.write_bytes(b"the END")  # same size, other bytes
    with pytest.raises(ModelError, match="wrong sha256"):
        assemble(model, tmp_path / "cache", progress=False)
    assert not any((tmp_path / "cache").iterdir())
    bad.write_bytes(b"short")
    with pytest.raises(ModelError, match="add up to"):
        assemble(model, tmp_path / "cache", progress=False)


def test_a_damaged_joined_file_is_rebuilt(split, tmp_path):
    _, model = split
    path = assemble(model, tmp_path / "cache", progress=False)
    path.write_bytes(b"x")
    assert assemble(model, tmp_path / "cache", progress=False).read_bytes() == b"".join(PARTS)


def test_bundled_names():
    assert DEFAULT_READER in BUNDLED and {"qwen2.5-0.5b", "qwen2.5-1.5b", "smollm2"} <= set(BUNDLED)
