"""Eval: metric maths by hand, the seed set's gold evidence, the script end to end, and a regression floor."""

import json

import pytest

from eval import metrics as M
from eval import public
from eval.dataset import SEED_SET, gold_spans, load, split, to_labelled_rag_json
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


def test_dev_and_test_splits_are_disjoint_and_cover_the_set():
    pairs = load(SEED_SET)
    dev, test = split(pairs, "dev"), split(pairs, "test")
    assert {p.id for p in dev}.isdisjoint(p.id for p in test) and len(dev) + len(test) == len(pairs)
    assert dev and test and any(not p.answerable for p in test)


def test_public_slice_is_built_from_a_squad_file(tmp_path):
    squad = {"data": [{"title": "T", "paragraphs": [{"context": "Ann was born in 1990. Bob was not.", "qas": [
        {"id": "a", "question": "When was Ann born?", "is_impossible": False,
         "answers": [{"text": "1990", "answer_start": 16}]},
        {"id": "b", "question": "When was Bob born?", "is_impossible": True, "answers": []},
    ]}]}]}  # fmt: skip
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad))
    pairs = public.build(path, public.Slice("x", "T", 5, 5), tmp_path / "docs")
    assert [(p.id, p.answers) for p in pairs] == [("a", ("1990",)), ("b", ())]
    assert pairs[0].evidence == (("T.txt", "Ann was born in 1990."),)
    assert (tmp_path / "docs" / "T.txt").read_text().startswith("Ann was born")
    assert gold_spans(pairs[0], tmp_path / "docs") == [("T.txt", 0, 21)]


def test_the_calibration_slice_samples_other_articles_than_the_dev_and_test_ones(tmp_path):
    def article(title: str, n: int) -> dict:
        context = " ".join(f"Item {i} cost {i} pounds." for i in range(n))
        return {"title": title, "paragraphs": [{"context": context, "qas": [
            {"id": f"{title}-{i}", "question": f"What did item {i} cost?",
             "answers": [{"text": f"{i} pounds", "answer_start": context.index(f"cost {i} pounds") + 5}]}
            for i in range(n)]}]}  # fmt: skip

    named = [s.title for s in public.SLICES.values() if s.title]
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"data": [article(t, 3) for t in named] + [article(f"A{i}", 9) for i in range(4)]}))
    pairs = public.build(path, public.Slice("cal", None, 5, 5, articles=3), tmp_path / "docs")
    files = sorted(f.name for f in (tmp_path / "docs").iterdir())
    assert len(files) == 3 and all(f.startswith("A") for f in files)  # never the dev or test article
    assert len(pairs) == 15 and {p.evidence[0][0] for p in pairs} == set(files)  # 5 from each, no unanswerable
    for p in pairs:
        assert gold_spans(p, tmp_path / "docs") and p.answers[0] in p.evidence[0][1]
    assert public.build(path, public.Slice("cal", None, 5, 5, articles=3), tmp_path / "again") == pairs  # seeded


def test_calibration_fits_and_picks_a_threshold_within_the_false_refusal_limit():
    import numpy as np

    from eval.calibrate import MAX_FALSE_REFUSALS, auc, calibrate, fit_logistic

    assert auc([0.9, 0.8, 0.1], [1, 1, 0]) == 1.0 and auc([0.5, 0.5], [1, 0]) == 0.5
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    w, b = fit_logistic(x, np.array([0.0, 0.0, 1.0, 1.0]))
    assert w[0] > 0
    # Right answers come with a high top score, wrong ones and unanswerable ones with a low one.
    rows = [
        {
            "golds": ["x"],
            "contains": 1.0,
            "supported": True,
            "signals": {"sent_dense": 0.0, "sent_lexical": 0.0, "top_score": 0.8 + i / 100, "unknown": 0.0},
        }
        for i in range(10)
    ]
    rows += [{"golds": [], "contains": 0.0, "supported": True, "signals": {"sent_dense": 0.0, "sent_lexical": 0.0,
              "top_score": 0.2 + i / 100, "unknown": 0.0}} for i in range(10)]  # fmt: skip
    fit = calibrate(rows, "extractive")
    at = fit["dev_at_threshold"]
    assert at["false_refusals"] <= MAX_FALSE_REFUSALS and at["unanswerable_refused"] == 1.0
    assert fit["dev_auc"] == 1.0 and fit["weights"][2] > 0


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

    assert main(["--sets", "seed-dev", "--limit", "2", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "report.json").read_text())
    block = data["sets"]["seed-dev"]
    assert list(block["summary"]) == ["qa", "stock-vector", "stock-hybrid"]
    assert all(s["questions"] == 2 for s in block["summary"].values())
    assert len(block["rows"]["qa"]) == 2 and all("signals" in r for r in block["rows"]["qa"])
    # The baselines answered through the reader (not an empty or copied passage) and retrieved k chunks.
    for name in ("stock-vector", "stock-hybrid"):
        assert all(r["answer"] and r["answer"] != "warm up" for r in block["rows"][name])
        assert all(len(r["cited"]) == 8 for r in block["rows"][name])
    md = (tmp_path / "report.md").read_text()
    assert "| metric | qa | stock-vector | stock-hybrid |" in md and "## seed-dev" in md
    assert "QueryFusionRetriever" in md and "similarity_top_k=8" in md  # the configurations are written down
    assert (tmp_path / "report.png").stat().st_size > 5000


# Floors from real runs on the seed splits (eval/report.md), with a little room. A floor only goes down in a
# commit that says why, in its message and in eval/README.md.
FLOORS = {
    # Whole seed set, eval/report.json with the worked examples as chat turns: right 0.796 (43/54), refused 0.727
    # (8/11; 0.818 with the examples in the system prompt), hit@3 0.741, citation P/R 0.898, false refusals 0.093
    # (5/54). The refusal floor has no room left; the others leave a question or two.
    # Lowered 0.72 -> 0.63 (8/11 -> 7/11) with chunking 4 (a break after "Baby P." in the letter: its chunks moved):
    # "How many children were taken into care in Haringey in 2009?" is answered "17-month-old Baby P" at confidence
    # 0.134 (threshold 0.101). The same index answers 46/54 right and refuses 1 answerable dev question instead of
    # 2 ("Which injury to his spine did the baby have?" -> "broken back"). See eval/README.md.
    "local": {
        "contains_gold": 0.74,
        "refusal_accuracy": 0.63,
        "hit@3": 0.68,
        "citation_precision": 0.85,
        "citation_recall": 0.85,
    },
    # Whole seed set, extractive: right 0.574, refused 0.364, hit@3 0.741, citation recall 0.633. Two floors went
    # down with issue 12 (refusals 0.54 -> 0.30, citation recall 0.76 -> 0.58): see eval/README.md for why.
    "extractive": {"contains_gold": 0.53, "refusal_accuracy": 0.30, "hit@3": 0.68, "citation_recall": 0.58},
}
CEILINGS = {"local": {"false_refusal_rate": 0.13}, "extractive": {"false_refusal_rate": 0.17}}


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(FLOORS))
def test_headline_figures_do_not_regress(tmp_path, backend):
    from eval.__main__ import main

    assert (
        main(["--backend", backend, "--sets", "seed-dev,seed-test", "--no-baseline", "--out", str(tmp_path)]) == 0
    )
    sets = json.loads((tmp_path / "report.json").read_text())["sets"]
    rows = sets["seed-dev"]["rows"]["qa"] + sets["seed-test"]["rows"]["qa"]
    from eval.score import Row, summarise

    got = summarise([Row(**r) for r in rows])  # the whole seed set, both splits
    for key, floor in FLOORS[backend].items():
        assert got[key] >= floor, f"{backend} {key} fell to {got[key]:.3f} (floor {floor})"
    for key, ceiling in CEILINGS[backend].items():
        assert got[key] <= ceiling, f"{backend} {key} rose to {got[key]:.3f} (ceiling {ceiling})"


def test_readme_figures_are_the_reports():
    from eval.readme import ROOT, render

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    report = json.loads((ROOT / "eval" / "report.json").read_text(encoding="utf-8"))
    assert render(readme, report) == readme, "README.md differs from eval/report.json: run python -m eval.readme"


def test_synthesis_and_dialogue_sets_are_well_formed():
    """Both splits present; every key point has a phrasing the documents hold, so a point can be covered by
    quoting them; the public sets' points and dialogue answers are in their articles when a SQuAD copy is here."""
    from eval import dialogue, metrics, public, synthesis

    seeds = metrics.normalize(" ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir()) if p.is_file()))
    # "cal": a third seed half, written after the points' parameters were chosen, to see them on unseen questions;
    # "dev2": a fourth, written when changes had stopped moving the other dev halves.
    for half in ("dev", "test", "cal", "dev2"):
        qs = synthesis.load(half)
        assert len(qs) >= 8 and all(q.points for q in qs)
        for q in qs:
            for point in q.points:
                assert any(metrics.normalize(p) in seeds for p in point), (q.id, point)
    for half in ("dev", "test"):
        ds = dialogue.load(half)
        assert len(ds) >= 4 and all(len(d.turns) >= 2 for d in ds)
    squad = public.squad_path()
    if squad is None:
        return
    data = json.loads(squad.read_text(encoding="utf-8"))
    for half in ("dev", "test"):
        title = public.SLICES[f"public-{half}"].title
        article = next(a for a in data["data"] if a["title"] == title)
        text = metrics.normalize(" ".join(p["context"] for p in article["paragraphs"]))
        for q in synthesis.load(half, synthesis.PUBLIC_SET):
            for point in q.points:
                assert any(metrics.normalize(p) in text for p in point), (q.id, point)
        talks = dialogue.load(half, dialogue.PUBLIC_SET)
        assert len(talks) >= 4 and all(len(d.turns) >= 2 for d in talks)
        for d in talks:
            for question, golds in d.turns:
                assert any(metrics.normalize(g) in text for g in golds), (d.id, question)
    # The third half is over the public-cal slice's articles (all the others), a corpus of several.
    named = {s.title for s in public.SLICES.values() if s.title}
    text = metrics.normalize(" ".join(p["context"] for a in data["data"] if a["title"] not in named
                                      for p in a["paragraphs"]))  # fmt: skip
    cal = synthesis.load("cal", synthesis.PUBLIC_SET)
    assert len(cal) >= 8
    for q in cal:
        for point in q.points:
            assert any(metrics.normalize(p) in text for p in point), (q.id, point)


def test_an_unknown_set_name_is_a_clear_error(capsys):
    from eval.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["--sets", "seed-dev,no-such-set", "--no-baseline"])
    assert e.value.code == 2 and "unknown set(s): no-such-set" in capsys.readouterr().err
