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
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much", "long",
    "old", "did", "does", "do", "was", "were", "is", "are", "has", "have", "had", "the", "a", "an",
    "of", "in", "on", "to", "for", "by", "with", "at", "from", "and", "or", "that", "this", "it", "its",
    "he", "she", "his", "her", "they", "their", "them", "him", "be", "been", "name", "named", "called",
    "according", "say", "said", "says", "tell", "us", "me", "please", "there", "can", "could", "would",
    "should", "will", "exactly", "kind", "sort", "type", "happen", "happened", "document", "documents",
    "text", "article", "report", "reports", "mention", "mentioned", "give", "given", "number",
}
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "hundred": 100, "thousand": 1000, "twice": 2, "dozen": 12,
}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_DATE_RE = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December)(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?\b|\b(?:19|20)\d{2}\b|"
    r"\b(?:yesterday|today|last\s+year|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_NUMBER_RE = re.compile(
    r"(?:£|\$|€)?\d[\d,.]*(?:m|bn|k)?\b(?:-(?:month|year|week|day)s?-old)?|\b(?:"
    + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
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
    if re.search(r"\bhow (many|much|old|often|long ago)\b|\bwhat (age|number|percentage|proportion)\b", q):
        return NUMBER
    if re.search(r"\bwhen\b|\bwhat (date|year|day|month|time)\b|\bwhich (date|year|day|month)\b|\bhow long\b", q):
        return DATE if "how long" not in q else NUMBER
    if re.search(r"^\s*(who|whom|whose)\b|\bwhich (person|people|man|woman|minister|official)\b|\bwho\b", q):
        return PERSON
    if re.search(r"^\s*where\b|\bwhich (borough|city|town|country|place|county)\b|\bwhere\b", q):
        return PLACE
    return ANY


def has_type(text: str, kind: str, question: str = "") -> bool:
    """Whether `text` holds something of the kind the question asks for."""
    if kind == NUMBER:
        return bool(number_values(text))
    if kind == DATE:
        return bool(_DATE_RE.search(text))
    if kind in (PERSON, PLACE):
        return bool(new_names(text, question))
    return True


def new_names(text: str, question: str) -> list[str]:
    """Capitalised names in `text` that the question does not already contain."""
    asked = {stem(t) for t in tokens(question)}
    out = []
    for m in _NAME_RE.finditer(text):
        words = [w for w in m.group().split() if w[0].isupper()]
        fresh = [w for w in words if stem(w.lower().replace("’", "'").split("'")[0]) not in asked]
        if fresh and not (m.start() == 0 and len(words) == 1 and words[0].lower() in stopwords()):
            out.append(m.group())
    return out


def find_typed(text: str, kind: str, question: str) -> list[str]:
    """Spans of `text` that are of the asked-for kind, in order."""
    if kind == NUMBER:
        return [m.group() for m in _NUMBER_RE.finditer(text)]
    if kind == DATE:
        return [m.group() for m in _DATE_RE.finditer(text)]
    if kind in (PERSON, PLACE):
        return new_names(text, question)
    return []


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
