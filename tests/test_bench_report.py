"""docs/benchmarks.md and README's speed lines are exactly what bench/report.py makes of docs/bench/*.json."""

import json

from bench.report import BENCHMARKS, README, RESULTS, benchmarks_md, readme_block, render_readme


def test_benchmarks_md_is_generated_from_the_json():
    assert BENCHMARKS.read_text(encoding="utf-8") == benchmarks_md(), "run python -m bench.report"


def test_readme_speed_lines_are_the_json():
    readme = README.read_text(encoding="utf-8")
    assert render_readme(readme) == readme, "README.md differs from docs/bench/*.json: run python -m bench.report"
    block = readme_block()
    latency = json.loads((RESULTS / "latency.json").read_text())["results"]
    assert f"p50 {latency['p50_s']:.2f} s" in block  # a figure from the file, not typed in


def test_every_benchmark_has_its_results_file():
    for name in ("latency", "load", "scale", "scale-quick"):
        record = json.loads((RESULTS / f"{name}.json").read_text())
        assert {"command", "date", "machine", "config", "results"} <= set(record), name


def test_the_load_check_catches_users_who_got_another_users_answer():
    from bench.load import Result, drifted, mixed_up

    alone = {"Who is A?": "Alice [1]", "Who is B?": "Bob [1]"}
    right = [Result("Who is A?", ("Alice",), "Alice [1]", 1.0), Result("Who is B?", ("Bob",), "Bob [1]", 1.0)]
    swapped = [Result("Who is A?", ("Alice",), "Bob [1]", 1.0), Result("Who is B?", ("Bob",), "Alice [1]", 1.0)]
    assert mixed_up(right, alone) == []
    assert [q for q, _, _ in mixed_up(swapped, alone)] == ["Who is A?", "Who is B?"]
    assert drifted(swapped, alone) == [] and mixed_up(right, alone) == drifted(right, alone) == []
    reworded = [Result("Who is A?", ("Alice",), "It is Alice. [1]", 1.0), right[1]]
    assert mixed_up(reworded, alone) == [] and [q for q, _, _ in drifted(reworded, alone)] == ["Who is A?"]
    assert right[0].right and not swapped[0].right
