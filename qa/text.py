"""Shared text primitives: word tokens, the one stemmer, stopwords, numbers, line and sentence spans.

Everything works on spans of the original text, so offsets stay true to the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache

Span = tuple[int, int]

_TOKEN = re.compile(r"[^\W_]+(?:[’'][^\W_]+)?")
# English number words, so "forty" and "40" compare equal when an answer is checked against its sentence.
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
# A run of capitalised words: a name ("Baby P", "Christine Gilbert"), or a sentence's first word.
CAPITALISED = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _punkt():
    # Punkt and the stopword list ship inside llama-index-core's package data; point nltk there so
    # nothing downloads.
    import llama_index.core
    import nltk

    path = os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")
    if path not in nltk.data.path:
        nltk.data.path.append(path)
    return nltk.tokenize.PunktTokenizer("english")


# English's personal and demonstrative pronouns, a closed class of words. A follow-up's third-person and
# demonstrative ones (and "there", "then") may point back into the conversation (`rewrite`); an answer that is
# any one of them alone names no one (`reader.bare_pronoun`).
FIRST_SECOND_PERSON = frozenset("i me my mine we us our ours you your yours".split())
THIRD_PERSON = frozenset("he him his she her hers it its they them their theirs".split())
DEMONSTRATIVES = frozenset("this that these those".split())
PRONOUNS = FIRST_SECOND_PERSON | THIRD_PERSON | DEMONSTRATIVES


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """nltk's English stopwords, as shipped inside llama-index-core."""
    _punkt()
    from nltk.corpus import stopwords as sw

    return frozenset(sw.words("english"))


def warm_up() -> None:
    """Load the stemmer, the sentence splitter and the stopword list now (about 2 s on 2 cores, mostly nltk's
    Punkt model), so that the first question after a start does not wait for them."""
    _stemmer()
    stopwords()


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits; a possessive or contraction stays on its word)."""
    return [t.lower().replace("’", "'") for t in _TOKEN.findall(text)]


def stem(word: str) -> str:
    """The Snowball English stem of one lower-case word."""
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


def name_terms(text: str) -> set[str]:
    """The content terms of the names a text holds: its capitalised words, but for the first word of the text
    ("Where was Spectre filmed?" names Spectre)."""
    out: set[str] = set()
    for m in CAPITALISED.finditer(text):
        words = m.group().split()
        out.update(terms(" ".join(words[1:] if m.start() == 0 else words)))
    return out


def numbers(text: str) -> set[str]:
    """The numbers a text states, canonical ("forty", "40" and "40.0" give "40"; "1,000" gives "1000")."""
    out = {str(_NUMBER_WORDS[t]) for t in tokens(text) if t in _NUMBER_WORDS}
    for m in _NUMBER.finditer(text):
        raw = m.group().replace(",", "").rstrip(".")
        try:
            value = float(raw)
        except ValueError:
            out.add(raw)
            continue
        out.add(str(int(value)) if value.is_integer() else str(value))
    return out


def line_spans(text: str) -> Iterator[Span]:
    """Spans of the non-blank lines of `text`, without their surrounding whitespace."""
    for m in re.finditer(r"[^\n]+", text):
        line = m.group()
        if not line.strip():
            continue
        start = m.start() + len(line) - len(line.lstrip())
        yield start, start + len(line.strip())


# Where Punkt's English model ends a sentence that has not ended: after a name's initials ("J.S. Bach", "A.S.E.
# Ackermann", "J. B. Lippincott", "the U.S. Billboard Hot 100") and after a short capitalised abbreviation before
# a number ("No. 1", "Op. 21", "Vol. 3"). Of the 3,358 sentences of the eval's public articles and the seeds, 73
# ended at one, and each half then became an evidence sentence (or a claim: "He, along with his technical advisor
# A.S.E.") of its own. Such a break is taken back, unless the next word usually starts a sentence (a stopword:
# "...married Jay Z. She revealed..."). A break taken back wrongly joins two sentences into one evidence sentence,
# which still holds both; a wrong break leaves a fragment no claim can rest on.
_INITIALS = re.compile(r"(?:^|[\s(\"'“‘])(?:[A-Z]\.){1,4}$")
_NUMBERED = re.compile(r"(?:^|[\s(\"'“‘])[A-Z][a-z]{0,2}\.$")
_FIRST_WORD = re.compile(r"[\W_]*(\w+)")


# The same rule the other way: Punkt keeps a name that ends in an initial together with the next sentence when
# that sentence begins with a capitalised word ("... temporary carers for Baby P. Our reading of the review ...":
# one 60-word evidence sentence, too long to be a claim). When that word is a stopword of two letters or more
# ("Our", "He", "The"; not "A", which is another initial in "E. A. Poe"), the initial ended a sentence.
_INITIAL_THEN = re.compile(r"(?:^|[\s(\"'“‘])(?:[A-Z]\.){1,4}(\s+)(?=([A-Z]\w+)\b)")


def punkt_spans(text: str) -> list[Span]:
    """Punkt's sentence spans of `text`, less its breaks after initials and before numbered references, plus a
    break after an initial that a sentence-opening stopword follows."""
    out: list[Span] = []
    for s, e in _punkt().span_tokenize(text):
        if out and _not_a_break(text[out[-1][0] : out[-1][1]], text[out[-1][1] : s], text[s:e]):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return [piece for span in out for piece in _break_after_initials(text, span)]


def _break_after_initials(text: str, span: Span) -> list[Span]:
    s, e = span
    gaps = [m.span(1) for m in _INITIAL_THEN.finditer(text, s, e) if m.group(2).lower() in stopwords()]
    return list(zip([s, *(b for _, b in gaps)], [*(a for a, _ in gaps), e], strict=True))


def _not_a_break(before: str, gap: str, after: str) -> bool:
    m = _FIRST_WORD.match(after)
    if "\n" in gap or not m:
        return False
    word = m.group(1)
    if _NUMBERED.search(before) and word[0].isdigit():
        return True
    return bool(_INITIALS.search(before)) and word[0].isupper() and word.lower() not in stopwords()


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans inside text[start:end] (nltk's Punkt); a line break always ends a sentence."""
    end = len(text) if end is None else end
    out: list[Span] = []
    for ls, le in line_spans(text[start:end]):
        line = text[start + ls : start + le]
        for ss, se in punkt_spans(line):
            if re.search(r"\w", line[ss:se]):
                out.append((start + ls + ss, start + ls + se))
    return out


def sentence_pieces(text: str) -> list[str]:
    """The text cut into sentences by Punkt, each with the white space after it, so that they join back into
    the text: what llama-index's SentenceSplitter packs into chunks. Its own default is an untrained Punkt that
    knows no abbreviations, so a chunk could end inside a sentence at "U.S." or "Dr." (22 of the 1,226 chunks
    of the public-cal articles did) and each half became an evidence sentence of its own. llama-index's own
    split_by_sentence_tokenizer_internal does this with any tokenizer, but it is internal and drops the text
    before the first sentence, which the chunks' exact offsets need."""
    starts = [s for s, _ in punkt_spans(text)]
    if not starts:
        return [text] if text else []
    starts[0] = 0
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
