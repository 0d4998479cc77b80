"""Run the eval sets through qa (exactly as a user would) and the stock baselines; score and report."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from qa import answer as qa_answer
from qa.config import Settings

from . import metrics as M
from .dataset import Pair, gold_spans


@dataclass
class Row:
    """One question's outcome for one system."""

    id: str
    kind: str
    question: str
    golds: list[str]
    answer: str
    refused: bool
    seconds: float
    hit_rank: int | None
    cited: list[dict] = field(default_factory=list)
    cited_support: list[bool] = field(default_factory=list)
    em: float = 0.0
    f1: float = 0.0
    contains: float = 0.0
    problem: str = ""
    signals: dict = field(default_factory=dict)  # the refusal model's inputs (qa rows), for calibration
    confidence: float | None = None
    supported: bool = False  # the reader's answer passed the support check (before the refusal decision)


def score_row(
    pair: Pair,
    gold: list,
    answer_text: str,
    refused: bool,
    seconds: float,
    passages: list[tuple[str, int, int]],
    cited: list[dict],
) -> Row:
    """Score one answer against its pair (pure)."""
    text = M.strip_markers(answer_text)
    row = Row(
        pair.id,
        pair.kind,
        pair.question,
        list(pair.answers),
        text,
        refused,
        seconds,
        M.first_hit_rank(passages, gold) if gold else None,
        cited,
    )
    if pair.answerable:
        row.cited_support = [
            M.supports(c["quote"], (c["source"], c["start"], c["end"]), pair.answers, gold) for c in cited
        ]
        if not refused:
            row.em, row.f1, row.contains = (
                M.exact_match(text, pair.answers),
                M.f1(text, pair.answers),
                M.contains_gold(text, pair.answers),
            )
        row.problem = (
            "false refusal"
            if refused
            else "wrong answer"
            if not row.contains
            else "citations do not support it"
            if cited and not any(row.cited_support)
            else ""
        )
        if row.problem and row.hit_rank is None:
            row.problem += " (retrieval missed the evidence)"
    elif not refused:
        row.problem = "answered an unanswerable question"
    return row


def summarise(rows: list[Row]) -> dict:
    """Headline metrics over a system's rows."""
    ans = [r for r in rows if r.golds]
    una = [r for r in rows if not r.golds]
    answered = [r for r in ans if not r.refused]
    ranks = [r.hit_rank for r in ans]
    cites = [s for r in answered for s in r.cited_support]
    secs = [r.seconds for r in rows]
    out = {
        "questions": len(rows),
        "answerable": len(ans),
        "unanswerable": len(una),
        "hit@1": M.hit_at(ranks, 1),
        "hit@3": M.hit_at(ranks, 3),
        "hit@5": M.hit_at(ranks, 5),
        "mrr": M.mrr(ranks),
        "exact_match": _mean([r.em for r in ans]),
        "f1": _mean([r.f1 for r in ans]),
        "contains_gold": _mean([float(bool(r.contains) and not r.refused) for r in ans]),
        "answers_right": sum(1 for r in ans if r.contains and not r.refused),
        "citation_precision": _mean([float(s) for s in cites]),
        "citation_recall": _mean([float(any(r.cited_support)) for r in answered]),
        "refusal_accuracy": _mean([float(r.refused) for r in una]),
        "refused_unanswerable": sum(1 for r in una if r.refused),
        "false_refusals": sum(1 for r in ans if r.refused),
        "false_refusal_rate": _mean([float(r.refused) for r in ans]),
        "latency_p50": M.percentile(secs, 50),
        "latency_p95": M.percentile(secs, 95),
    }
    by_kind = defaultdict(list)
    for r in rows:
        by_kind[r.kind].append(r)
    out["by_kind"] = {
        k: {"n": len(v), "right": sum(1 for r in v if is_right(r))} for k, v in sorted(by_kind.items())
    }
    return out


def is_right(r: Row) -> bool:
    """Answerable: answered and holds a gold answer. Unanswerable: refused."""
    return bool(r.contains and not r.refused) if r.golds else r.refused


def would_be_right(r: Row) -> bool:
    """The answer the reader found (shown or refused) holds a gold answer."""
    return bool(r.golds) and bool(r.contains)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def run_qa(pairs: list[Pair], settings: Settings, progress=None) -> list[Row]:
    """Every pair through qa.answer, with its history."""
    from qa.api import engine_for

    engine_for(settings).warm_up()  # loads the models and the index, so latency measures answering only
    rows = []
    for pair in pairs:
        gold = gold_spans(pair, settings.docs_dir)
        t0 = time.perf_counter()
        a = qa_answer(pair.question, history=list(pair.history), settings=settings)
        secs = time.perf_counter() - t0
        passages = [(f[1], f[2], f[3]) for f in a.trace.fused]
        cited = [{"source": c.source, "start": c.start, "end": c.end, "quote": c.quote} for c in a.citations]
        row = score_row(pair, gold, a.text, a.refused, secs, passages, cited)
        if a.refused and a.trace.model_answer:
            # What the answer would have been: the calibration needs it to know whether refusing was right.
            row.answer = a.trace.model_answer
            row.contains = M.contains_gold(a.trace.model_answer, pair.answers) if pair.answers else 0.0
        row.signals, row.confidence = a.trace.signals, a.trace.confidence
        row.supported = a.trace.confidence is not None and a.trace.confidence > 0
        rows.append(row)
        if progress:
            progress()
    return rows


def run_baseline(pairs: list[Pair], settings: Settings, name: str, progress=None) -> list[Row]:
    """Every pair through one stock LlamaIndex pipeline (eval/baseline.py), with its chat history."""
    from qa.api import engine_for

    from .baseline import BASELINES

    stock = BASELINES[name](settings, engine_for(settings).llm)
    stock.ask("warm up")
    rows = []
    for pair in pairs:
        gold = gold_spans(pair, settings.docs_dir)
        b = stock.ask(pair.question, pair.history)
        passages = [(p[0], p[1], p[2]) for p in b.passages]
        cited = [{"source": p[0], "start": p[1], "end": p[2], "quote": p[3]} for p in b.passages]
        rows.append(score_row(pair, gold, b.text, M.is_refusal(b.text), b.seconds, passages, cited))
        if progress:
            progress()
    return rows


Systems = dict[str, list[Row]]  # "qa" and each baseline that ran, by name


def rows_from_report(data: dict) -> dict[str, Systems]:
    """The rows of a saved report.json, to write its Markdown and plot again with the current code."""
    return {
        name: {system: [Row(**r) for r in rows] for system, rows in block["rows"].items()}
        for name, block in data["sets"].items()
    }


def write_reports(out_dir: Path, config: dict, sets: dict[str, Systems]) -> dict:
    """eval/report.md, eval/report.json and eval/report.png, with every question set side by side."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"config": config, "sets": {}}
    for name, systems in sets.items():
        data["sets"][name] = {
            "summary": {system: summarise(rows) for system, rows in systems.items()},
            "tradeoff": tradeoff([r.__dict__ for r in systems["qa"]]),
            "rows": {system: [r.__dict__ for r in rows] for system, rows in systems.items()},
        }
    (out_dir / "report.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / "report.md").write_text(render_markdown(data, sets), encoding="utf-8")
    plot(out_dir / "report.png", data)
    return data


HEADLINE = [
    ("answers right (contains gold)", "contains_gold", "pct"),
    ("exact match", "exact_match", "pct"),
    ("token F1", "f1", "pct"),
    ("retrieval hit@3", "hit@3", "pct"),
    ("retrieval hit@5", "hit@5", "pct"),
    ("MRR", "mrr", "num"),
    ("citation precision", "citation_precision", "pct"),
    ("unanswerable refused", "refusal_accuracy", "pct"),
    ("answerable wrongly refused", "false_refusal_rate", "pct"),
    ("latency p50 (s)", "latency_p50", "sec"),
    ("latency p95 (s)", "latency_p95", "sec"),
]


def _fmt(v, kind: str) -> str:
    return {"pct": f"{100 * v:.1f}%", "num": f"{v:.3f}", "int": f"{v}", "sec": f"{v:.2f}"}[kind]


def headline_table(summary: dict[str, dict]) -> str:
    """One column per system, qa first."""
    systems = list(summary)
    lines = ["| metric | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|"]
    for label, key, kind in HEADLINE:
        lines.append(f"| {label} | " + " | ".join(_fmt(summary[s][key], kind) for s in systems) + " |")
    return "\n".join(lines)


CAPS = (0.05, 0.10, 0.15, 0.20, 0.30)


def tradeoff(rows: list[dict]) -> list[dict]:
    """For each cap on answerable questions refused: the most unanswerable ones any threshold refuses
    within it, and the answers right there. Computed from each row's confidence; nothing is fitted."""
    from .calibrate import curve

    points = curve(rows, [r["confidence"] if r["supported"] else None for r in rows])
    out = []
    for cap in CAPS:
        ok = [p for p in points if p["false_refusals"] <= cap + 1e-9]
        if ok:
            best = max(ok, key=lambda p: (p["unanswerable_refused"], p["answers_right"]))
            out.append({"cap": cap, **best})
    return out


def render_markdown(data: dict, sets: dict[str, Systems]) -> str:
    config = {k: v for k, v in data["config"].items() if k != "baselines"}
    parts = [f"# qa eval report\n\nGenerated by `python -m eval`. Configuration: `{json.dumps(config)}`\n"]
    for name, block in data["sets"].items():
        q = block["summary"]["qa"]
        parts += [
            f"\n## {name}: {q['questions']} questions ({q['answerable']} answerable, {q['unanswerable']} unanswerable)\n",
            headline_table(block["summary"]),
        ]
        if q["unanswerable"]:
            parts += [
                f"\nRefusal trade-off on {name} (qa at other thresholds, from each answer's confidence):\n",
                "| answerable refused at most | unanswerable refused | answerable answered right | threshold |",
                "|---|---|---|---|",
            ]
            parts += [
                f"| {t['cap']:.0%} | {t['unanswerable_refused']:.1%} | {t['answers_right']:.1%} | {t['threshold']:.3f} |"
                for t in block["tradeoff"]
            ]
    baselines = data["config"].get("baselines") or {}
    if baselines:
        parts.append("\n## The stock baselines' configuration\n")
        for system, conf in baselines.items():
            parts.append(f"**{system}**\n")
            parts += [f"- {k}: `{v}`" if k != "prompt" else f"- prompt:\n\n```\n{v}\n```" for k, v in conf.items()]
            parts.append("")
    for name, systems in sets.items():
        qa_rows = systems["qa"]
        parts += [
            f"\n## Per question, {name} (qa)\n",
            "| id | question | answer | gold | confidence | problem |",
            "|---|---|---|---|---|---|",
        ]
        for r in qa_rows:
            ans = ("(refused) " if r.refused else "") + r.answer.replace("|", "/").replace("\n", " ")[:100]
            conf = "-" if r.confidence is None else f"{r.confidence:.2f}"
            parts.append(
                f"| {r.id} | {r.question.replace('|', '/')} | {ans} | {' / '.join(r.golds).replace('|', '/')[:60] or '(refuse)'} "
                f"| {conf} | {r.problem or 'ok'} |"
            )
    return "\n".join(parts) + "\n"


def plot(path: Path, data: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(data["sets"])
    keys = [("answers right", "contains_gold"), ("unanswerable refused", "refusal_accuracy"),
            ("answerable wrongly refused", "false_refusal_rate")]  # fmt: skip
    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(4 * (len(keys) + 1), 3.4), dpi=110, squeeze=False)
    systems = list(dict.fromkeys(s for n in names for s in data["sets"][n]["summary"]))
    width = 0.8 / len(systems)
    for ax, (label, key) in zip(axes[0][:-1], keys, strict=True):
        for i, system in enumerate(systems):
            xs = [x + (i - (len(systems) - 1) / 2) * width for x in range(len(names))]
            ys = [data["sets"][n]["summary"].get(system, {}).get(key, 0) for n in names]
            ax.bar(xs, ys, width=width, label=system, color=None if system == "qa" else f"C{i + 6}")
        ax.set_xticks(list(range(len(names))), names, rotation=20, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(label, fontsize=10)
    axes[0][0].legend(loc="upper right", fontsize=8)
    ax = axes[0][-1]
    from .calibrate import curve

    for n in names:
        rows = data["sets"][n]["rows"]["qa"]
        if any(not r["golds"] for r in rows):
            pts = curve(rows, [r["confidence"] if r["supported"] else None for r in rows])
            ax.plot([p["false_refusals"] for p in pts], [p["unanswerable_refused"] for p in pts], label=n)
    ax.set_xlabel("answerable refused", fontsize=8)
    ax.set_ylabel("unanswerable refused", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("refusal trade-off (qa)", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
