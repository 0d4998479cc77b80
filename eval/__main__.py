"""`python -m eval`: score qa and the stock LlamaIndex pipeline on the seed dev and test splits and on
the public slice (SQuAD 2.0 training articles), each set beside the baseline in the same run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.config import Settings
from qa.embed import resolve
from qa.errors import QAError
from qa.llm import backends

from . import dataset, dialogue, public, synthesis
from .baseline import BASELINES, configurations
from .report import headline_table, rows_from_report, write_reports
from .run import run_baseline, run_qa

HERE = Path(__file__).resolve().parent
SETS = ("seed-dev", "seed-test", "public-dev", "public-test", "synthesis-dev", "synthesis-test",
        "synthesis-public-dev", "synthesis-public-test", "dialogue-dev", "dialogue-test", "dialogue-public-dev",
        "dialogue-public-test")
# Run only when named: 200 answerable questions over the training articles other than the dev and test ones
# (eval/public.py), about 15 minutes on 2 cores, for how often answerable questions are refused across articles;
# and 12 synthesis questions over those articles as one corpus, a third dev half for the points' parameters; and
# 11 synthesis questions over the seeds written on 2026-12-04, after those parameters were chosen (`synthesis-cal`);
# and 12 more written on 2026-12-06, when changes had stopped moving the other dev halves (`synthesis-dev2`).
EXTRA_SETS = ("public-cal", "synthesis-public-cal", "synthesis-cal", "synthesis-dev2")
# The stock pipelines run on the seed dev and test sets and on the public test slice. public-dev is the
# public slice's tuning half; at about 5 s a question for each baseline it would add about half an hour.
BASELINE_SETS = ("seed-dev", "seed-test", "public-test")


def question_set(name: str, settings: Settings, squad: Path | None, work: Path):
    """The pairs of one named set and the settings that point at its documents."""
    if name.startswith("seed-"):
        return dataset.split(dataset.load(), name.removeprefix("seed-")), settings
    docs = work / name / "docs"
    pairs = public.build(squad, public.SLICES[name], docs)
    return pairs, settings.model_copy(update={"docs_dir": docs, "data_dir": work / name / "data"})


def corpus(split: str, settings: Settings, squad: Path | None) -> Settings:
    """The settings a synthesis or dialogue split runs with: over the public slice's article of the same split
    for a public one ("public-dev"), over the seeds otherwise."""
    return question_set(split, settings, squad, HERE / "work")[1] if split.startswith("public-") else settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    p.add_argument("--backend", choices=sorted(backends()), help="LLM backend (QA_LLM)")
    p.add_argument("--model", help="LLM model (QA_LLM_MODEL): a bundled name, a .gguf path, or a server model")
    p.add_argument("--embed-model", help="embedding model (QA_EMBED_MODEL)")
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS + EXTRA_SETS)}")
    p.add_argument("--squad", type=Path, help="SQuAD 2.0 train-v2.0.json for the public slice (or QA_SQUAD)")
    p.add_argument("--limit", type=int, help="only the first N pairs of each set")
    p.add_argument("--out", type=Path, default=HERE, help="where reports go")
    p.add_argument("--no-baseline", action="store_true", help="skip the stock pipelines")
    p.add_argument(
        "--baselines", default=",".join(BASELINES), help=f"comma-separated, from {', '.join(BASELINES)}"
    )
    p.add_argument(
        "--baseline-sets", default=",".join(BASELINE_SETS), help="run the stock pipelines on these sets only"
    )
    p.add_argument("--render-only", action="store_true", help="rewrite report.md/png from the saved report.json")
    args = p.parse_args(argv)

    if args.render_only:
        saved = json.loads((args.out / "report.json").read_text(encoding="utf-8"))
        write_reports(args.out, saved["config"], rows_from_report(saved))
        return 0
    overrides = {"llm": args.backend, "llm_model": args.model, "embed_model": args.embed_model}
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
        names = [n.strip() for n in args.sets.split(",") if n.strip()]
        unknown_sets = set(names) - set(SETS + EXTRA_SETS)
        if unknown_sets:
            p.error(f"unknown set(s): {', '.join(sorted(unknown_sets))}")
        squad = public.squad_path(args.squad)
        public_sets = ("public-", "synthesis-public-", "dialogue-public-")
        if any(n.startswith(public_sets) for n in names) and squad is None:
            print(
                "no SQuAD 2.0 training file (--squad or QA_SQUAD): the public slice is left out", file=sys.stderr
            )
            names = [n for n in names if not n.startswith(public_sets)]
        results = {}
        baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
        unknown = set(baselines) - set(BASELINES)
        if unknown:
            p.error(f"unknown baseline(s): {', '.join(sorted(unknown))}")
        for name in [n for n in names if n.startswith("synthesis-")]:
            split = name.removeprefix("synthesis-")
            set_settings = corpus(split, settings, squad)
            if split.startswith("public-"):
                qs = synthesis.load(split.removeprefix("public-"), synthesis.PUBLIC_SET)[: args.limit]
            else:
                qs = synthesis.load(split)[: args.limit]
            print(f"{name}: {len(qs)} questions", file=sys.stderr)
            found = {"qa": synthesis.run_qa(qs, set_settings)}
            if not args.no_baseline:
                found["stock-hybrid"] = synthesis.run_stock(qs, set_settings)
            for system, summ in synthesis.report(name, found, args.out).items():
                print(f"{name} {system}: {json.dumps(summ)}")
        for name in [n for n in names if n.startswith("dialogue-")]:
            split = name.removeprefix("dialogue-")
            set_settings = corpus(split, settings, squad)
            if split.startswith("public-"):
                ds = dialogue.load(split.removeprefix("public-"), dialogue.PUBLIC_SET)[: args.limit]
            else:
                ds = dialogue.load(split)[: args.limit]
            print(f"{name}: {len(ds)} conversations", file=sys.stderr)
            rows = dialogue.run_qa(ds, set_settings)
            print(f"{name} qa: {json.dumps(dialogue.report(name, rows, args.out)['qa'])}")
        names = [n for n in names if not n.startswith(("synthesis-", "dialogue-"))]
        data = {"sets": {}}
        for name in names:
            # Not a hidden folder: llama-index's SimpleDirectoryReader skips everything under one.
            pairs, set_settings = question_set(name, settings, squad, HERE / "work")
            pairs = pairs[: args.limit]
            print(f"{name}: {len(pairs)} questions", file=sys.stderr)
            results[name] = {"qa": run_qa(pairs, set_settings)}
            if not args.no_baseline and name in args.baseline_sets.split(","):
                for system in baselines:
                    results[name][system] = run_baseline(pairs, set_settings, system)
            config = {
                "backend": settings.llm,
                "model": settings.llm_model,
                "embed_model": resolve(settings.embed_model),
                "sets": list(results),
                "baselines": {}
                if args.no_baseline
                else {k: v for k, v in configurations(settings).items() if k in baselines},
                "baseline_sets": [] if args.no_baseline else args.baseline_sets.split(","),
            }
            data = write_reports(args.out, config, results)  # after each set, so a failure keeps the rest
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, block in data["sets"].items():
        print(f"\n{name}\n" + headline_table(block["summary"]))
    print(f"\nreports: {args.out / 'report.md'}, report.json, report.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
