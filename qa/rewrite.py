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
from .text import CAPITALISED, DEMONSTRATIVES, THIRD_PERSON, stopwords, terms

CONDENSE_SCHEMA = {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}
CONDENSE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: replace "
    "pronouns and vague references with what they refer to. Keep everything else as it is. Reply in JSON "
    'as {"question": "..."}.'
)


def condense_turn(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The user's turn of the rewrite prompt: the last two turns, then the question."""
    turns = "\n".join(f"User: {q}\nAssistant: {MARKER.sub('', a)[:300]}" for q, a in history[-2:])
    return f"Conversation:\n{turns}\n\nLast question: {question}"


# Worked examples on a made-up conversation (the reader's made-up bridge, nothing from an eval set or the seeds):
# a pronoun meaning the last answer, "then" meaning its date, a possessive meaning a thing the last question
# named, and a question that needs nothing. As chat turns they are the rewrite prompt's fixed start, kept
# evaluated in its own llama.cpp context, so they cost a question nothing after the first.
CONDENSE_SHOTS = tuple(
    (condense_turn(q, history), json.dumps({"question": out}))
    for history, q, out in (
        ([("Who designed the Harlow Bridge?", "Mary Collins")], "What had she worked on before?",
         "What had Mary Collins worked on before the Harlow Bridge?"),
        ([("When did the Harlow Bridge open?", "May 1932")], "Who was the town's mayor then?",
         "Who was the town's mayor in May 1932?"),
        ([("Which town built the Harlow Bridge?", "Harlow")], "How many cars cross it each day?",
         "How many cars cross the Harlow Bridge each day?"),
        ([("Who designed the Harlow Bridge?", "Mary Collins")], "Why was the ferry replaced?",
         "Why was the ferry replaced?"),
    )
)  # fmt: skip


@dataclass(frozen=True)
class Rewrite:
    """The standalone question, the query retrieval searches with, a warning if any, what the reader reads (the
    question, with the last turn beside it when the question still points back after the rewrite), and for a
    follow-up the last turn's question and answer, which are searched too: an answer quotes the passages it
    cited, so this finds them again for the question that leans on it."""

    question: str
    query: str
    warning: str | None = None
    context: str = ""
    earlier: str = ""

    @property
    def reading(self) -> str:
        return f"{self.question} {self.context}" if self.context else self.question


def follows_up(question: str, history: Sequence[tuple[str, str]]) -> bool:
    """Whether the question leans on the conversation: a pronoun or "then"/"there" pointing back, or too few
    words of its own to stand alone. A question that stands on its own is searched and read as asked."""
    return bool(history) and bool(_points_back(question) or len(terms(question)) < 2)


def leans_on(question: str, history: Sequence[tuple[str, str]]) -> bool:
    """Whether the reader is asked to rewrite the question for the conversation: a follow-up, or in a conversation
    a question with a definite description of a common noun ("What did the letter ask for?" after "Who wrote to
    Christine Gilbert?"), which in English presupposes a referent both sides know, often from the turns before.
    The rewrite keeps a question that needs nothing as it is (its worked example "Why was the ferry replaced?");
    unlike a pronoun, a description still names what it asks about, so it is not searched with the last turn's
    names or read beside the last turn unless the rewrite still points back (`follows_up`)."""
    return follows_up(question, history) or (bool(history) and _DEFINITE.search(question) is not None)


def _points_back(question: str) -> bool:
    """A pronoun, "then" or "there" whose antecedent is not in the question itself. A possessive pronoun after a
    name the question gives, or a subject pronoun in a clause after it ("How old was Baby P when he died?"), is
    taken to mean that name, as in ordinary English; one before any name ("What did she call Baby Peter's
    death?"), an object pronoun ("Did Ed Balls sack her?": "her" may not mean the subject of its own clause) or
    "then"/"there" points back."""
    for m in _PRONOUN.finditer(question):
        word = m.group(0).lower()
        names = [n for n in CAPITALISED.finditer(question[: m.start()]) if n.start() > 0]
        if word in _SUBJECTS:
            # A subject pronoun means a name before it when a clause of its own begins between them ("Baby P when
            # he died"); in the name's own clause it is someone else ("Which earlier Bond film had he directed?":
            # "Bond" names the films, and "he" the director the conversation was about).
            names = [n for n in names if _CLAUSE.search(question[n.end() : m.start()])]
        if not (names and word in _SELF_RESOLVING):
            return True
    return False


def rewrite(llm: LLM | None, question: str, history: Sequence[tuple[str, str]]) -> Rewrite:
    """The stage: a standalone question for a question that leans on the conversation (`leans_on`; a backend
    failure keeps the question as asked)."""
    warning = None
    if not leans_on(question, history):
        return Rewrite(question, question)
    try:
        question = condense(llm, question, history)
    except BackendError as e:
        warning = f"{e} - the question was not rewritten for the conversation."
    return Rewrite(question, carry_subject(question, history), warning, last_turn(question, history),
                   earlier_turn(history))


def earlier_turn(history: Sequence[tuple[str, str]]) -> str:
    """The last turn as one search query: its question and its answer without markers (a refusal adds nothing)."""
    if not history:
        return ""
    return " ".join(f"{history[-1][0]} {_answered(history)}".split())[:1000]


def last_turn(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The last turn, for the reader, when the question still leans on it (a rewrite that could not resolve
    "her" leaves "What is her job?"): the reader then sees whom the conversation was about."""
    if not follows_up(question, history):
        return ""
    prev_q, prev_a = history[-1][0], " ".join(_answered(history).split())[:200]
    said = f' and was answered "{prev_a}"' if prev_a else ""
    return f'(The question before was "{" ".join(prev_q.split())[:200]}"{said}.)'


def _answered(history: Sequence[tuple[str, str]]) -> str:
    """The last turn's answer without its markers ("" for a refusal: it says nothing the question can lean on)."""
    answer = history[-1][1] or ""
    return "" if answer.startswith(REFUSAL) else MARKER.sub("", answer)


def condense(llm: LLM | None, question: str, history: Sequence[tuple[str, str]]) -> str:
    """A standalone question for a follow-up, rewritten by the reader (the question itself without one)."""
    if not history or llm is None:
        return question
    gen = llm.generate(Prompt(CONDENSE_SYSTEM, condense_turn(question, history), CONDENSE_SHOTS), 64, CONDENSE_SCHEMA)
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


# Words that point back: text.py's third-person pronouns and demonstratives, and the pro-adverbs of place and time.
_POINTING = sorted(THIRD_PERSON | DEMONSTRATIVES | {"there", "then"})
_PRONOUN = re.compile(r"\b(" + "|".join(_POINTING) + r")\b", re.I)
_SELF_RESOLVING = {"he", "she", "they", "his", "their", "its", "it"}
_SUBJECTS = {"he", "she", "they", "it"}
# Words that begin a subordinate clause (English's closed class of subordinators and relative pronouns).
_CLAUSE = re.compile(r"\b(when|whenever|while|after|before|because|since|until|till|if|unless|that|who|which|"
                     r"although|though|as|once|where|whether|so)\b", re.I)
# "the" before a lowercase word: a common noun's description ("the letter"); a name's ("the Royal Albert Hall")
# identifies itself.
_DEFINITE = re.compile(r"\b[Tt]he\s+[a-z]")


def carry_subject(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The search query for a follow-up that still leans on the last turn after the rewrite: the last turn's
    capitalised names the question does not already hold are added.

    Retrieval gets these even after the reader's rewrite, which a small model sometimes leaves vague.
    """
    if not follows_up(question, history):
        return question
    prev_q, prev_a = history[-1][0], _answered(history)
    names = [
        n for n in CAPITALISED.findall(f"{prev_q} . {prev_a[:200]}") if n.split()[0].lower() not in stopwords()
    ]
    if names and all(n.lower() in question.lower() for n in names):
        return question  # the rewrite names them already
    names = [n for n in names if n.lower() not in question.lower()]
    subject = " ".join(dict.fromkeys(names)) or " ".join(terms(prev_q))
    return f"{question} ({subject})" if subject else question
