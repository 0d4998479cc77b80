"""Checks for files uploaded through the app: safe names, sizes, and content that qa can read."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .errors import QAError
from .extract import OFFICE, SUPPORTED

ARCHIVES = {*OFFICE, ".epub"}

_SAFE_NAME = re.compile(r"^[\w][\w .()+,-]{0,200}$")


class UploadError(QAError):
    """An upload was refused; the message says why."""


def safe_name(name: str) -> str:
    """The file name to store an upload under, or UploadError for a hostile or odd name."""
    if not name or "\x00" in name:
        raise UploadError("The file has no name.")
    if "/" in name or "\\" in name or name.startswith(("~", ".")) or ".." in name:
        raise UploadError(f"Refused {name!r}: file names may not contain folders or start with '.' or '~'.")
    if not _SAFE_NAME.match(name):
        raise UploadError(f"Refused {name!r}: use letters, digits, spaces and . _ - ( ) , + only.")
    if Path(name).suffix.lower() not in SUPPORTED:
        raise UploadError(f"Refused {name!r}: qa reads {', '.join(sorted(SUPPORTED))} files.")
    return name


def check_content(name: str, data: bytes, max_bytes: int) -> None:
    """Refuse empty, too large, binary or non-UTF-8 uploads before anything is written."""
    if not data.strip():
        raise UploadError(f"Refused {name!r}: the file is empty.")
    if len(data) > max_bytes:
        raise UploadError(
            f"Refused {name!r}: {len(data) / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit."
        )
    if name.lower().endswith(".pdf"):
        if not data.startswith(b"%PDF-"):
            raise UploadError(f"Refused {name!r}: it is not a PDF file.")
        return
    if Path(name).suffix.lower() in ARCHIVES:
        return  # a zip of XML: ingest opens it only after checking the archive, and says why if it cannot
    if b"\x00" in data[:8192]:
        raise UploadError(f"Refused {name!r}: it is a binary file, not text.")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadError(f"Refused {name!r}: it is not UTF-8 text.") from e


def store_upload(docs_dir: Path, name: str, data: bytes, max_bytes: int) -> Path:
    """Validate an upload and write it into the corpus folder atomically; nothing is written outside it."""
    name = safe_name(name)
    check_content(name, data, max_bytes)
    root = docs_dir.resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise UploadError(f"Refused {name!r}: it would be written outside the documents folder.")
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def remove_document(docs_dir: Path, source: str) -> Path:
    """Take a document out of the corpus by moving it to the hidden `.removed/` folder (reversible)."""
    root = docs_dir.resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise UploadError(f"No document {source!r} in the documents folder.")
    dest = root / ".removed" / source
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, dest)
    return dest


def restore_document(docs_dir: Path, source: str) -> Path:
    """Undo a removal: move the document back from `.removed/` (refused if a file of that name is back)."""
    root = docs_dir.resolve()
    kept = (root / ".removed" / source).resolve()
    target = (root / source).resolve()
    if not kept.is_relative_to(root / ".removed") or not kept.is_file():
        raise UploadError(f"{source!r} cannot be restored: it is no longer kept.")
    if target.exists():
        raise UploadError(f"{source!r} is already in the documents folder.")
    os.replace(kept, target)
    return target
