"""Fast stand-ins for the models: a deterministic hash embedder and a scripted LLM."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from qa.llm import Generation, Stream, Token


class HashEmbedder:
    """Bag-of-words vectors from hashed tokens: same text, same vector, in every process."""

    name = "hash"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def warm_up(self) -> None:
        """Nothing to load."""

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                h = int(hashlib.sha256(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
            if not n:
                out[i, 0] = 1.0
        return out

    @property
    def texts_embedded(self) -> int:
        return sum(len(c) for c in self.calls)


class ScriptedLLM:
    """Returns queued replies in order (no token probabilities) and records every prompt and schema."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts = []
        self.schemas = []

    def warm_up(self) -> None:
        """Nothing to load."""

    def stream(self, prompt, max_tokens: int, schema: dict | None = None) -> Stream:
        self.prompts.append(prompt)
        self.schemas.append(schema)
        text = self.replies.pop(0) if self.replies else ""
        # Written a few characters at a time, as a model does; without probabilities (none are kept).
        pieces = [Token(text[i : i + 4], None) for i in range(0, len(text), 4)]
        return Stream(pieces, lambda tokens: (text, ()))

    def generate(self, prompt, max_tokens: int, schema: dict | None = None) -> Generation:
        return self.stream(prompt, max_tokens, schema).generation()


def tiny_pdf(*pages: str) -> bytes:
    """A PDF with one page per text, each in Helvetica, built by hand so tests need no PDF writer."""
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", f"<</Type/Pages/Kids[{kids}]/Count {n}>>".encode()]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents {4 + 2 * i} 0 R"
                       f"/Resources<</Font<</F1 {3 + 2 * n} 0 R>>>>>>".encode())  # fmt: skip
        objects.append(b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
