"""Follow-up questions: rewritten by the reader to stand on their own, and searched with the names the last
turn was about."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .answer import REFUSAL
from .cite import MARKER
from .errors import BackendError
from .llm import LLM, Prompt
from .text import stopwords, terms

CONDENSE_SCHEMA = {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}
CONDENSE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: replace "
    "pronouns and vague references with what they refer to. Keep everything else as it is. Reply in JSON "
    'as {"question": "..."}.'
)


@dataclass(frozen=True)
class Rewrite:
    """The question as the reader reads it, the query retrieval searches with, and a warning if any."""

    question: str
    query: str
    warning: str | None = None


def follows_up(question: str, history: Sequence[tuple[str, str]]) -> bool:
    """Whether the question leans on the conversation: a pronoun or "then"/"there" pointing back, or too few
    words of its own to stand alone. A question that stands on its own is searched and read as asked."""
    return bool(history) and bool(_points_back(question) or len(terms(question)) < 2)


def _points_back(question: str) -> bool:
    """A pronoun, "then" or "there" whose antecedent is not in the question itself. A subject or possessive
    pronoun after a name the question gives ("How old was Baby P when he died?") is taken to mean that name, as
    in ordinary English; one before any name ("What did she call Baby Peter's death?"), an object pronoun ("Did
    Ed Balls sack her?": "her" may not mean the subject of its own clause) or "then"/"there" points back."""
    for m in _PRONOUN.finditer(question):
        names = [n for n in _CAPITALISED.finditer(question[: m.start()]) if n.start() > 0]
        if not (names and m.group(0).lower() in _SELF_RESOLVING):
            return True
    return False


def rewrite(llm: LLM | None, question: str, history: Sequence[tuple[str, str]]) -> Rewrite:
    """The stage: a standalone question for a follow-up (a backend failure keeps the question as asked)."""
    warning = None
    if not follows_up(question, history):
        return Rewrite(question, question)
    try:
        question = condense(llm, question, history)
    except BackendError as e:
        warning = f"{e} - the question was not rewritten for the conversation."
    return Rewrite(question, carry_subject(question, history), warning)


def condense(llm: LLM | None, question: str, history: Sequence[tuple[str, str]]) -> str:
    """A standalone question for a follow-up, rewritten by the reader (the question itself without one)."""
    if not history or llm is None:
        return question
    turns = "\n".join(f"User: {q}\nAssistant: {MARKER.sub('', a)[:300]}" for q, a in history[-2:])
    gen = llm.generate(
        Prompt(CONDENSE_SYSTEM, f"Conversation:\n{turns}\n\nLast question: {question}"), 64, CONDENSE_SCHEMA
    )
    try:
        rewritten = str(json.loads(gen.text).get("question", "")).strip()
    except (ValueError, AttributeError):
        rewritten = ""
    # A rewrite that lost the question (empty, no longer a question, or far longer than question plus history)
    # is not used: "What is her job?" once came back as "Christine Gilbert is a job title."
    lost = question.rstrip().endswith("?") and not rewritten.rstrip().endswith("?")
    if not rewritten or lost or len(rewritten) > 3 * len(question) + 200:
        return question
    return rewritten


_PRONOUN = re.compile(r"\b(he|she|him|her|his|hers|they|them|their|it|its|this|that|these|those|there|then)\b", re.I)
_SELF_RESOLVING = {"he", "she", "they", "his", "their", "its", "it"}
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*")


def carry_subject(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The search query for a follow-up that still leans on the last turn after the rewrite: the last turn's
    capitalised names the question does not already hold are added.

    Retrieval gets these even after the reader's rewrite, which a small model sometimes leaves vague.
    """
    if not follows_up(question, history):
        return question
    prev_q, prev_a = history[-1]
    prev_a = "" if (prev_a or "").startswith(REFUSAL) else MARKER.sub("", prev_a or "")
    names = [
        n for n in _CAPITALISED.findall(f"{prev_q} . {prev_a[:200]}") if n.split()[0].lower() not in stopwords()
    ]
    if names and all(n.lower() in question.lower() for n in names):
        return question  # the rewrite names them already
    names = [n for n in names if n.lower() not in question.lower()]
    subject = " ".join(dict.fromkeys(names)) or " ".join(terms(prev_q))
    return f"{question} ({subject})" if subject else question
