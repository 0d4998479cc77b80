"""qa against the stock LlamaIndex pipeline as the corpus grows, in the same run.

    python bench/scale.py --quick     # about 1k chunks (CI runs it at 300: tests/test_scale_bench.py)
    python bench/scale.py             # about 1k, 10k and 100k chunks (make bench-scale; 60-80 min on 2 cores)

The corpus is real documentation nobody here wrote: the HTML manuals in Debian's python3.11-doc
(/usr/share/doc/python3.11/html, about 15k qa chunks) and, for larger sizes, linux-doc-6.1
(/usr/share/doc/linux-doc-6.1/html); the script installs each with apt-get when it is needed and
missing and it runs as root, else says how. For each size it copies pages in a fixed order until qa's
chunk count reaches the target, then measures, for qa and for the stock pipeline (eval/baseline.py's
stock-vector: VectorStoreIndex over Chroma, same MiniLM in the same precision, qa's chunk size), each in
its own process: ingest seconds and chunks/s, index size on disk, peak memory, retrieval latency
p50/p95 and answer latency p50/p95 (the default reader for both). Writes docs/bench/scale.json (a full
run, with docs/scale.png) or docs/bench/scale-quick.json, and through bench/report.py docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# (Debian package, folder of HTML pages); the second is only installed when a size needs it.
CORPORA = [
    ("python3.11-doc", Path("/usr/share/doc/python3.11/html")),
    ("linux-doc-6.1", Path("/usr/share/doc/linux-doc-6.1/html")),
]

QUESTIONS = [
    "How do I read a file line by line?",
    "What does the zip function return?",
    "How do I sort a list in reverse order?",
    "What is a generator expression?",
    "How do I catch several exceptions in one except clause?",
    "What does the with statement do?",
    "How do I format a float with two decimals?",
    "What is a lambda expression?",
    "How do I create a virtual environment?",
    "What does pathlib.Path.glob do?",
    "How do I parse command line arguments?",
    "What is the default recursion limit?",
    "How do I copy a dictionary?",
    "What does the walrus operator do?",
    "How do I start a thread?",
    "What is the global interpreter lock?",
    "How do I read a CSV file?",
    "What does functools.lru_cache do?",
    "How do I get the current time in UTC?",
    "What is a dataclass?",
]


def ensure_corpus(package: str, folder: Path) -> Path:
    if folder.is_dir():
        return folder
    if os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", package],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        return folder
    sys.exit(f"The benchmark corpus is missing: sudo apt-get install {package}")


def pages() -> Iterator[Path]:
    """Manual pages in a fixed order: the Python manual first, then the kernel's, installed when reached."""
    for package, folder in CORPORA:
        src = ensure_corpus(package, folder)
        yield from sorted(p for p in src.rglob("*.html") if not {"_static", "_sources"} & set(p.parts))


def build_corpus(target_chunks: int, dest: Path, chars_per_chunk: int = 260) -> int:
    """Copy manual pages in a fixed order until their text is about `target_chunks` qa chunks."""
    from qa.extract import read_text

    dest.mkdir(parents=True)
    total = 0
    for n, page in enumerate(pages()):
        try:
            total += len(read_text(page))
        except Exception:  # noqa: BLE001 - unreadable pages are simply not copied
            continue
        shutil.copy(page, dest / f"{n:05d}_{page.name}")
        if total / chars_per_chunk >= target_chunks:
            return total
    print(
        f"note: both manuals together give {total / chars_per_chunk:.0f} chunks, short of {target_chunks}",
        file=sys.stderr,
    )
    return total


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def worker(system: str, docs: Path, data: Path, answers: int) -> dict:
    """Runs in its own process so peak memory is this system's alone."""
    from eval.metrics import percentile
    from qa.config import Settings

    settings = Settings(docs_dir=docs, data_dir=data, llm="local")
    out = {"system": system}
    if system == "qa":
        from qa.chunk import chunk_document
        from qa.pipeline import Engine

        # Model loading and imports happen before the clock starts, for both systems.
        engine = Engine(settings)
        engine.embedder.embed(["warm up"])
        chunk_document(
            "Warm up. The splitter loads its sentence model.",
            "x",
            "0" * 40,
            settings.chunk_size,
            settings.chunk_overlap,
        )
        t0 = time.perf_counter()
        report = engine.ingest()
        out["ingest_s"] = time.perf_counter() - t0
        out["chunks"] = report.chunks

        def retrieve(q):
            return engine.retriever.retrieve(q, settings.candidates)

        def ask(q):
            return engine.answer(q)
    else:
        from llama_index.core.node_parser import SentenceSplitter

        from eval.baseline import StockVector, stock_embedder
        from qa.llm import make_llm

        embed = stock_embedder(settings)
        embed.get_text_embedding("warm up")
        SentenceSplitter().split_text("Warm up. The splitter loads its sentence model.")
        llm = make_llm(settings)
        t0 = time.perf_counter()
        stock = StockVector(settings, llm, embed=embed, persist_dir=data)
        out["ingest_s"] = time.perf_counter() - t0
        out["chunks"] = len(stock.nodes)
        retriever = stock.index.as_retriever(similarity_top_k=settings.candidates)

        def retrieve(q):
            return retriever.retrieve(q)

        def ask(q):
            return stock.ask(q)

    out["chunks_per_s"] = out["chunks"] / out["ingest_s"]
    out["ingest_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    retrieve(QUESTIONS[0])
    lat = []
    for q in QUESTIONS * 2:
        t = time.perf_counter()
        retrieve(q)
        lat.append(time.perf_counter() - t)
    out["retrieve_p50_ms"], out["retrieve_p95_ms"] = 1000 * percentile(lat, 50), 1000 * percentile(lat, 95)
    ask(QUESTIONS[0])
    lat = []
    for q in QUESTIONS[1 : 1 + answers]:
        t = time.perf_counter()
        ask(q)
        lat.append(time.perf_counter() - t)
    out["answer_p50_s"], out["answer_p95_s"] = percentile(lat, 50), percentile(lat, 95)
    out["index_mib"] = du(data) / 2**20
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_size(target: int, answers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        docs = Path(tmp) / "docs"
        chars = build_corpus(target, docs)
        row = {"target": target, "files": len(list(docs.iterdir())), "text_mib": chars / 2**20}
        for system in ("qa", "stock"):
            data = Path(tmp) / f"data-{system}"
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    system,
                    "--docs",
                    str(docs),
                    "--data",
                    str(data),
                    "--answers",
                    str(answers),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{system} worker failed:\n{proc.stderr[-3000:]}")
            row[system] = json.loads(proc.stdout.strip().splitlines()[-1])
        return row


def render(rows: list[dict]) -> str:
    head = [
        "| qa chunks | files | text MiB | system | ingest s | chunks/s | index MiB | peak MiB | "
        "retrieve p50/p95 ms | answer p50/p95 s | ingest peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines = []
    for r in rows:
        for sysname in ("qa", "stock"):
            m = r[sysname]
            lines.append(
                f"| {r['qa']['chunks']} | {r['files']} | {r['text_mib']:.1f} | "
                f"{'qa' if sysname == 'qa' else 'stock LlamaIndex'} ({m['chunks']} chunks) | "
                f"{m['ingest_s']:.1f} | {m['chunks_per_s']:.1f} | {m['index_mib']:.1f} | "
                f"{m['peak_rss_mib']:.0f} | {m['retrieve_p50_ms']:.1f} / {m['retrieve_p95_ms']:.1f} | "
                f"{m['answer_p50_s']:.2f} / {m['answer_p95_s']:.2f} | {m['ingest_peak_mib']:.0f} |"
            )
        q, s = r["qa"], r["stock"]
        lines.append(
            f"| | | | **ratio qa/stock** | ingest time {q['ingest_s'] / s['ingest_s']:.2f}x "
            f"(same documents: {s['ingest_s'] / q['ingest_s']:.2f}x faster) | | "
            f"{q['index_mib'] / max(s['index_mib'], 1e-9):.2f}x | "
            f"{q['peak_rss_mib'] / s['peak_rss_mib']:.2f}x | "
            f"{q['retrieve_p50_ms'] / s['retrieve_p50_ms']:.2f}x | "
            f"{q['answer_p50_s'] / s['answer_p50_s']:.2f}x | "
            f"{q['ingest_peak_mib'] / s['ingest_peak_mib']:.2f}x |"
        )
    return "\n".join(head + lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["qa"]["chunks"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110)
    for sysname, colour in (("qa", "#2a7ab0"), ("stock", "#999999")):
        label = "qa" if sysname == "qa" else "stock LlamaIndex"
        a.plot(xs, [r["text_mib"] / r[sysname]["ingest_s"] * 1024 for r in rows], "o-", color=colour, label=label)
        b.plot(xs, [r[sysname]["retrieve_p50_ms"] for r in rows], "o-", color=colour, label=label)
    a.set(xscale="log", xlabel="corpus size (qa chunks)", ylabel="ingest KiB of text / s", title="Ingest")
    b.set(xscale="log", xlabel="corpus size (qa chunks)", ylabel="retrieval p50 (ms)", title="Retrieval")
    a.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    from bench.report import RESULTS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="about 1k chunks only")
    p.add_argument("--sizes", help="qa chunk counts, comma-separated (default 1000,10000,100000; --quick: 1000)")
    p.add_argument("--answers", type=int, default=10, help="answer-latency questions per system")
    p.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON (default docs/bench)")
    p.add_argument("--worker", choices=["qa", "stock"], help=argparse.SUPPRESS)
    p.add_argument("--docs", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.docs, args.data, args.answers)))
        return 0
    sizes = [int(s) for s in (args.sizes or ("1000" if args.quick else "1000,10000,100000")).split(",")]
    answers = min(args.answers, 5) if args.quick else args.answers
    rows = []
    for n in sizes:
        t = time.perf_counter()
        rows.append(run_size(n, answers))
        print(f"size {n}: done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        write(rows, args.quick, argv, args.results)
    return 0


def write(rows: list[dict], quick: bool, argv, folder: Path) -> None:
    """docs/bench/scale.json (or scale-quick.json), the plot of a full run, and so docs/benchmarks.md."""
    from bench.report import save
    from qa.bundled import DEFAULT_READER
    from qa.config import Settings
    from qa.embed import resolve

    settings = Settings()
    if not quick:
        folder.mkdir(parents=True, exist_ok=True)
        plot(rows, folder.parent / "scale.png")
    config = {
        "corpus": "the HTML manuals in Debian's python3.11-doc, then linux-doc-6.1 for the larger sizes",
        "qa": f"QA_EMBED_MODEL=auto ({resolve('auto')}), reader {settings.llm_model or DEFAULT_READER}",
        "stock": f"eval/baseline.py's stock-vector: HuggingFaceEmbedding over the same model and precision, "
        f"SentenceSplitter(chunk_size={settings.chunk_size}), the same reader",
        "timing": "model loading before the clock starts, for both; peak MiB is the worker's whole run",
    }
    command = "python bench/scale.py " + " ".join(argv or sys.argv[1:])
    save("scale-quick" if quick else "scale", command, config, rows, folder)


if __name__ == "__main__":
    sys.exit(main())
