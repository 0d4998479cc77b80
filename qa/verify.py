"""Support checking: does the reader's answer say only what one evidence sentence says?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .evidence import Sentence
from .text import numbers, terms, tokens


@dataclass(frozen=True)
class Support:
    """Which evidence sentence holds the answer (index 1-based, 0 for none), and how fully."""

    index: int
    share: float  # of the answer's content terms and numbers, the share that sentence holds
    named: bool  # it is the sentence the reader named
    reason: str
    unordered: int = 0  # when refused: the sentence (1-based) that holds the answer's words, in another order

    @property
    def ok(self) -> bool:
        return self.index > 0


def _units(text: str) -> set[str]:
    """Content terms and numbers; a text with neither (an answer like "M") is its plain word tokens."""
    units = set(terms(text)) | numbers(text)
    return units or set(tokens(text))


def _has(text: str) -> set[str]:
    """What a text offers to match an answer's units: its terms, numbers and plain word tokens."""
    return _units(text) | set(tokens(text))


def echo(answer: str, question: str) -> float:
    """The share of the answer's content that the question already holds (1.0: it only repeats it)."""
    want = _units(answer)
    return len(want & _has(question)) / len(want) if want else 0.0


ORDERED = 4  # answers with this many distinct content terms or more are checked for word order


def in_order(answer: str, sentence: str) -> bool:
    """Whether the answer's terms that the sentence holds come in the sentence's order (answers of fewer than
    ORDERED distinct terms always do). A sentence-long answer "in the sentence's own words" that swaps who did
    what to whom ("the river council sued the mill owners" from "the mill owners sued the river council")
    holds every word of the sentence and says the opposite; in the eval run before this check no long answer shown
    had its words out of order, so it refuses only such swaps.
    """
    want = terms(answer)
    if len(set(want)) < ORDERED:
        return True
    have = terms(sentence)
    present = set(have)
    held = [t for t in want if t in present]
    return _common_subsequence(held, have) == len(held)


def _common_subsequence(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (the textbook dynamic programme; difflib's matcher is not
    exact, and the lists are a sentence long)."""
    row = [0] * (len(b) + 1)
    for x in a:
        prev, row = row, [0]
        for j, y in enumerate(b):
            row.append(prev[j] + 1 if x == y else max(prev[j + 1], row[j]))
    return row[-1]


def allowed_missing(answer: str) -> int:
    """Short answers must be in the sentence whole; a sentence-long one may word one term in five its own way."""
    return len(_units(answer)) // 5


def check(answer: str, named: int, evidence: Sequence[Sentence], question: str) -> Support:
    """The sentence that supports the answer: the one the reader named if it does, else the evidence
    sentence that holds most of it. Every number must be there; content terms all but allowed_missing, and in
    the sentence's order (in_order).

    An answer that repeats the question's words is not rejected here (in "A or B?" the answer is in the
    question); how much it echoes is one of the refusal model's signals.
    """
    if not answer:
        return Support(0, 0.0, False, "the reader found no answer in the evidence")
    want = _units(answer)
    if not want:
        return Support(0, 0.0, False, "the answer has no words")
    order = ([named - 1] if 0 < named <= len(evidence) else []) + [
        i for i in range(len(evidence)) if i != named - 1
    ]
    best, swapped = None, 0
    for i in order:
        have = _has(evidence[i].text)
        missing = want - have
        if numbers(answer) - numbers(evidence[i].text):
            continue
        if len(missing) <= allowed_missing(answer):
            if in_order(answer, evidence[i].text):
                return Support(
                    i + 1, 1 - len(missing) / len(want), i == named - 1, "the answer is in the sentence"
                )
            swapped = swapped or i + 1
        if best is None or len(missing) < best[1]:
            best = (i, len(missing))
    if swapped:
        return Support(0, 0.0, False, f"sentence {swapped} holds the answer's words, not in the answer's order",
                       swapped)  # fmt: skip
    missing_note = f" (closest: sentence {best[0] + 1}, {best[1]} of {len(want)} terms missing)" if best else ""
    return Support(0, 0.0, False, "no evidence sentence holds the answer" + missing_note)
