"""The public slice: human-written SQuAD 2.0 questions, with adversarial unanswerable ones, over
Wikipedia articles nobody here wrote.

SQuAD 2.0's *training* file is used (never its dev set). It is public data, not part of this
repository: point `--squad` or `QA_SQUAD` at a copy of `train-v2.0.json`. Each split is one whole
article (dev: tune here; test: report here, never tune) with a fixed sample of its questions; public-cal is a
sample of the other articles, to measure refusals across them.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from .dataset import Pair

PROJECT = Path(__file__).resolve().parent.parent
# Where a copy is looked for when neither --squad nor QA_SQUAD says.
DEFAULT_PLACES = (PROJECT.parent / "shared" / "squad" / "train-v2.0.json", PROJECT / "eval" / "train-v2.0.json")


@dataclass(frozen=True)
class Slice:
    """One split of the public slice: which article, and how many questions of each kind.

    A title of None means many articles: up to `articles` of the training file's articles other than the
    named splits' ones, sampled with a fixed seed, each its own document, with `answerable` and
    `unanswerable` questions sampled from each.
    """

    name: str
    title: str | None
    answerable: int
    unanswerable: int
    articles: int = 1


# The two training-set articles that have unanswerable questions in the public copy; one per split.
# public-cal: questions from other articles, so that how often answerable questions are refused is measured over
# many articles, not one (eval/calibrate.py does not read it: a refit with it was measured and not adopted, see
# eval/README.md). The public copy's other articles have no unanswerable questions; a fuller copy's would be sampled.
SLICES = {
    "public-dev": Slice("public-dev", "Spectre_(2015_film)", 80, 80),
    "public-test": Slice("public-test", "The_Legend_of_Zelda:_Twilight_Princess", 60, 60),
    "public-cal": Slice("public-cal", None, 25, 25, articles=12),
}
SEED = 20261125


def squad_path(given: Path | None = None) -> Path | None:
    """The SQuAD 2.0 training file to use, or None when there is no copy."""
    for p in (given, os.environ.get("QA_SQUAD"), *DEFAULT_PLACES):
        if p and Path(p).is_file():
            return Path(p)
    return None


def _sentence_around(context: str, start: int) -> str:
    """The sentence of `context` that holds character `start` (the gold evidence for retrieval scores)."""
    bounds = [0] + [m.end() for m in re.finditer(r"(?<=[.!?])\s+", context)] + [len(context)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if a <= start < b:
            return context[a:b].strip()
    return context.strip()


def build(squad: Path, split: Slice, docs_dir: Path) -> list[Pair]:
    """Write the split's articles as text files in docs_dir (one each); return their sampled questions."""
    data = json.loads(Path(squad).read_text(encoding="utf-8"))
    if split.title is None:
        named = {s.title for s in SLICES.values() if s.title}
        others = [a for a in data["data"] if a["title"] not in named]
        articles = random.Random(SEED).sample(others, min(split.articles, len(others)))
    else:
        articles = [a for a in data["data"] if a["title"] == split.title]
        if not articles:
            raise ValueError(f"{squad} has no article {split.title!r}")
    docs_dir.mkdir(parents=True, exist_ok=True)
    pairs = []
    for article in articles:
        pairs += _article(article, split, docs_dir)
    return pairs


def _article(article: dict, split: Slice, docs_dir: Path) -> list[Pair]:
    """Write one article as a text file in docs_dir; return its sampled questions."""
    source = re.sub(r"[^\w.-]+", "_", article["title"]) + ".txt"
    (docs_dir / source).write_text(
        "\n\n".join(p["context"] for p in article["paragraphs"]) + "\n", encoding="utf-8"
    )
    answerable, unanswerable = [], []
    for para in article["paragraphs"]:
        for qa in para["qas"]:
            if qa.get("is_impossible"):
                unanswerable.append(Pair(qa["id"], "unanswerable", qa["question"], (), ()))
            else:
                golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                ev = _sentence_around(para["context"], qa["answers"][0]["answer_start"])
                answerable.append(Pair(qa["id"], "squad", qa["question"], golds, ((source, ev),)))
    rng = random.Random(SEED)
    picked = rng.sample(answerable, min(split.answerable, len(answerable))) + rng.sample(
        unanswerable, min(split.unanswerable, len(unanswerable))
    )
    order = {p.id: i for i, p in enumerate(answerable + unanswerable)}
    return sorted(picked, key=lambda p: order[p.id])
