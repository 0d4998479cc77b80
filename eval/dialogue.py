"""The dialogue set: short conversations over the seeds, each turn asked with the conversation so far (the
earlier questions and qa's own answers, as a user would have them). A turn is right when qa's answer holds
one of its accepted answers; follow-ups (every turn after the first) are reported apart.

`python -m eval --sets dialogue-dev,dialogue-test` writes dialogue-<split>.json beside the other reports;
`dialogue-public-dev` and `dialogue-public-test` are such conversations over the public slice's articles (text
nobody here wrote: no public copy of QuAC's or CoQA's training set is among the stored repositories, only
single-dialogue test fixtures), with the SQuAD training file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.cite import strip_markers
from qa.config import Settings

from . import metrics as M

DIALOGUE_SET = Path(__file__).resolve().parent / "dialogue_qa.jsonl"
# Over the public slice's articles (dev: Spectre, test: Twilight Princess), written from their own sentences.
PUBLIC_SET = Path(__file__).resolve().parent / "dialogue_public.jsonl"


@dataclass(frozen=True)
class Dialogue:
    id: str
    split: str
    turns: tuple[tuple[str, tuple[str, ...]], ...]  # (question, accepted answers)


@dataclass
class TurnOutcome:
    dialogue: str
    turn: int
    question: str
    answer: str
    refused: bool
    right: bool
    query: str
    first_right: bool = False  # the first claim alone holds an accepted answer (not the points after a phrase)


def load(split: str, path: Path = DIALOGUE_SET) -> list[Dialogue]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Dialogue(r["id"], r["split"], tuple((t["q"], tuple(t["a"])) for t in r["turns"]))
            for r in rows if r["split"] == split]  # fmt: skip


def run_qa(dialogues: list[Dialogue], settings: Settings) -> list[TurnOutcome]:
    from qa import answer

    from .run import ready

    ready(settings)
    out = []
    for d in dialogues:
        history: list[tuple[str, str]] = []
        for n, (question, golds) in enumerate(d.turns):
            a = answer(question, history=history, settings=settings)
            right = not a.refused and bool(M.contains_gold(strip_markers(a.text), golds))
            first = bool(a.claims) and bool(M.contains_gold(strip_markers(a.claims[0].text), golds))
            out.append(TurnOutcome(d.id, n, question, a.text, a.refused, right, a.trace.query, first))
            if not a.refused:
                history.append((question, a.text))
    return out


def summary(rows: list[TurnOutcome]) -> dict:
    follow = [r for r in rows if r.turn > 0]
    return {
        "dialogues": len({r.dialogue for r in rows}),
        "turns": len(rows),
        "first_turns_right": sum(r.right for r in rows if r.turn == 0),
        "follow_ups": len(follow),
        "follow_ups_right": sum(r.right for r in follow),
        "follow_ups_right_in_first_claim": sum(r.first_right for r in follow),
    }


def report(name: str, rows: list[TurnOutcome], out: Path) -> dict:
    data = {"set": name, "summary": {"qa": summary(rows)}, "rows": {"qa": [asdict(r) for r in rows]}}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return data["summary"]
