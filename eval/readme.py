"""`python -m eval.readme`: copy the headline figures from eval/report.json into README.md.

The README's figures sit between two markers and are only ever written by this script;
tests/test_eval.py fails when they differ from the report.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- eval:start (python -m eval.readme writes this) -->", "<!-- eval:end -->"
REPORTED = ("seed-test", "public-test")  # test splits only: dev figures are what was tuned on
ROWS = [
    ("answers right (answerable)", "contains_gold", "pct"),
    ("unanswerable refused", "refusal_accuracy", "pct"),
    ("answerable wrongly refused", "false_refusal_rate", "pct"),
    ("citation precision", "citation_precision", "pct"),
    ("latency p50 / p95 (s)", ("latency_p50", "latency_p95"), "sec2"),
]


def _fmt(summary: dict, key, kind: str) -> str:
    if kind == "sec2":
        return f"{summary[key[0]]:.2f} / {summary[key[1]]:.2f}"
    return f"{100 * summary[key]:.1f}%"


def block(report: dict) -> str:
    """The README's figures from a report: qa beside each stock pipeline on each test split."""
    sets = [n for n in REPORTED if n in report["sets"]]
    lines = [START, "", "| set | system | " + " | ".join(label for label, _, _ in ROWS) + " |",
             "|---|---|" + "---|" * len(ROWS)]  # fmt: skip
    for n in sets:
        for system, summary in report["sets"][n]["summary"].items():
            lines.append(
                f"| {n} | {system} | " + " | ".join(_fmt(summary, key, kind) for _, key, kind in ROWS) + " |"
            )
    sizes = ", ".join(
        f"{n}: {report['sets'][n]['summary']['qa']['answerable']} answerable + "
        f"{report['sets'][n]['summary']['qa']['unanswerable']} unanswerable"
        for n in sets
    )
    config = {k: v for k, v in report["config"].items() if k != "baselines"}
    lines += ["", f"Questions: {sizes}. Configuration: `{json.dumps(config)}`; the stock pipelines' configurations "
              "are in `eval/report.md`.", ""]  # fmt: skip
    curves = [n for n in sets if report["sets"][n]["summary"]["qa"]["unanswerable"]]
    if curves:
        lines += [
            "The refusal trade-off on the same test questions, at other thresholds (from each answer's confidence):",
            "",
            "| answerable refused at most | "
            + " | ".join(f"{n}: unanswerable refused, answers right" for n in curves)
            + " |",
            "|---|" + "---|" * len(curves),
        ]
        by_cap = {n: {t["cap"]: t for t in report["sets"][n]["tradeoff"]} for n in curves}
        for cap in sorted({c for n in curves for c in by_cap[n]}):
            cells = [
                f"{by_cap[n][cap]['unanswerable_refused']:.1%}, {by_cap[n][cap]['answers_right']:.1%}"
                if cap in by_cap[n]
                else "-"
                for n in curves
            ]
            lines.append(f"| {cap:.0%} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def replace_block(text: str, start: str, end: str, new: str) -> str:
    """`text` with the block from the `start` marker to the `end` marker (both included) replaced by `new`,
    which carries the markers itself. README's generated figures (eval here, speed in bench/report.py)."""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md has no block between {start!r} and {end!r}")
    return pattern.sub(lambda _: new, text)


def render(readme: str, report: dict) -> str:
    """The README with its figures block replaced by the report's."""
    return replace_block(readme, START, END, block(report))


def main() -> int:
    readme = ROOT / "README.md"
    report = json.loads((ROOT / "eval" / "report.json").read_text(encoding="utf-8"))
    readme.write_text(render(readme.read_text(encoding="utf-8"), report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
