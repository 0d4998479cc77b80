"""The scale benchmark's quick mode runs end to end and its JSON renders (figures not asserted: bench/)."""

import json

import pytest

pytestmark = pytest.mark.slow


def test_quick_scale_benchmark(tmp_path):
    from bench.report import benchmarks_md
    from bench.scale import main

    # 300 chunks, not the quick run's 1000: the stock pipeline's ingest of the same text took 245 s of this test's
    # 432 s on 2026-12-01, and the test is that the benchmark runs and renders, not its figures.
    assert main(["--quick", "--sizes", "300", "--answers", "1", "--results", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "scale-quick.json").read_text())
    assert record["command"].startswith("python bench/scale.py") and record["config"]["stock"]
    row = record["results"][0]
    assert row["target"] == 300 and row["qa"]["chunks"] > 200 and row["stock"]["chunks"] > 200
    text = benchmarks_md(tmp_path)
    assert "## Scale: qa against the stock pipeline (quick run" in text and "ratio qa/stock" in text
