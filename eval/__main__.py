"""`python -m eval`: score qa and the stock LlamaIndex baseline on an eval set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.config import Settings
from qa.embed import resolve
from qa.errors import QAError

from . import dataset
from .run import headline_table, run_baseline, run_qa, write_reports


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    p.add_argument("--backend", choices=["local", "gguf", "openai", "extractive"], help="LLM backend (QA_LLM)")
    p.add_argument("--model", help="LLM model (QA_LLM_MODEL): smollm2, gemma3, a .gguf path, or a server model")
    p.add_argument("--embed-model", help="embedding model (QA_EMBED_MODEL)")
    p.add_argument("--limit", type=int, help="only the first N pairs")
    p.add_argument("--docs", type=Path, help="corpus folder (default: the seeds)")
    p.add_argument("--dataset", type=Path, default=dataset.SEED_SET, help="JSONL eval set")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="where reports go")
    p.add_argument("--no-baseline", action="store_true", help="skip the stock pipeline")
    args = p.parse_args(argv)

    overrides = {
        k: v
        for k, v in {
            "llm": args.backend,
            "llm_model": args.model,
            "embed_model": args.embed_model,
            "docs_dir": args.docs,
        }.items()
        if v is not None
    }
    try:
        settings = Settings(**overrides)
        pairs = dataset.load(args.dataset)[: args.limit]
        from tqdm import tqdm

        with tqdm(total=len(pairs) * (1 if args.no_baseline else 2), desc="eval", unit="q") as bar:
            qa_rows = run_qa(pairs, settings, progress=bar.update)
            base_rows = None if args.no_baseline else run_baseline(pairs, settings, progress=bar.update)
        config = {
            "backend": settings.llm,
            "model": settings.llm_model,
            "embed_model": resolve(settings.embed_model),
            "docs": str(settings.docs_dir),
            "dataset": str(args.dataset),
            "pairs": len(pairs),
        }
        data = write_reports(args.out, config, qa_rows, base_rows)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(headline_table(data["qa"], data["baseline"]))
    print(f"\nreports: {args.out / 'report.md'}, report.json, report.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
