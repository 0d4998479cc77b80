"""`python -m eval.calibrate`: fit qa's refusal model on the dev splits of eval/report.json.

Only dev sets are read (seed-dev, public-dev); test sets are never used here. For each kind of answer
(reader, extractive) it fits a logistic regression from the signals to "the answer found holds a gold
answer", picks the threshold that answers most questions right (answerable answered right plus
unanswerable refused) while refusing at most MAX_FALSE_REFUSALS of the answerable ones, and writes
qa/calibration.json with the data it came from and the trade-off curve.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from qa.refuse import CALIBRATION, FEATURES, Model

from .score import right_if_shown

MAX_FALSE_REFUSALS = 0.10
DEV_SETS = ("seed-dev", "public-dev")
L2 = 1.0


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a few lines; scikit-learn is not a dependency)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.eye(d + 1) * l2
    reg[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def auc(scores: list[float], labels: list[int]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def curve(rows: list[dict], conf: list[float | None]) -> list[dict]:
    """For each threshold: answerable answered right, answerable refused, unanswerable refused (shares)."""
    ans = [i for i, r in enumerate(rows) if r["golds"]]
    una = [i for i, r in enumerate(rows) if not r["golds"]]
    points = []
    for t in sorted({0.0, *[c for c in conf if c is not None], 1.01}):
        shown = [c is not None and c >= t for c in conf]
        right = sum(1 for i in ans if shown[i] and right_if_shown(rows[i])) / max(1, len(ans))
        false_ref = sum(1 for i in ans if not shown[i]) / max(1, len(ans))
        refused = sum(1 for i in una if not shown[i]) / max(1, len(una))
        n_right = sum(1 for i in ans if shown[i] and right_if_shown(rows[i])) + sum(1 for i in una if not shown[i])
        points.append({"threshold": round(t, 4), "answers_right": right, "false_refusals": false_ref,
                       "unanswerable_refused": refused, "accuracy": n_right / max(1, len(rows))})  # fmt: skip
    return points


def calibrate(rows: list[dict], kind: str) -> dict:
    """Fit one kind's model on the rows whose answer passed the support check; pick its threshold."""
    names = FEATURES[kind]
    usable = [r for r in rows if r["supported"] and all(k in r["signals"] for k in names)]
    raw = np.array(
        [[np.nan if r["signals"][k] is None else float(r["signals"][k]) for k in names] for r in usable]
    )
    mean = np.nanmean(raw, axis=0) if len(raw) else np.zeros(len(names))
    mean = np.where(np.isnan(mean), 0.0, mean)
    x = np.where(np.isnan(raw), mean, raw)
    scale = x.std(axis=0) if len(x) else np.ones(len(names))
    scale = np.where(scale < 1e-6, 1.0, scale)
    y = np.array([1.0 if r["golds"] and right_if_shown(r) else 0.0 for r in usable])
    w, b = fit_logistic((x - mean) / scale, y)
    model = Model(names, tuple(mean), tuple(scale), tuple(w), b, 0.0)
    conf = [model.confidence(r["signals"]) if r["supported"] else None for r in rows]
    points = curve(rows, conf)
    ok = [p for p in points if p["false_refusals"] <= MAX_FALSE_REFUSALS] or [
        min(points, key=lambda p: p["false_refusals"])
    ]
    best = max(ok, key=lambda p: (p["accuracy"], -p["threshold"]))
    labels = [int(bool(r["golds"] and right_if_shown(r))) for r in usable]
    return {
        "features": list(names), "mean": [float(v) for v in mean], "scale": [float(v) for v in scale],
        "weights": [float(v) for v in w], "bias": b, "threshold": best["threshold"],
        "fitted_on": {"rows": len(rows), "supported": len(usable), "positives": int(sum(labels))},
        "dev_auc": auc([model.confidence(r["signals"]) for r in usable], labels),
        "dev_at_threshold": best, "dev_curve": points,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__)
    p.add_argument("reports", type=Path, nargs="+", help="report.json files from python -m eval (dev sets)")
    p.add_argument("--out", type=Path, default=CALIBRATION)
    args = p.parse_args(argv)
    by_kind: dict[str, list[dict]] = {"reader": [], "extractive": []}
    for path in args.reports:
        data = json.loads(path.read_text(encoding="utf-8"))
        kind = "extractive" if data["config"]["backend"] == "extractive" else "reader"
        for name in DEV_SETS:
            if name in data["sets"]:
                by_kind[kind] += data["sets"][name]["rows"]["qa"]
    out = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    for kind, rows in by_kind.items():
        if rows:
            out[kind] = calibrate(rows, kind)
            at = out[kind]["dev_at_threshold"]
            print(f"{kind}: {len(rows)} dev rows, AUC {out[kind]['dev_auc']:.3f}, threshold {at['threshold']:.3f}: "
                  f"right {at['answers_right']:.1%}, false refusals {at['false_refusals']:.1%}, "
                  f"unanswerable refused {at['unanswerable_refused']:.1%}")  # fmt: skip
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0 if all(not math.isnan(v.get("dev_auc", 0)) for v in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
