"""Answer latency p50/p95 on the seed eval questions after warm-up, time to the first streamed claim and to
the whole answer on the synthesis questions (eval/synthesis_qa.jsonl), and peak memory.

    python bench/latency.py [--backend local|extractive|...] [--model smollm2|gemma3] [--repeat N]

Writes docs/bench/latency.json (or --json) and regenerates docs/benchmarks.md and README's speed line
from it (bench/report.py). Goal (issue 12): p50 at most 2 s on the 2-core CPU with the default backend.
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

from bench.report import RESULTS, save  # noqa: E402
from eval.dataset import load  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from qa.bundled import DEFAULT_READER  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.embed import resolve  # noqa: E402
from qa.pipeline import Engine  # noqa: E402


def synthesis_questions() -> list[str]:
    from eval.synthesis import load as load_synthesis

    return [q.question for split in ("dev", "test") for q in load_synthesis(split)]


def restarted(llm, settings: Settings) -> float | None:
    """Seconds a second process's local model takes to load and be ready for its first question (the fixed
    start loaded from the state folder the first one wrote); None for other backends."""
    from qa.llm.llamacpp import LlamaCppLLM
    from qa.reader import prime

    if not isinstance(llm, LlamaCppLLM):
        return None
    again = LlamaCppLLM(llm.path, llm.chat, settings.llm_threads, state_dir=settings.llm_state_dir)
    t = time.perf_counter()
    again.warm_up()
    prime(again)
    seconds = time.perf_counter() - t
    again.close()
    return round(seconds, 2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="local")
    p.add_argument("--model", default=None)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON (default docs/bench)")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        # Its own state folder: the warm-up evaluates the reader's fixed start, as a first run on a new machine does.
        settings = Settings(data_dir=Path(tmp), llm=args.backend, llm_model=args.model,
                            llm_state_dir=Path(tmp) / "state")  # fmt: skip
        t0 = time.perf_counter()
        engine = Engine(settings)
        engine.ensure_index()
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine.warm_up()
        warm = time.perf_counter() - t0
        restart = restarted(engine.llm, settings)
        pairs = load()
        times = []
        for _ in range(args.repeat):
            for pair in pairs:
                t = time.perf_counter()
                engine.answer(pair.question, history=list(pair.history))
                times.append(time.perf_counter() - t)
        firsts, wholes = [], []
        for q in synthesis_questions():
            t, first = time.perf_counter(), None
            for event in engine.answer_stream(q):
                if event.kind == "claim" and first is None:
                    first = time.perf_counter() - t
            wholes.append(time.perf_counter() - t)
            if first is not None:
                firsts.append(first)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "questions": len(times),
        "index_build_s": round(build, 2),
        "warm_up_s": round(warm, 2),
        "model_restart_s": restart,
        "p50_s": round(percentile(times, 50), 3),
        "p95_s": round(percentile(times, 95), 3),
        "mean_s": round(statistics.mean(times), 3),
        "synthesis_questions": len(wholes),
        "synthesis_first_claim_p50_s": round(percentile(firsts, 50), 3) if firsts else None,
        "synthesis_whole_answer_p50_s": round(percentile(wholes, 50), 3),
        "peak_rss_mib": round(peak_mib),
    }
    print(json.dumps(out, indent=1))
    config = {
        "reader": f"{settings.llm}:{settings.llm_model or (DEFAULT_READER if settings.llm == 'local' else '-')}",
        "embedder": resolve(settings.embed_model),
        "repeat": args.repeat,
    }
    save("latency", "python bench/latency.py " + " ".join(argv or sys.argv[1:]), config, out, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
