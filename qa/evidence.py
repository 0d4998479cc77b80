"""Evidence: question terms, answer types, sentence scoring and the sufficiency decision.

All pure functions over plain values, so each rule is unit-tested on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"[A-Za-z0-9£$€%]+(?:[’'][a-z]+)?")
# Words a question is made of that say nothing about its subject.
_QUESTION_WORDS = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "many",
    "much",
    "long",
    "did",
    "does",
    "do",
    "was",
    "were",
    "is",
    "are",
    "has",
    "have",
    "had",
    "the",
    "a",
    "an",
    "of",
    "in",
    "on",
    "to",
    "for",
    "by",
    "with",
    "at",
    "from",
    "and",
    "or",
    "that",
    "this",
    "it",
    "its",
    "he",
    "she",
    "his",
    "her",
    "they",
    "their",
    "them",
    "him",
    "be",
    "been",
    "name",
    "named",
    "called",
    "according",
    "say",
    "said",
    "says",
    "tell",
    "us",
    "me",
    "please",
    "there",
    "can",
    "could",
    "would",
    "should",
    "will",
    "exactly",
    "kind",
    "sort",
    "type",
    "happen",
    "happened",
    "document",
    "documents",
    "text",
    "article",
    "report",
    "reports",
    "mention",
    "mentioned",
    "give",
    "given",
    "number",
    "date",
    "year",
    "day",
    "month",
    "time",
    "real",
    "full",
    "often",
    "get",
    "got",
}
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "hundred": 100,
    "thousand": 1000,
    "twice": 2,
    "dozen": 12,
}
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_DATE_RE = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December)(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?\b|\b(?:19|20)\d{2}\b|"
    r"\b(?:yesterday|today|last\s+year|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_NUMBER_RE = re.compile(
    r"(?:£|\$|€)?\d[\d,.]*(?:\s\d{3,})*(?:m|bn|k)?\b(?:-(?:month|year|week|day)s?-old)?|\b(?:"
    + "|".join(_NUMBER_WORDS)
    + r")\b",
    re.IGNORECASE,
)
_NAME_RE = re.compile(r"\b[A-Z][a-zA-Z’'-]+(?:\s+(?:[A-Z][a-zA-Z’'-]+|of|for|and|the)\b)*")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stopwords (nltk's list, shipped inside llama-index-core) plus question words."""
    from .clean import _punkt

    _punkt()  # puts llama-index's bundled nltk data on nltk's path
    from nltk.corpus import stopwords as sw

    return frozenset(sw.words("english")) | _QUESTION_WORDS


def tokens(text: str) -> list[str]:
    """Lower-case word tokens."""
    return [t.lower().replace("’", "'") for t in _TOKEN.findall(text)]


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """Stemmed content terms of a text, in order, without stopwords."""
    stops = stopwords()
    out = []
    for t in tokens(text):
        t = t.split("'")[0]
        if t and t not in stops and (len(t) > 1 or t.isdigit()):
            out.append(stem(t))
    return out


def number_values(text: str) -> set[str]:
    """Numbers in a text as canonical strings ("forty" and "40" both give "40")."""
    out = set()
    for m in _NUMBER_RE.finditer(text):
        raw = m.group().lower()
        if raw in _NUMBER_WORDS:
            out.add(str(_NUMBER_WORDS[raw]))
            continue
        digits = re.match(r"[£$€]?([\d,.]*\d)", raw)
        if digits:
            out.add(digits.group(1).replace(",", "").rstrip("."))
    return out


# --- answer types -------------------------------------------------------------------------

ANY, NUMBER, DATE, PERSON, PLACE = "any", "number", "date", "person", "place"


def answer_type(question: str) -> str:
    """What kind of answer a question asks for."""
    q = question.lower()
    if re.search(r"\bhow (many|much|old|often|long ago)\b|\bwhat (age|percentage|proportion)\b|\bnumber\b", q):
        return NUMBER
    if re.search(r"\bwhen\b|\bwhat (date|year|day|month|time)\b|\bwhich (date|year|day|month)\b|\bhow long\b", q):
        return DATE if "how long" not in q else NUMBER
    if re.search(
        r"\bname\b|^\s*(who|whom|whose)\b|\bwhich (person|people|man|woman|minister|official)\b|\bwho\b", q
    ):
        return PERSON
    if re.search(r"^\s*where\b|\bwhich (borough|city|town|country|place|county)\b|\bwhere\b", q):
        return PLACE
    return ANY


def has_type(text: str, kind: str, question: str = "") -> bool:
    """Whether `text` holds something of the asked-for kind that the question does not already give."""
    return kind == ANY or bool(find_typed(text, kind, question))


_NOT_NAMES = {
    "earlier",
    "later",
    "mr",
    "mrs",
    "ms",
    "dr",
    "but",
    "and",
    "the",
    "in",
    "he",
    "she",
    "it",
    "this",
    "that",
    "his",
    "her",
    "their",
    "its",
    "a",
    "an",
    "of",
    "for",
    "after",
    "before",
    "yesterday",
    "today",
}


def _name_runs(text: str, question: str) -> list[tuple[int, int]]:
    """Runs of capitalised words in `text` with no word the question already uses."""
    asked = {stem(t) for t in tokens(question)}
    runs: list[tuple[int, int]] = []
    for m in re.finditer(r"[A-Z][\w’'-]*", text):
        word = m.group()
        base = word.lower().replace("’", "'").split("'")[0]
        if stem(base) in asked or base in _NOT_NAMES or base in _QUESTION_WORDS:
            continue
        if runs and re.fullmatch(r"\s+", text[runs[-1][1] : m.start()]):
            runs[-1] = (runs[-1][0], m.end())
        else:
            runs.append((m.start(), m.end()))
    return runs


def new_names(text: str, question: str) -> list[str]:
    """Capitalised names in `text` that the question does not already contain."""
    return [text[a:b] for a, b in _name_runs(text, question)]


_AGE_RE = re.compile(
    r"\b\d+-(?:year|month|week|day)s?-old\b|\(\d{1,3}\)|,\s*\d{1,3}\b|\b(?:aged|turned|age of)\s+\d+"
    r"|\b\d+\s+(?:years?|months?)\s+old\b"
)


@dataclass(frozen=True)
class _Span:
    text: str
    a: int
    b: int

    def group(self) -> str:
        return self.text

    def start(self) -> int:
        return self.a

    def end(self) -> int:
        return self.b


def find_typed(text: str, kind: str, question: str) -> list[str]:
    """Spans of `text` of the asked-for kind that the question does not give, nearest its terms first."""
    return [span for span, _, _ in typed_spans(text, kind, question)]


def typed_spans(text: str, kind: str, question: str) -> list[tuple[str, int, bool]]:
    """Like find_typed, with each span's distance in characters to the nearest question term, and
    whether the span is only a weak guess.

    Spans of the kind that are weaker guesses (a bare "today", a lone capitalised word, a number
    that is no age for "how old") are pushed back by a penalty added to their distance.
    """
    vague: set[int] = set()
    penalty = 40
    if kind == NUMBER:
        given = number_values(question)
        found = [m for m in _NUMBER_RE.finditer(text) if not (number_values(m.group()) & given)]
        if re.search(r"\bhow old\b|\bwhat age\b", question, re.IGNORECASE):
            # Ages look like "17-month-old", "(36)", "aged 8", "turned 31"; other numbers rank far behind.
            vague = {m.start() for m in found if not _AGE_RE.search(text[max(0, m.start() - 8) : m.end() + 12])}
            penalty = 400  # any age in the evidence beats every other number
    elif kind == DATE:
        given = set(tokens(question))
        found = [m for m in _DATE_RE.finditer(text) if not set(tokens(m.group())) <= given]
        # A full date ("3 August 2007") beats "today" or a bare year.
        penalty = 100
        vague = {
            m.start() for m in found if not (re.search(r"\d{4}", m.group()) and re.search(r"[A-Za-z]", m.group()))
        }
    elif kind in (PERSON, PLACE):
        found = [_Span(text[a:b], a, b) for a, b in _name_runs(text, question)]
        # A lone capitalised word is often an adjective or a place ("Conservative"); full names first.
        vague = {m.start() for m in found if " " not in m.group()}
    else:
        return []
    # "old" finds "17-month-old" for retrieval, but every age carries it: it anchors nothing.
    q_terms = set(terms(question)) - {"old"}
    anchors = [(m.start(), m.end()) for m in _TOKEN.finditer(text) if set(terms(m.group())) & q_terms]

    def distance(m) -> int:
        near = min((max(a - m.end(), m.start() - b, 0) for a, b in anchors), default=len(text))
        return near + (penalty if m.start() in vague else 0)

    return sorted(((m.group().strip(" ,"), distance(m), m.start() in vague) for m in found), key=lambda p: p[1])


# --- sentence scoring ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """A candidate evidence sentence, with where it sits and how it scored."""

    source: str
    title: str
    text: str
    start: int
    end: int
    chunk_id: str
    chunk_rank: int
    dense: float = 0.0
    lexical: float = 0.0
    score: float = 0.0


def idf_weights(query_terms: Iterable[str], df: dict[str, int], n_docs: int) -> dict[str, float]:
    """BM25-style idf per query term; a term the corpus never uses gets the largest weight."""
    return {t: math.log(1 + (n_docs - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in set(query_terms)}


def coverage(query_terms: Sequence[str], text_terms: Iterable[str], weights: dict[str, float]) -> float:
    """Share of the query's idf weight that the text's terms cover (0..1)."""
    qs = set(query_terms)
    total = sum(weights.get(t, 1.0) for t in qs)
    if not total:
        return 0.0
    have = set(text_terms)
    return sum(weights.get(t, 1.0) for t in qs if t in have) / total


def combine(dense: float, lexical: float, chunk_rank: int) -> float:
    """One evidence score from a sentence's dense similarity, term coverage and its chunk's rank."""
    return 0.5 * dense + 0.5 * lexical + 0.04 / (1 + chunk_rank)


def rank_sentences(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Best first; ties go to the better-ranked chunk, then document order."""
    return sorted(sentences, key=lambda s: (-s.score, s.chunk_rank, s.start))
