"""The scale benchmark's quick mode runs end to end and its JSON renders (figures not asserted: bench/)."""

import json

import pytest

pytestmark = pytest.mark.slow


def test_quick_scale_benchmark(tmp_path):
    from bench.report import benchmarks_md
    from bench.scale import main

    assert main(["--quick", "--answers", "2", "--results", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "scale-quick.json").read_text())
    assert record["command"].startswith("python bench/scale.py") and record["config"]["stock"]
    row = record["results"][0]
    assert row["qa"]["chunks"] > 500 and row["stock"]["chunks"] > 500
    text = benchmarks_md(tmp_path)
    assert "## Scale: qa against the stock pipeline (quick run" in text and "ratio qa/stock" in text
