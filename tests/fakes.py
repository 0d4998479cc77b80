"""Fast stand-ins for the models: a deterministic hash embedder and a scripted LLM."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashEmbedder:
    """Bag-of-words vectors from hashed tokens: same text, same vector, in every process."""

    name = "hash"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

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
    """Returns queued replies in order and records every prompt."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts = []

    def stream(self, prompt, max_tokens: int):
        self.prompts.append(prompt)
        reply = self.replies.pop(0) if self.replies else ""
        yield from re.findall(r"\S+\s*", reply)
