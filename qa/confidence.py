"""Confidence from token probabilities: how sure the reader was of its answer and of the sentence it named,
and how likely it was to answer nothing, read off the tokens of its JSON reply."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .llm import Generation


@dataclass(frozen=True)
class Confidence:
    """The reader's confidence signals; all None when the backend gives no token probabilities."""

    none_prob: float | None = None
    answer_logprob: float | None = None
    first_logprob: float | None = None
    sentence_logprob: float | None = None


def confidence(gen: Generation) -> Confidence:
    """From the reply's tokens: how likely an empty answer was where the answer starts, how sure the model
    was of the answer's tokens (mean) and of its first one, and of the sentence number it gave."""
    if not gen.tokens:
        return Confidence()
    spelled = "".join(t.text for t in gen.tokens)
    m = re.search(r'"answer"\s*:\s*"', spelled)
    if not m:
        return Confidence()
    start = m.end()
    end = spelled.find('"', start)
    end = len(spelled) if end < 0 else end
    spans, pos = [], 0
    for tok in gen.tokens:
        spans.append((pos, pos + len(tok.text), tok))
        pos += len(tok.text)

    def logps(a0: int, b0: int) -> list[float]:
        return [t.logprob for a, b, t in spans if b > a0 and a < b0 and t.logprob is not None]

    answer = logps(start, end)
    n = re.search(r'"sentence"\s*:\s*(\d+)', spelled)
    sentence = logps(n.start(1), n.end(1)) if n else []
    return Confidence(
        _none_prob(spans, spelled, start),
        sum(answer) / len(answer) if answer else None,
        answer[0] if answer else None,
        sum(sentence) / len(sentence) if sentence else None,
    )


def _none_prob(spans: list, spelled: str, start: int) -> float | None:
    """The probability of an empty answer where the answer starts (`start`, just past its opening quote).

    The token holding the opening quote is where an empty answer could begin: as that token followed by a
    quote (` "",`), or, when it ends at the quote, as the next token starting with one.
    """
    k = max((i for i, (a, _, _) in enumerate(spans) if a < start), default=None)
    if k is None or not spans[k][2].top:
        return None
    a, b, tok = spans[k]
    opener = spelled[a:start]
    p = sum(math.exp(lp) for piece, lp in tok.top if piece.startswith(opener + '"'))
    if b == start and k + 1 < len(spans) and tok.logprob is not None:
        nxt = spans[k + 1][2]
        p += math.exp(tok.logprob) * sum(math.exp(lp) for piece, lp in nxt.top if piece.startswith('"'))
    return min(1.0, p)
