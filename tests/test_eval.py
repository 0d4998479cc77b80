"""Eval: metric maths by hand, the seed set's gold evidence, the script end to end, and a regression floor."""

import json

import pytest

from eval import metrics as M
from eval.dataset import SEED_SET, gold_spans, load, to_labelled_rag_json
from tests.conftest import SEEDS


def test_squad_metrics_by_hand():
    assert M.normalize("The  Ofsted, report!") == "ofsted report"
    assert M.exact_match("the Ofsted", ["Ofsted"]) == 1.0
    # pred "john coughlan of hampshire" vs gold "john coughlan": P=2/4, R=2/2 -> F1=2/3
    assert abs(M.f1("John Coughlan of Hampshire", ["John Coughlan"]) - 2 / 3) < 1e-9
    assert M.f1("nothing", ["John Coughlan"]) == 0.0
    assert M.contains_gold("It was more than 40 injuries [1]", ["more than 40"]) == 1.0
    assert M.contains_gold("Ed Ballsy", ["Ed Balls"]) == 0.0


def test_ranking_metrics_by_hand():
    ranks = [1, 3, None, 2]
    assert M.hit_at(ranks, 1) == 0.25 and M.hit_at(ranks, 3) == 0.75
    assert abs(M.mrr(ranks) - (1 + 1 / 3 + 0 + 1 / 2) / 4) < 1e-12
    gold = [("a.txt", 100, 120)]
    assert M.first_hit_rank([("b.txt", 0, 500), ("a.txt", 90, 115), ("a.txt", 0, 200)], gold) == 2
    assert M.first_hit_rank([("a.txt", 0, 105)], gold) is None  # covers only a quarter of the evidence
    assert M.percentile([1, 2, 3, 4], 50) == 2.5 and M.percentile([5], 95) == 5


def test_refusal_detection():
    assert M.is_refusal("The documents don't say.")
    assert M.is_refusal("The context does not mention a sentence.")
    assert not M.is_refusal("Jason Owen")


def test_seed_set_is_well_formed():
    pairs = load(SEED_SET)
    assert len(pairs) >= 50
    kinds = {p.kind for p in pairs}
    assert {"fact", "paraphrase", "conflict", "multi", "document", "followup", "unanswerable"} <= kinds
    assert sum(1 for p in pairs if not p.answerable) >= 8
    for p in pairs:
        spans = gold_spans(p, SEEDS)  # raises if any gold passage is not exact text of its file
        assert bool(spans) == p.answerable or p.kind == "unanswerable"
    ds = to_labelled_rag_json(pairs)
    assert len(ds["examples"]) == len(pairs)
    assert ds["examples"][0]["reference_answer"] == pairs[0].answers[0]


@pytest.mark.slow
def test_eval_script_end_to_end(tmp_path):
    from eval.__main__ import main

    assert main(["--backend", "extractive", "--limit", "6", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["qa"]["questions"] == 6 and data["baseline"]["questions"] == 6
    assert len(data["rows"]["qa"]) == 6
    md = (tmp_path / "report.md").read_text()
    assert "| metric | qa | stock LlamaIndex |" in md and "q01" in md
    assert (tmp_path / "report.png").stat().st_size > 5000


# Floors from real runs on the seeds (eval/report.md, eval/README.md), with a little room.
FLOORS = {
    "extractive": {"contains_gold": 0.53, "refusal_accuracy": 0.54, "hit@3": 0.68, "citation_recall": 0.76},
    "local": {"contains_gold": 0.53, "refusal_accuracy": 0.54, "hit@3": 0.68, "citation_recall": 0.76},
}
CEILINGS = {"extractive": {"false_refusal_rate": 0.17}, "local": {"false_refusal_rate": 0.17}}


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(FLOORS))
def test_headline_figures_do_not_regress(tmp_path, backend):
    from eval.__main__ import main

    assert main(["--backend", backend, "--no-baseline", "--out", str(tmp_path)]) == 0
    got = json.loads((tmp_path / "report.json").read_text())["qa"]
    for key, floor in FLOORS[backend].items():
        assert got[key] >= floor, f"{backend} {key} fell to {got[key]:.3f} (floor {floor})"
    for key, ceiling in CEILINGS[backend].items():
        assert got[key] <= ceiling, f"{backend} {key} rose to {got[key]:.3f} (ceiling {ceiling})"
