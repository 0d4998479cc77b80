"""The values an answer is made of (Answer, Claim, Trace, Event), the refusal text, and question clean-up."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .cite import Citation
from .errors import EmptyQuestionError
from .evidence import Sentence
from .index import Hit

REFUSAL = "The documents don't say."
History = Sequence[tuple[str, str]]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Trace:
    """What each stage did for one answer (shown in the UI's "why these sources?"), from the stages' records."""

    question: str
    query: str
    dense: tuple[Hit, ...] = ()
    keyword: tuple[Hit, ...] = ()
    fused: tuple[Hit, ...] = ()
    evidence: tuple[Sentence, ...] = ()  # the best-scored sentences, best first
    shown: tuple[Sentence, ...] = ()  # the sentences the reader was shown, in its prompt's order
    model_answer: str | None = None  # what the reader said (None: no reader ran)
    model_sentence: int = 0  # the sentence number it named (1-based in `shown`, 0 for none)
    verification: str = ""
    supported: bool = False  # the answer passed the support check
    signals: dict = field(default_factory=dict)
    confidence: float | None = None  # the refusal model's, for a supported answer
    decision: str = ""
    backend: str = ""
    seconds: dict = field(default_factory=dict)
    left_out: tuple[tuple[str, str], ...] = ()  # points considered and not shown, each with why
    widened: tuple[Hit, ...] = ()  # chunks beyond `fused` that the question and the answer's lead found, for points
    earlier: tuple[Hit, ...] = ()  # chunks beyond `fused` that the last turn (question and answer) found, for a follow-up
    overview: bool = False  # an overview of the documents: `fused` holds the chunks read, nothing was searched

    def was_shown(self, s: Sentence) -> bool:
        """Whether the reader saw this sentence."""
        return any((x.source, x.start) == (s.source, s.start) for x in self.shown)


@dataclass(frozen=True)
class Claim:
    """One verified statement of an answer and the passages it rests on."""

    text: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Answer:
    """An answer with its citations (best first), or a refusal with related passages."""

    text: str
    refused: bool
    citations: tuple[Citation, ...]
    trace: Trace
    related: tuple[Citation, ...] = ()
    warnings: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()  # what the text says, claim by claim (none for a refusal)


@dataclass(frozen=True)
class Event:
    """One step of an answer as it is made: `status` (what the engine is doing, in `text`), `draft` (the
    reader's answer so far, in `text`: NOT verified, to show as work in progress or ignore), `claim` (a claim
    as soon as it is verified, in `claim`), and last `answer` (the whole Answer, as `qa.answer` returns it)."""

    kind: str
    text: str = ""
    claim: Claim | None = None
    answer: Answer | None = None


def require_question(question: object) -> None:
    """Raise EmptyQuestionError unless the question is text with something in it."""
    if not isinstance(question, str) or not question.strip():
        raise EmptyQuestionError()


def normalise_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Strip control characters and cut an over-long question; returns it with any warnings."""
    q = " ".join(_CONTROL.sub(" ", question).split())
    warnings = []
    if len(q) > max_chars:
        q = q[:max_chars].rsplit(" ", 1)[0] or q[:max_chars]
        warnings.append(f"The question was longer than {max_chars} characters; only its first {len(q)} were used.")
    return q, warnings
