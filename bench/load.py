"""Many users at once: concurrent questions against the running app over loopback.

    python bench/load.py [--users 20]

Starts the app on a free loopback port (bundled models, seed documents), asks each of 20 distinct
seed questions alone, then all at once from 20 sessions, twice; no user may get the answer another
user's question got alone (answers that differ from their own alone answer in wording are counted). Writes throughput, latency and the app's memory to docs/bench/load.json
(and so docs/benchmarks.md). Bounded: a fixed number of requests, each with a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def questions(n: int) -> list[tuple[str, tuple[str, ...]]]:
    """n distinct standalone, answerable questions of the seed eval set, with their gold answers."""
    from eval.dataset import load

    out, seen = [], set()
    for pair in load():
        if pair.answerable and not pair.history and pair.question not in seen:
            seen.add(pair.question)
            out.append((pair.question, pair.answers))
    if len(out) < n:
        raise ValueError(f"the seed eval set has only {len(out)} distinct standalone questions")
    return out[:n]


@dataclass(frozen=True)
class Result:
    question: str
    golds: tuple[str, ...]
    answer: str
    seconds: float

    @property
    def right(self) -> bool:
        """The answer holds a gold answer (the eval's measure)."""
        from eval.metrics import contains_gold, strip_markers

        return bool(contains_gold(strip_markers(self.answer), list(self.golds)))


def message_text(message) -> str:
    """The text of a Gradio chat message (a string, or a list of parts)."""
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def ask(client, question: str, timeout: float = 300) -> str:
    chat, *_ = client.submit(question, [], "local", "", "", 3, api_name="/ask").result(timeout=timeout)
    return message_text(chat[-1])


def ask_alone(url: str, jobs: list[tuple[str, tuple[str, ...]]], timeout: float = 300) -> dict[str, str]:
    """Each question asked on its own, one after another: the answer each user must get."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    return {q: ask(client, q, timeout) for q, _ in jobs}


def ask_concurrently(url: str, jobs: list[tuple[str, tuple[str, ...]]], timeout: float = 300):
    """One question per user, all at once, each user in its own session; returns results and wall time."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in jobs]

    def one(i: int) -> Result:
        q, golds = jobs[i]
        t0 = time.perf_counter()
        return Result(q, golds, ask(clients[i], q, timeout), time.perf_counter() - t0)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(one, range(len(jobs))))
    return results, time.perf_counter() - t0


def mixed_up(results: list[Result], alone: dict[str, str]) -> list[tuple[str, str, str]]:
    """Users who got the answer another user's question gets alone: (question, got, expected)."""
    return [
        (r.question, r.answer, alone[r.question])
        for r in results
        if r.answer != alone[r.question] and r.answer in {a for q, a in alone.items() if q != r.question}
    ]


def drifted(results: list[Result], alone: dict[str, str]) -> list[tuple[str, str, str]]:
    """Users whose answer differs from the one their question gets alone without being anyone else's.

    The reader decodes greedily and each prompt is evaluated from the same cached start (LlamaCppLLM._rewind),
    which makes a question's reading the same whatever question came before it, in sequence (tests/test_llm.py).
    Under concurrent users an answer still changes a word now and then (2 or more of 20 in one round of the
    test run after that cut, against 1 of 20 before it); the cause is not found.
    """
    others = set(alone.values())
    return [(r.question, r.answer, alone[r.question]) for r in results if r.answer not in others]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(tmp: Path, env: dict | None = None, timeout: float = 240) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a copy of the seeds in `tmp`, on a free loopback port; returns it and its URL.

    Its output goes to tmp/app.log (a pipe nobody reads would fill up and stall the app).
    """
    import urllib.request

    docs = tmp / "docs"
    if not docs.exists():
        shutil.copytree(ROOT / "seeds", docs)
    port = free_port()
    full_env = {
        **os.environ,
        "QA_DOCS_DIR": str(docs),
        "QA_DATA_DIR": str(tmp / "data"),
        "QA_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(env or {}),
    }
    log = (tmp / "app.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}: {(tmp / 'app.log').read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise TimeoutError(f"app did not start within {timeout:.0f}s")


def stop_app(proc: subprocess.Popen, tmp: Path) -> str:
    """Stop the app and return what it printed."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return (tmp / "app.log").read_text()


def main(argv=None) -> int:
    from bench.report import RESULTS, save
    from eval.metrics import percentile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON (default docs/bench)")
    args = p.parse_args(argv)
    jobs = questions(args.users)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_app(Path(tmp))
        try:
            alone = ask_alone(url, jobs)  # also the warm-up: the models load on the first question
            before = rss_mib(proc.pid)
            rounds, after = [], []
            for _ in range(2):
                rounds.append(ask_concurrently(url, jobs))
                after.append(rss_mib(proc.pid))
        finally:
            stop_app(proc, Path(tmp))
    summary = []
    for results, wall in rounds:
        secs = [r.seconds for r in results]
        summary.append(
            {
                "users": len(results),
                "distinct": len({r.question for r in results}),
                "right": sum(r.right for r in results),
                "same_as_alone": len(results) - len(mixed_up(results, alone)) - len(drifted(results, alone)),
                "mixed_up": len(mixed_up(results, alone)),
                "qps": len(results) / wall,
                "p50_s": percentile(secs, 50),
                "p95_s": percentile(secs, 95),
                "wall_s": wall,
            }
        )
    save(
        "load",
        "python bench/load.py " + " ".join(argv or sys.argv[1:]),
        {"reader": "the app's default (local)", "questions": "distinct standalone seed eval questions"},
        {"rounds": summary, "rss_mib": {"before": before, "after_rounds": after}},
        args.results,
    )
    print(json.dumps(summary, indent=1))
    return 0 if all(not mixed_up(results, alone) for results, _ in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
