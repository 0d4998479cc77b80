"""Grounding checks: is there enough evidence to answer, does an answer follow from it,
and the name, date or number the evidence itself gives."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .evidence import (
    ANY,
    NUMBER,
    Sentence,
    has_type,
    new_names,
    number_values,
    stem,
    terms,
    tokens,
    typed_spans,
)

# Tuned on the seed eval set (eval/): answerable questions score at least this on their best sentence.
MIN_EVIDENCE_SCORE = 0.38
TYPED_MIN_COVERAGE = 0.5
TYPED_WINDOW = 4  # how many of the best sentences a name, date or number may come from
TYPED_MIN_SIMILARITY = 0.5
_NON_ANSWERS = re.compile(
    r"\b(i don'?t know|not (mentioned|stated|specified|provided|given|clear)|cannot (be )?(answer|determine)"
    r"|no information|does not (say|mention|specify)|doesn'?t (say|mention)|unknown|n/a)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Judgement:
    """Whether the evidence can answer the question, and why."""

    ok: bool
    reason: str


def judge(kind: str, ranked: Sequence[Sentence], unknown_terms: Sequence[str], question: str) -> Judgement:
    """Decide whether the best evidence sentences can support an answer."""
    if not ranked:
        return Judgement(False, "no passage was retrieved")
    if unknown_terms:
        return Judgement(False, "the documents never mention " + ", ".join(f"'{t}'" for t in unknown_terms))
    best = ranked[0]
    if best.score < MIN_EVIDENCE_SCORE:
        return Judgement(False, f"best evidence scored {best.score:.2f} < {MIN_EVIDENCE_SCORE}")
    # The asked-for kind must sit in a sentence that is about the question, not just anywhere.
    if kind != ANY and not any(
        has_type(s.text, kind, question) and about_question(s) for s in ranked[:TYPED_WINDOW]
    ):
        return Judgement(False, f"no {kind} in a top evidence sentence about the question")
    return Judgement(True, f"best evidence scored {best.score:.2f}")


def clean_answer(text: str) -> str:
    """A model's raw output reduced to its first answer line, without markers or labels."""
    text = text.strip()
    text = re.split(r"\n\s*\n|\n(?=(?:question|q|text|sentences?|context)\s*:)", text, flags=re.IGNORECASE)[0]
    text = text.strip().split("\n")[0]
    text = re.sub(r"^\s*(?:the\s+)?(?:short\s+)?answer(?:\s+is)?\s*:?\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*\[\d+\]", "", text)
    return " ".join(text.split()).strip(" \"'")


def about_question(s: Sentence) -> bool:
    """A sentence shares most of the question's words, or says the same in other words."""
    return s.lexical >= TYPED_MIN_COVERAGE or s.dense >= TYPED_MIN_SIMILARITY


@dataclass(frozen=True)
class Verdict:
    """Whether an answer follows from the evidence, and why not when it does not."""

    ok: bool
    reason: str


def verify(answer: str, evidence: Sequence[str], question: str, kind: str) -> Verdict:
    """Check that an answer's numbers, names and content words all come from the evidence."""
    if not answer:
        return Verdict(False, "empty answer")
    if _NON_ANSWERS.search(answer):
        return Verdict(False, "the model did not answer")
    if len(answer.split()) > 60:
        return Verdict(False, "answer too long")
    ev = " ".join(evidence)
    missing_numbers = number_values(answer) - number_values(ev) - number_values(question)
    if missing_numbers:
        return Verdict(False, f"numbers not in the evidence: {sorted(missing_numbers)}")
    ev_stems = {stem(t.split("'")[0]) for t in tokens(ev)}
    names = [n for n in new_names(answer, "") if stem(tokens(n)[0].split("'")[0]) not in ev_stems]
    if names:
        return Verdict(False, f"names not in the evidence: {names}")
    answer_terms = terms(answer)
    # Content words must come from one sentence: words gathered from several make claims none of them do.
    best_one = max((set(terms(e)) for e in evidence), key=lambda st: len(set(answer_terms) & st), default=set())
    if not answer_terms and not number_values(answer):
        return Verdict(False, "answer has no content")
    unsupported = [t for t in answer_terms if t not in ev_stems]
    if len(unsupported) > max(1, len(answer_terms) // 5):
        return Verdict(False, f"words not in the evidence: {unsupported[:5]}")
    scattered = [t for t in answer_terms if t not in best_one]
    if len(scattered) > max(1, len(answer_terms) // 5):
        return Verdict(False, f"no single evidence sentence supports it (missing {scattered[:5]})")
    typed = (
        (number_values(answer) - number_values(question)) if kind == NUMBER else has_type(answer, kind, question)
    )
    if kind != ANY and not typed:
        return Verdict(False, f"answer holds no {kind}")
    q_terms = set(terms(question))
    if answer_terms and set(answer_terms) <= q_terms and not number_values(answer):
        return Verdict(False, "answer only repeats the question")
    return Verdict(True, "every name, number and content word is in the evidence")


def typed_answer(question: str, kind: str, ranked: Sequence[Sentence]) -> tuple[str, Sentence] | None:
    """The asked-for kind of span (a number, date or name) nearest the question's words, if any."""
    if kind == ANY:
        return None

    def best(sentences: Sequence[Sentence], strong_only: bool):
        # The span nearest the question's own words in a well-scored sentence: 50 characters away
        # costs about as much as 0.2 of evidence score.
        options = [
            (s.score - 0.004 * dist, span, s, weak)
            for s in sentences
            if about_question(s)
            for span, dist, weak in [t for t in typed_spans(s.text, kind, question) if not (strong_only and t[2])][
                :1
            ]
        ]
        return max(options, key=lambda o: o[0]) if options else None

    found = best(ranked[:TYPED_WINDOW], strong_only=False)
    if found is None or found[3]:
        # Only a weak guess among the best sentences (a number that is no age, a bare year):
        # a proper one a little further down is the better answer.
        found = best(ranked[TYPED_WINDOW : 2 * TYPED_WINDOW], strong_only=True) or found
    if found is None:
        return None
    _, span, s, _ = found
    return _with_unit(s.text, span, kind), s


def _with_unit(sentence: str, span: str, kind: str) -> str:
    """Add a qualifier before and the noun after a number ("more than 40 injuries")."""
    if kind != NUMBER:
        return span
    i = sentence.find(span)
    before = sentence[:i]
    after = sentence[i + len(span) :]
    qual = re.search(r"(more than|nearly|about|over|almost|at least|around|under)\s+$", before, re.IGNORECASE)
    noun = re.match(r"\s+([a-z]+(?:\s+(?:old|times|a\s+\w+))?)", after)
    out = span
    if qual:
        out = qual.group(1) + " " + out
    if noun and noun.group(1).split()[0] not in ("and", "or", "by", "to", "from", "the", "in", "of", "a"):
        out = out + " " + noun.group(1)
    return out
