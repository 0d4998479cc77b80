"""The eval set: JSONL pairs with answers and gold evidence, convertible to LlamaIndex's LabelledRagDataset."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from qa.cite import document_text

SEED_SET = Path(__file__).resolve().parent / "seed_qa.jsonl"


@dataclass(frozen=True)
class Pair:
    """One eval question with every acceptable answer and its gold evidence."""

    id: str
    kind: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[tuple[str, str], ...]  # (source, exact text)
    history: tuple[tuple[str, str], ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load(path: Path = SEED_SET) -> list[Pair]:
    """Read the JSONL eval set."""
    pairs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            pairs.append(
                Pair(
                    r["id"],
                    r.get("kind", "fact"),
                    r["question"],
                    tuple(r.get("answers", ())),
                    tuple((e["source"], e["text"]) for e in r.get("evidence", ())),
                    tuple(tuple(h) for h in r.get("history", ())),
                )
            )
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{path}:{n}: not an eval pair ({e})") from e
    return pairs


def split(pairs: list[Pair], part: str) -> list[Pair]:
    """The dev (tune here) or test (report here, never tune) half, by a hash of each pair's id: stable as
    pairs are added, and unrelated to what a pair asks."""
    if part not in ("dev", "test"):
        raise ValueError(f"split is dev or test, not {part!r}")
    want = 0 if part == "dev" else 1
    return [p for p in pairs if int(hashlib.sha1(p.id.encode()).hexdigest(), 16) % 2 == want]


def gold_spans(pair: Pair, docs_dir: Path) -> list[tuple[str, int, int]]:
    """Where each gold evidence passage sits in its document (source, start, end)."""
    out = []
    for source, text in pair.evidence:
        doc = document_text(source, docs_dir)
        start = doc.find(text)
        if start < 0:
            raise ValueError(f"{pair.id}: gold evidence not found in {source}: {text[:60]!r}")
        out.append((source, start, start + len(text)))
    return out


def to_labelled_rag_json(pairs: list[Pair]) -> dict:
    """The pairs in LlamaIndex's LabelledRagDataset JSON layout (what `LabelledRagDataset.from_json` reads).

    Written out by hand: llama-index-core 0.14 no longer ships the `llama_dataset` module.
    Unanswerable pairs get an empty reference answer and no contexts.
    """
    human = {"model_name": "", "type": "human"}
    return {
        "examples": [
            {
                "query": p.question,
                "query_by": human,
                "reference_contexts": [t for _, t in p.evidence],
                "reference_answer": p.answers[0] if p.answers else "",
                "reference_answer_by": human,
                "class_name": "LabelledRagDataExample",
            }
            for p in pairs
        ]
    }
