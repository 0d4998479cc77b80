"""Answer latency p50/p95 on the seed eval questions after warm-up, and peak memory.

    python bench/latency.py [--backend local|extractive|...] [--model smollm2|gemma3] [--repeat N]

Goal (issue 2): p50 at most 2 s on the 2-core CPU with the default backend.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.dataset import load  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.pipeline import Engine  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="local")
    p.add_argument("--model", default=None)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), llm=args.backend, llm_model=args.model)
        t0 = time.perf_counter()
        engine = Engine(settings)
        engine.ensure_index()
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine.warm_up()
        warm = time.perf_counter() - t0
        pairs = load()
        times = []
        for _ in range(args.repeat):
            for pair in pairs:
                t = time.perf_counter()
                engine.answer(pair.question, history=list(pair.history))
                times.append(time.perf_counter() - t)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "backend": args.backend,
        "model": args.model or "default",
        "questions": len(times),
        "index_build_s": round(build, 2),
        "warm_up_s": round(warm, 2),
        "p50_s": round(percentile(times, 50), 3),
        "p95_s": round(percentile(times, 95), 3),
        "mean_s": round(statistics.mean(times), 3),
        "peak_rss_mib": round(peak_mib),
    }
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
