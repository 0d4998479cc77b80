"""The refusal decision: answer only when the measured confidence that the answer is right is high enough.

The confidence is a logistic model over signals from retrieval, the reader and the support check,
fitted on the dev split by `python -m eval.calibrate`, which also picks the threshold. The fitted
numbers live in calibration.json beside this file; nothing here was set by hand for a question.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from .answerer import EXTRACTIVE, READER, Draft
from .evidence import Evidence

CALIBRATION = Path(__file__).resolve().parent / "calibration.json"

# The signals each model reads; `signals` computes them.
FEATURES = {
    READER: (
        "none_prob",
        "answer_logprob",
        "named",
        "share",
        "sent_dense",
        "sent_lexical",
        "top_score",
        "unknown",
        "answer_words",
        "echo",
        "first_logprob",
        "sentence_logprob",
    ),
    EXTRACTIVE: ("sent_dense", "sent_lexical", "top_score", "unknown"),
}


@dataclass(frozen=True)
class Model:
    """A fitted logistic model: standardise, weigh, squash; answer at or above the threshold."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def confidence(self, signals: dict[str, float | None]) -> float:
        """The probability that an answer with these signals is right; a missing signal counts as average."""
        z = self.bias
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            x = signals.get(name)
            z += w * (((mu if x is None else float(x)) - mu) / sd)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Decision:
    """Whether to show the answer: `supported` says it passed the support check (only then is the confidence
    model asked, and `confidence` set), `answered` whether it is shown, `reason` why."""

    answered: bool
    supported: bool
    confidence: float | None
    reason: str
    signals: dict = field(default_factory=dict)  # what the confidence model read


@lru_cache(maxsize=4)
def load(kind: str, path: Path = CALIBRATION) -> Model:
    """The fitted model of this kind from calibration.json."""
    data = json.loads(path.read_text(encoding="utf-8"))[kind]
    return Model(
        tuple(data["features"]),
        tuple(data["mean"]),
        tuple(data["scale"]),
        tuple(data["weights"]),
        float(data["bias"]),
        float(data["threshold"]),
    )


def decide(signals: dict[str, float | None], kind: str = READER, model: Model | None = None) -> Decision:
    """Answer when the model's confidence reaches its threshold; otherwise refuse, saying by how much."""
    model = model or load(kind)
    p = model.confidence(signals)
    if p >= model.threshold:
        return Decision(True, True, p, f"confidence {p:.2f} >= {model.threshold:.2f}")
    return Decision(False, True, p, f"confidence {p:.2f} < {model.threshold:.2f}: not sure the documents say")


def unsupported(reason: str) -> Decision:
    """The refusal of an answer that failed the support check: never shown, whatever the confidence."""
    return Decision(False, False, None, reason)


def judge(draft: Draft, evidence: Evidence) -> Decision:
    """The stage: an answer that failed the support check is refused; a supported one is shown when the
    calibrated confidence of its kind reaches the threshold."""
    if not draft.support.ok:
        return replace(unsupported(draft.support.reason), signals=signals(draft, evidence))
    sig = signals(draft, evidence)
    return replace(decide(sig, draft.kind), signals=sig)


def signals(draft: Draft, evidence: Evidence) -> dict[str, float | None]:
    """The confidence model's inputs for one answer (the reader's own only for a reader's answer)."""
    sentence = draft.sentence(evidence) or evidence.best
    out: dict[str, float | None] = {
        "sent_dense": sentence.dense if sentence else 0.0,
        "sent_lexical": sentence.lexical if sentence else 0.0,
        "top_score": evidence.best.score if evidence.best else 0.0,
        "unknown": evidence.unknown,
    }
    reading = draft.reading
    if reading is not None:
        out |= {
            "none_prob": reading.none_prob,
            "answer_logprob": reading.answer_logprob,
            "named": float(draft.support.named),
            "share": draft.support.share,
            "answer_words": math.log1p(len(reading.answer.split())),
            "echo": draft.echo,
            "first_logprob": reading.first_logprob,
            "sentence_logprob": reading.sentence_logprob,
        }
    return out
