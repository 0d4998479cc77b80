"""The answerer: the reader's answer when there is a reader and it answers, else the best evidence sentence
(the extractive answer), each checked against the evidence it cites before anything is decided."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from . import reader, verify
from .errors import BackendError, ModelError
from .evidence import Evidence, Sentence
from .llm import LLM
from .reader import Reading
from .text import sentence_spans

READER, EXTRACTIVE = "reader", "extractive"  # the two kinds of answer, each with its own refusal model


@dataclass(frozen=True)
class Draft:
    """An answer before the refusal decision: its text, the support check's verdict on it, and what the reader
    said (None for an extractive answer)."""

    kind: str
    text: str
    support: verify.Support
    reading: Reading | None = None
    echo: float = 0.0  # the share of the answer the question already holds
    warning: str | None = None
    # A reader's answer of several sentences that no one evidence sentence holds, each of whose sentences one
    # does: `text` is its first sentence, and these are the rest, each with the evidence sentence (1-based)
    # that holds it. Each is checked on its own, as a claim is.
    more: tuple[tuple[str, int], ...] = ()

    def sentence(self, evidence: Evidence) -> Sentence | None:
        """The evidence sentence the answer rests on, if it passed the support check."""
        return evidence.shown[self.support.index - 1] if self.support.ok else None


def draft(llm: LLM | None, question: str, evidence: Evidence) -> Draft:
    """The stage: read the shown evidence with the LLM, or fall back to the best sentence when there is no
    LLM or its backend fails (a failing model never costs the user an answer; a bug in qa still shows)."""
    *_, last = drafting(llm, question, evidence)
    return last


_PARTIAL = re.compile(r'"answer"\s*:\s*"((?:[^"\\]|\\.)*)')


def drafting(llm: LLM | None, question: str, evidence: Evidence) -> Iterator[str | Draft]:
    """The stage as it runs: the reader's answer so far (unverified text, each time it grows), and last the
    Draft, checked against the evidence."""
    warning = None
    if llm is not None and evidence.shown:
        try:
            stream = reader.stream(llm, question, evidence.shown)
            spelled, said = "", ""
            for token in stream:
                spelled += token.text
                m = _PARTIAL.search(spelled)
                now = m.group(1).strip() if m else ""
                if now and now != said:
                    said = now
                    yield now
            reading = reader.parse(stream.generation())
        except (BackendError, ModelError) as e:
            warning = f"The reader failed ({e}) - falling back to the extractive answer."
        else:
            text, support, more = checked(reading, evidence.shown, question)
            yield Draft(READER, text, support, reading, verify.echo(text, question), more=more)
            return
    best = evidence.shown.index(evidence.best) + 1 if evidence.best else 0
    text = evidence.shown[best - 1].text.strip() if best else ""
    yield Draft(EXTRACTIVE, text, verify.Support(best, 1.0, False, "extractive: the best evidence sentence"),
                 warning=warning)  # fmt: skip


def checked(reading: Reading, shown: Sequence[Sentence], question: str
            ) -> tuple[str, verify.Support, tuple[tuple[str, int], ...]]:  # fmt: skip
    """The reader's answer checked against the evidence: whole, or, when it is several sentences that no one
    evidence sentence holds, sentence by sentence (a small model asked for one sentence sometimes writes two,
    each from its own evidence sentence). Every part must be held by an evidence sentence, or the whole answer
    stands as it is, unsupported."""
    support = verify.check(reading.answer, reading.sentence, shown, question)
    parts = [reading.answer[a:b].strip() for a, b in sentence_spans(reading.answer)]
    if support.ok or len(parts) < 2:
        return reading.answer, support, ()
    checks = [verify.check(p, reading.sentence if i == 0 else 0, shown, question) for i, p in enumerate(parts)]
    if not all(c.ok for c in checks):
        return reading.answer, support, ()
    return parts[0], checks[0], tuple((p, c.index) for p, c in zip(parts[1:], checks[1:], strict=True))


def resolved(llm: LLM | None, question: str, draft: Draft, evidence: Evidence, before: Sequence[Sentence],
             passage: Sentence | None) -> tuple[Draft, Evidence]:  # fmt: skip
    """A reader's answer that is a pronoun alone ("She", from "She guides Link to ..."), read again with the
    sentences `before` its own sentence in the document, where the pronoun's antecedent usually is. The new
    answer rests on both what it names and what its sentence says, so it is checked against and cited as one
    `passage`: the sentences before and its own, the exact text between their offsets, shown in place of its
    own sentence. The first reading's confidences stay (they were read with all the evidence, as the refusal
    model was fitted). The draft and evidence stay as they were when the answer is no bare pronoun, there is
    nothing before it, or the second reading names no one the passage holds.
    """
    own = draft.sentence(evidence)
    if (llm is None or draft.kind != READER or draft.reading is None or own is None or not before
            or passage is None or not reader.bare_pronoun(draft.text)):  # fmt: skip
        return draft, evidence
    try:
        again = reader.read(llm, question, [*before, own])
    except (BackendError, ModelError):
        return draft, evidence  # the pronoun answer stands as it was checked
    if not again.answer or reader.bare_pronoun(again.answer):
        return draft, evidence
    shown = tuple(passage if s == own else s for s in evidence.shown)
    i = shown.index(passage) + 1
    reading = replace(draft.reading, answer=again.answer, sentence=i, raw=f"{draft.reading.raw}\n{again.raw}")
    support = verify.check(again.answer, 1, [passage], question)
    if not support.ok:
        return draft, evidence  # the name is not in the passage: the checked pronoun is the better answer
    support = replace(support, index=i)
    return replace(draft, text=again.answer, support=support, reading=reading,
                   echo=verify.echo(again.answer, question)), replace(evidence, shown=shown)  # fmt: skip


def settling(draft: Draft, evidence: Evidence, question: str, why: str) -> Draft | None:
    """A reader's answer that no sentence holds and that says nothing the sentence it named would not say better,
    as that sentence: to a yes/no question, "Yes" or "No" (a bare yes or no cannot be checked against any
    sentence's words; the sentence that settles the question can, and shown in the document's own words the user
    reads the yes or no in it); to an open question, an answer that only restates the question (`restates`). The
    reader's words are never shown. The refusal model still judges it. None for any other draft, or when the
    reader named no sentence. `why` says which of the two, in the support's reason."""
    if draft.kind != READER or draft.reading is None or draft.support.ok or not draft.reading.answer:
        return None
    i = draft.reading.sentence
    if not 0 < i <= len(evidence.shown):
        return None
    text = evidence.shown[i - 1].text.strip()
    support = verify.Support(i, 1.0, True, f"{why}: sentence {i}, which the reader named, is the answer")
    return replace(draft, text=text, support=support, echo=verify.echo(text, question))


def restates(draft: Draft) -> bool:
    """Whether a reader's answer holds nothing the question does not ("How is the case linked to the earlier
    one?" answered "The case is linked to the earlier one."): it names what it found only by its sentence number."""
    return draft.kind == READER and draft.echo >= 1.0


def in_its_words(draft: Draft, evidence: Evidence) -> Draft | None:
    """A reader's answer refused because one evidence sentence holds its words but not in their order (a
    paraphrase that reorders a quote, or a swap of who did what), as that sentence itself: the reader's words
    point at it, and the sentence's own words say only what the document says. For a question that wants more
    than a phrase, whose answer is a whole sentence anyway; the refusal model still judges it. None for any
    other draft."""
    i = draft.support.unordered
    if draft.kind != READER or draft.reading is None or not 0 < i <= len(evidence.shown):
        return None
    reason = f"the answer reorders sentence {i}'s words: the sentence itself is the answer"
    support = verify.Support(i, 1.0, i == draft.reading.sentence, reason)
    return replace(draft, text=evidence.shown[i - 1].text.strip(), support=support)
