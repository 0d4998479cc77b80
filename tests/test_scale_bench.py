"""The scale benchmark's quick mode runs end to end (its figures go to docs/benchmarks.md, not asserted)."""

import pytest

pytestmark = pytest.mark.slow


def test_quick_scale_benchmark(tmp_path):
    from bench.scale import main

    out = tmp_path / "benchmarks.md"
    assert main(["--quick", "--answers", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Scale: qa vs the stock pipeline" in text and "ratio qa/stock" in text
    assert (tmp_path / "scale.png").stat().st_size > 5000
