"""Claims: an answer as one or more statements, each resting on its own evidence sentence.

A question that asks for a name, date, place or number (who, when, where, how many, what year...) gets the
reader's exact phrase alone. Any other question (what did..., why, how, which ones, summarise, yes or no) gets
the reader's answer as its lead and then the points: the other evidence sentences (with those of the chunks
the question and its lead find together: `Engine.widened`) that score close to the best
one (POINT_RATIO of its score, chosen on the synthesis dev split by the grid in eval/README.md), that add
content the answer does not already hold, within a word budget a person reads at a glance. The small reader
selects; it is not asked to write a summary (a 1.5B model writing freely over many sentences writes one vague
sentence: see eval/README.md). Each point is a sentence's own words, checked against it like any answer.

Pure functions over the evidence stage's records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from . import verify
from .evidence import Evidence, Sentence
from .text import DEMONSTRATIVES, THIRD_PERSON, name_terms, terms, tokens

# Fitted on the synthesis dev split (eval/README.md: a grid over ratio 0.4-0.8, neighbours 0-3, 4 or 6 points,
# novelty 0.3 or 0.5, within the word budget; the test split was scored once, after).
POINT_RATIO = 0.5  # a point's evidence score must reach this share of the best sentence's
NEIGHBOURS = 2  # sentences either side of the answer's own, next to it in its document, are points too
NOVELTY = 0.3  # the share of a point's content terms (beyond the question's) that earlier claims do not hold
WORD_BUDGET = 110  # words of the whole answer, lead and points: read at a glance
MAX_POINTS = 6
# Points are ranked by score times the mean idf of the terms they add, to this power: 0.25, 0.5 and 0.75 each
# covered one more key point of the 103 in the synthesis dev halves (seed, public, public-cal) and lost none; 1.0
# lost 3. eval/README.md has the sweep.
SPECIFICITY = 0.5
POINT_WORDS = (4, 45)  # a sentence shorter or longer than this is not a point (a heading; a paragraph)
# After a name, date or number (a question asking for one value may have several: "Who will carry out the
# review?"), a point must score this share of the best sentence's and say what the answer's sentence says of the
# question (`phrase_terms`). Swept on the captured evidence of the synthesis and factoid dev halves (eval/README.md):
# 0.5 to 0.8 cover the same key points but one, and the higher, the fewer factoid answers get points at all.
PHRASE_RATIO = 0.8

_WH = re.compile(r"\b(who|whom|whose|when|where|what|which|how|why)\b\s*(\w+)?(?:\s+(\w+))?(?:\s+(\w+))?", re.I)
# The words after "what"/"which" (possibly after is/was/the) that ask for one value; after "how", a quantity.
_VALUE = frozenset(
    "year years date day days month time name names age number percentage percent amount price cost size".split()
)
_QUANTITY = frozenset("many much old long far often big large tall high late soon".split())
_AUXILIARY = frozenset("did does do is was are were will would can could should has have had of".split())
_FILLER = frozenset("is was are were the a an his her its their".split())
_MARKUP = re.compile(r"^[\s#>*•·\-–—]+|[*_`]{1,3}(?=\S)|(?<=\S)[*_`]{1,3}")


def wants_phrase(question: str) -> bool:
    """Whether the question asks for one value (a name, date, place or number), decided by its first question
    word: who, whom, whose, when, where; "how" with a quantity; "what"/"which" with a value noun; "which" with
    a singular noun ("which minister", not "which inspectorates")."""
    m = _WH.search(question)
    if not m:
        return False
    wh = m.group(1).lower()
    nxt = [w.lower() for w in m.groups()[1:] if w]
    if wh in ("who", "whom", "whose", "when", "where"):
        return True
    if wh == "how":
        return bool(nxt) and nxt[0] in _QUANTITY
    words = [w for w in nxt if w not in _FILLER]
    if wh == "which" and words and words[0] not in _AUXILIARY:
        # "which minister" asks for one; "which inspectorates" for several (the noun after a possessive counts)
        noun = next((w for w in words if "'" not in w and "’" not in w), words[-1])
        return not (noun.endswith("s") and not noun.endswith("ss")) or noun in _VALUE
    if wh in ("what", "which"):
        return bool(words) and words[0] in _VALUE
    return False


def asks_yes_no(question: str) -> bool:
    """Whether the question asks yes or no: it opens with an auxiliary or modal verb ("Will any staff lose their
    jobs?", "Was that better than before?") and offers no alternatives ("Active or passive?" wants one of them)."""
    words = question.strip().split()
    return bool(words) and words[0].lower() in _POLAR and not re.search(r"\bor\b", question, re.I)


# English's auxiliary and modal verbs (a closed class), which open a yes/no question.
_POLAR = frozenset("am is are was were do does did will would shall should can could may might must has have had".split())


# Where a question asking two things starts its second: "and" (or ";") and then a clause of its own, a question word
# with a verb ("..., and when was the first report due?", "... and how many were there?"). "Macy's and what other
# store?" or "Mozart and who for his lessons?" ask one thing about two (none of the 4,719 SQuAD questions of the
# public copy is cut).
_SECOND = re.compile(
    r"\s*(?:,?\s+and|;)\s+(?=(?:(?:who|whom|whose|when|where|what|which|why)\s+(?:" + "|".join(sorted(_POLAR))
    + r")|how\s+(?:" + "|".join(sorted(_QUANTITY)) + r"|" + "|".join(sorted(_POLAR)) + r"))\b)",
    re.I,
)


def parts(question: str) -> tuple[str, ...]:
    """The questions a question asks: itself, or each part of one that asks two things or more ("Under what law
    did he request the review, and when was the first report due?"), each as a question of its own."""
    pieces = [p.strip(" ,;?") for p in _SECOND.split(question)]
    if len(pieces) < 2 or any(len(p.split()) < 3 for p in pieces):
        return (question,)
    return tuple(f"{p[0].upper()}{p[1:]}?" for p in pieces)


# A request for an overview of the documents as a whole ("Summarise the documents.", "What are these files about?",
# "What do the documents say?"): English's words for asking for a summary, and for documents. A question all of
# whose content words are among them names nothing to search for, so it is answered from every document.
_ASKING = frozenset(terms("summarise summarize summary overview outline gist describe topics points cover contain say"))
_OVERVIEW = _ASKING | frozenset(
    terms("main key brief briefly short quick tell give please document file text folder corpus collection")
)


def asks_overview(question: str) -> bool:
    """Whether the question asks what the documents as a whole say: it asks for a summary ("summarise",
    "overview", "what ... about") and every content word it has is one of asking or of documents."""
    words = set(terms(question))
    return words <= _OVERVIEW and bool(words & _ASKING or "about" in tokens(question))


def central(sentences: Sequence[Sentence], vectors: Sequence[np.ndarray], k: int = 1) -> list[Sentence]:
    """Up to k sentences that say most of what their document says, most central first: those nearest the mean of
    the document's sentence vectors (the centroid method of extractive summarisation, as in MEAD: Radev et al.,
    2004), each adding content the ones before it do not hold. Only a sentence a claim can be is chosen; the others
    still count towards the mean. One that begins with a pronoun ("Her killing ...") leans on the sentence before
    it, so it comes after every one that stands on its own. A few lines of numpy over the vectors the evidence
    stage already computes, rather than a summarisation library and its own models."""
    if not sentences:
        return []
    m = np.asarray(vectors, dtype=np.float32)
    m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)
    closeness = m @ m.mean(axis=0)
    usable = [i for i, s in enumerate(sentences) if _sentence_sized(plain(s.text)) and not _INTRO.search(s.text)]
    out: list[Sentence] = []
    held: set[str] = set()
    for i in sorted(usable, key=lambda i: (not _stands_alone(sentences[i].text), -closeness[i], i)):
        content = set(terms(sentences[i].text))
        if out and repeats(content, held):
            continue
        out.append(sentences[i])
        held |= content
        if len(out) == k:
            break
    return out


def antecedent(s: Sentence, sentences: Sequence[Sentence]) -> Sentence | None:
    """The sentence just before s in its document that s's opening pronoun points to ("Her killing ...", "He added:
    ...", "These included ..."), when `sentences` hold it next to s (nothing but white space between) and it is
    sentence-sized; None for a sentence that stands alone. A lead that opens with a pronoun is shown after it:
    alone, "Her killing, one of Britain's worst-ever child abuse cases, resulted in a public inquiry and a radical
    change in child protection policies" reads, in an answer on what changed after the Baby P case, as if it were
    about Baby P; the sentence before it names Victoria Climbie. Its words are not counted in the answer's word
    budget, so the points stay as they were: on the captured evidence of the synthesis dev halves, 90 of 121 key
    points covered with and without it, at 1.9 words more per answer (eval/README.md)."""
    if _stands_alone(s.text):
        return None
    near = neighbours(sentences, s, 1)
    before = next((x for x in sentences if _key(x) in near and x.start < s.start), None)
    return before if before is not None and _sentence_sized(plain(before.text)) else None


def _stands_alone(text: str) -> bool:
    """Whether a sentence does not begin with a pronoun that points to the one before it."""
    words = tokens(plain(text))[:1]
    return not words or words[0] not in THIRD_PERSON | DEMONSTRATIVES


def plain(text: str) -> str:
    """A sentence as a claim's text: one line, without list bullets, markdown emphasis, or a footnote mark left
    at its start by the sentence splitter ("[q] The camera movement was reworked": web pages' reference marks
    stand after the full stop, so they begin the next sentence, where they would read as a claim's marker).
    A list item that continues its introduction ("... clear evidence that:" then "- there was poor practice")
    starts with a capital as a claim of its own; a word with a capital inside it ("iPod") stays as it is."""
    out = " ".join(_FOOTNOTE.sub("", _MARKUP.sub("", text)).split())
    first = out.split(" ", 1)[0]
    return out[:1].upper() + out[1:] if _ITEM.match(text) and first.isalpha() and first.islower() else out


_FOOTNOTE = re.compile(r"^\s*(?:\[[^\]\s]{1,12}\]\s*)+")


@dataclass(frozen=True)
class Point:
    """A point chosen for the answer, or left out (with why)."""

    sentence: Sentence
    text: str
    reason: str = ""  # empty for a point shown


def lead_text(answer: str, sentence: Sentence | None) -> str:
    """The lead of an answer that wants more than a phrase: the reader's answer, or the whole sentence it rests
    on when that says more than the answer alone ("mixed reviews" from "Spectre received mixed reviews upon its
    release; although criticised for its length, ..., it received praise for its action sequences ..."). The
    sentence's own words, so it is verified as the answer was; a heading or a paragraph-long sentence is not used.
    The sentence, too, when the answer words a term its own way (the support check lets a sentence-long answer
    word one term in five so): "The letter said that the council should not have used family friends..." rests
    on a news report's "The first review revealed the council should not have used family friends...", and a
    claim shown as supported says only what its passage says.
    """
    if sentence is None:
        return answer
    text = plain(sentence.text)
    if answer.strip() == sentence.text.strip():
        return text  # the answer is the sentence (answerer.in_its_words)
    if not _sentence_sized(text):
        return answer
    own, says = set(terms(text)), set(terms(answer))
    return answer if repeats(own, says) and says <= own else text


def points(question: str, lead: Sentence | None, lead_text: str, evidence: Evidence,
           ratio: float = POINT_RATIO, first: Sequence[Point] = (),
           idf: Callable[[str], float] | None = None, must: Collection[str] | None = None,
           lead_before: Sentence | None = None) -> tuple[list[Point], list[Point]]:  # fmt: skip
    """The points after the lead, best first, and those left out for the trace. `first` are points the reader's
    own answer made (its further sentences, each checked against its evidence sentence): they come first.
    After a phrase (the answer is a name, date or number), `must` is its `phrase_terms`: a point must hold
    them (none when they are empty), and the answer's neighbours are not points for being next to its sentence.
    `lead_before` is the lead's `antecedent` when the lead shows it (`lead_text` holds both): it is not a point
    again, and its words are not the points' to spend.

    Each next point is the eligible sentence (close enough to the best score, sentence-sized, adding content
    the answer does not hold, within the word budget, verified) with the highest priority: an item of the
    answer's list (`answer_list`) before any other sentence, then its `focus` (its score measured from the
    topic all the retrieved sentences share; its score where it has none, and for the lead's neighbours) times
    the SPECIFICITY-th power of the mean `idf` of the terms it adds (without `idf`, that alone). A sentence
    that restates the question in general words ("the review's findings indicate a number of failings")
    scores as high as one that names a finding, and adds only common terms; one that only names the topic ("The
    case of Baby P is tragic") is as near the question as one that says what it asks, until the topic is
    taken away."""
    best = evidence.best
    if best is None:
        return [], []
    held = set(terms(lead_text)) | (set(terms(lead.text)) if lead else set())
    said = frozenset(held)  # what the lead says (held grows with each point)
    asked = set(terms(question))
    words = len(lead_text.split())
    chosen: list[Point] = []
    left: list[Point] = []
    used = {_key(lead)} if lead is not None else set()  # the sentences the lead and the points already show
    if lead_before is not None:
        used.add(_key(lead_before))
        words -= len(plain(lead_before.text).split())
    for p in first:
        if _key(p.sentence) in used:
            continue  # two sentences of the answer from one evidence sentence: the lead or point shows it
        chosen.append(p)
        used.add(_key(p.sentence))
        held |= set(terms(p.text)) | set(terms(p.sentence.text))
        words += len(p.text.split())
    phrase = must is not None
    must = set(must or ())
    if phrase and not must:
        return chosen, left  # nothing tells another answer from a sentence on the question's subject
    near = {} if phrase else neighbours(evidence.ranked, lead, NEIGHBOURS)
    # A neighbour of the answer's sentence is just eligible, after the points that score on their own (the
    # nearer, the earlier); a list holding one carries it as it carries any item.
    pool = [replace(s, score=max(s.score, best.score * ratio * (1 + 0.01 * (NEIGHBOURS + 1 - near[_key(s)]))))
            if _key(s) in near else s for s in evidence.ranked]  # fmt: skip
    lists = _list_items(pool, lead, said)  # each item's score, and whether its list is the answer's (first)
    relevance = {_key(s): lists[_key(s)][0] if _key(s) in lists else s.score for s in pool}
    # Each candidate's text, the content terms it has beyond the question's, and its length: once, not per round.
    open_ = []
    for s in sorted(pool, key=lambda s: -relevance[_key(s)]):
        if relevance[_key(s)] >= ratio * best.score and _key(s) not in used:
            text = plain(s.text)
            open_.append((s, text, set(terms(text)) - asked, len(text.split())))
    while len(chosen) < MAX_POINTS:
        pick, top, still = None, (False, float("-inf")), []
        for c in open_:
            s, text, new, n = c
            if not _sentence_sized(text) or not new:
                continue
            listed = _key(s) in lists and lists[_key(s)][1]  # an item of the answer's list
            if not listed and not must <= set(terms(text)):
                continue  # after a phrase: not on what the question asks (an item of the answer's list is)
            if repeats(new, held):
                left.append(Point(s, text, "repeats what the answer already says"))
                continue
            if words + n > WORD_BUDGET:
                left.append(Point(s, text, "over the answer's word budget"))
                continue
            still.append(c)
            priority = relevance[_key(s)]
            if s.focus is not None and not listed and _key(s) not in near:
                # Ranked by what it says beyond the retrieved passages' shared topic (`Sentence.focus`); whether
                # it is eligible at all is still its own score against the best sentence's.
                priority = max(s.focus, 1e-6)
            if idf is not None:
                adds = new - held  # not empty: the share of new terms passed NOVELTY
                priority *= (sum(idf(t) for t in adds) / len(adds)) ** SPECIFICITY
            rank = (listed, priority)  # the answer's list before the rest
            if rank > top:
                pick, top = c, rank
        if pick is None:
            break
        open_ = [c for c in still if c is not pick]
        s, text, new, n = pick
        support = verify.check(text, 1, [s], question)
        if not support.ok:
            left.append(Point(s, text, f"not verified: {support.reason}"))
            continue
        chosen.append(Point(s, text))
        used.add(_key(s))
        held |= new
        words += n
    return chosen, left


def phrase_terms(question: str, lead: Sentence, phrase: str, idf: Callable[[str], float] | None = None) -> set[str]:
    """What a point after a phrase must hold to answer the question as the phrase does: the question's terms
    that the phrase's sentence holds, less the phrase's own, its names ("Where was Spectre filmed?" asks of
    Spectre: a sentence naming Spectre is not a filming place) and the terms more than half the index's chunks
    hold (idf below log 2: what the documents are about). Empty when the sentence holds nothing of what is asked
    beyond names, and then nothing tells another answer from another sentence on the same subject."""
    held = set(terms(question)) & set(terms(lead.text))
    held -= set(terms(phrase)) | name_terms(question)
    return {t for t in held if idf is None or idf(t) > math.log(2)}


ITEM_BREAK = "\n- "  # what comes before each point in an answer's text


def piece(n: int, text: str) -> str:
    """Claim n's (0-based) part of the answer's text: the lead as it is, each point a list item after it."""
    return f"{ITEM_BREAK}{text}" if n else text


_ITEM = re.compile(r"^\s*(?:[•·*\-–—]|\d{1,2}[.)])\s")
_INTRO = re.compile(r":\W{0,3}$")
ADJACENT = 12  # characters between two sentences next to each other (a line break, a bullet's indent)
# A sentence, not a heading or a navigation line; nor one ending in a colon, which introduces what follows it (a
# list, a quote) and says nothing on its own ("In 1916 Shuman was quoted in the media ..., saying:"). On the
# captured evidence of the synthesis dev halves, leaving those out covered one more key point of 103, none lost.
_ENDED = re.compile(r"[.!?;]\W{0,3}$")


def neighbours(sentences: Sequence[Sentence], lead: Sentence | None, k: int) -> dict[tuple[str, int], int]:
    """The sentences up to k before and after the answer's own in its document, with their distance, as long
    as nothing but white space separates them (the text around an answer often continues it: the rest of a
    quote, the next finding)."""
    if lead is None or k <= 0:
        return {}
    doc = sorted((s for s in sentences if s.source == lead.source), key=lambda s: s.start)
    keys = [_key(s) for s in doc]
    if _key(lead) not in keys:
        return {}
    i, out = keys.index(_key(lead)), {}
    for step in (1, -1):
        for d in range(1, k + 1):
            j, prev = i + step * d, i + step * (d - 1)
            if not 0 <= j < len(doc):
                break
            a, b = sorted((doc[j], doc[prev]), key=lambda s: s.start)
            if b.start - a.end > ADJACENT:
                break
            out[keys[j]] = d
    return out


def _sentence_sized(text: str) -> bool:
    """A sentence a claim can be: POINT_WORDS long and ended like a sentence (not a heading or a paragraph)."""
    return POINT_WORDS[0] <= len(text.split()) <= POINT_WORDS[1] and bool(_ENDED.search(text))


def _key(s: Sentence) -> tuple[str, int]:
    return s.source, s.start


def list_scores(sentences: Sequence[Sentence], lead: Sentence | None = None,
                said: frozenset[str] = frozenset()) -> dict[tuple[str, int], float]:  # fmt: skip
    """Each list item's score as a point: the best sentence's when its list is the answer's (`answers`);
    otherwise its own, or its list's introduction's (the sentence before the items that ends with a colon) when
    that is higher. The introduction says what the list enumerates, so when it answers the question so do the
    items, though they share fewer of the question's words. One item that shares them does not make its
    siblings answers: a list of a review's failings, one of which names "non-accidental injuries", does not
    describe a child's injuries (on the captured evidence of the four synthesis dev halves, 88 -> 90 of 121 key
    points against items carrying their list's best score, none lost)."""
    return {k: score for k, (score, _) in _list_items(sentences, lead, said).items()}


def answer_list(sentences: Sequence[Sentence], lead: Sentence | None = None,
                said: frozenset[str] = frozenset()) -> set[tuple[str, int]]:  # fmt: skip
    """The items of the answer's lists: a document's own enumeration of what the answer says, taken as points
    before the sentences that score on their own (on the captured synthesis dev evidence, one more key point of
    103, none lost: a letter's list of findings had lost the word budget to sentences about the findings)."""
    return {k for k, (_, ours) in _list_items(sentences, lead, said).items() if ours}


def _list_items(sentences: Sequence[Sentence], lead: Sentence | None,
                said: frozenset[str]) -> dict[tuple[str, int], tuple[float, bool]]:  # fmt: skip
    """Each list item's score as a point (`list_scores`) and whether its list is the answer's (`answer_list`),
    from one walk over the lists."""
    top_score = max((s.score for s in sentences), default=0.0)
    out: dict[tuple[str, int], tuple[float, bool]] = {}
    for block, items in _lists(sentences):
        ours = answers(block, items, lead, said)
        intro = max((b.score for b in block[: len(block) - len(items)]), default=0.0)  # _lists: block = intro + items
        out.update({_key(b): (top_score if ours else max(b.score, intro), ours) for b in items})
    return out


def answers(block: Sequence[Sentence], items: Sequence[Sentence], lead: Sentence | None,
            said: frozenset[str]) -> bool:  # fmt: skip
    """Whether a list is the answer's: the answer rests on one of its items (or its introduction), or one of its
    items says what the answer says (`said`, the lead's content terms: a report quoting a letter's list in prose
    leads, and the letter's list is the answer's; on the captured synthesis dev evidence, 2 more of 103 key
    points, none lost)."""
    if lead is not None and any(_key(b) == _key(lead) for b in block):
        return True
    return any(_restates(b, said) for b in items)


def _lists(sentences: Sequence[Sentence]) -> Iterator[tuple[list[Sentence], list[Sentence]]]:
    """Each list among the sentences: a run of two or more items next to each other in one document, with the
    sentence introducing them when it ends with a colon; as (the list with its introduction, its items)."""
    by_doc: dict[str, list[Sentence]] = {}
    for s in sentences:
        by_doc.setdefault(s.source, []).append(s)
    for group in by_doc.values():
        group.sort(key=lambda s: s.start)
        block: list[Sentence] = []
        for i, s in enumerate([*group, None]):
            prev = group[i - 1] if i else None
            adjacent = s is not None and prev is not None and s.start - prev.end <= ADJACENT
            if s is not None and _ITEM.match(s.text) and (not block or adjacent):
                if not block and adjacent and _INTRO.search(prev.text):
                    block.append(prev)
                block.append(s)
                continue
            if s is not None and block and adjacent and _INTRO.search(s.text):
                # A sentence ending in a colon between items introduces the ones after it ("- each agency failed
                # to follow the procedures. In particular:" and then "- there was poor practice"): one list still.
                block.append(s)
                continue
            items = [b for b in block if _ITEM.match(b.text)]
            if len(items) > 1:
                yield block, items
            block = [s] if s is not None and _ITEM.match(s.text) else []


def repeats(content: set[str], held: set[str] | frozenset[str]) -> bool:
    """Whether text with these content terms adds too little to what is `held` to say something of its own:
    less than NOVELTY of its terms are new (or it has none). One measure for the lead, the points and lists."""
    return not content or len(content - held) / len(content) < NOVELTY


def _restates(item: Sentence, said: frozenset[str]) -> bool:
    """Whether a list item says what the lead says (`said`, its content terms)."""
    new = set(terms(plain(item.text)))
    return bool(said) and bool(new) and repeats(new, said)


def join(texts: Sequence[str]) -> str:
    """An answer's text from its claims' texts (each with its marker): the lead, then the points as a list."""
    return "".join(piece(n, t) for n, t in enumerate(texts))
