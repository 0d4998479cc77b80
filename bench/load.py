"""Many users at once: concurrent questions against the running app over loopback.

    python bench/load.py [--users 20]

Starts the app on a free loopback port (bundled models, seed documents), sends one question per
simulated user at the same moment, twice, checks every answer, and records throughput, latency
and the app's memory in docs/benchmarks.md. Bounded: a fixed number of requests, each with a timeout.
"""

from __future__ import annotations

import argparse
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

# (question, text the answer must hold): distinct subjects, so a mix-up between users shows.
QUESTIONS = [
    ("Who is the Ofsted chief inspector?", "Gilbert"),
    ("Who is Hampshire's director of children's services?", "Coughlan"),
    ("How old was Jason Owen?", "36"),
    ("Who is the MP for Hornsey and Wood Green?", "Featherstone"),
    ("In what year was Victoria Climbie murdered?", "2000"),
    ("What did officials say Baby P had been used as?", "punch bag"),
    ("How old was Baby P's mother?", "27"),
    ("Who is Haringey's cabinet member for children and young people?", "Santry"),
    ("Where was Jason Owen from?", "Bromley"),
    ("How many social workers received formal warnings?", "two"),
]


@dataclass(frozen=True)
class Result:
    question: str
    expected: str
    answer: str
    seconds: float

    @property
    def ok(self) -> bool:
        """The answer holds the expected text, or the same number ("two" and "2")."""
        from qa.text import numbers

        want = numbers(self.expected)
        return self.expected.lower() in self.answer.lower() or bool(want and want <= numbers(self.answer))


def _text(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def ask_concurrently(url: str, users: int, timeout: float = 300) -> tuple[list[Result], float]:
    """One question per user, all at once, each user in its own session; returns results and wall time."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(users)]
    jobs = [QUESTIONS[i % len(QUESTIONS)] for i in range(users)]

    def one(i: int) -> Result:
        q, expected = jobs[i]
        t0 = time.perf_counter()
        chat, *_ = clients[i].submit(q, [], "local", "", "", 3, api_name="/ask").result(timeout=timeout)
        return Result(q, expected, _text(chat[-1]), time.perf_counter() - t0)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        results = list(pool.map(one, range(users)))
    return results, time.perf_counter() - t0


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
    from eval.metrics import percentile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_app(Path(tmp))
        try:
            ask_concurrently(url, 2)  # warm-up: models load
            before = rss_mib(proc.pid)
            rounds = [ask_concurrently(url, args.users) for _ in range(2)]
            after = rss_mib(proc.pid)
        finally:
            stop_app(proc, Path(tmp))
    lines = []
    for n, (results, wall) in enumerate(rounds, start=1):
        secs = [r.seconds for r in results]
        right = sum(r.ok for r in results)
        lines.append(
            f"| {n} | {args.users} | {right}/{len(results)} | {len(results) / wall:.2f} | "
            f"{percentile(secs, 50):.2f} | {percentile(secs, 95):.2f} | {wall:.1f} |"
        )
    table = "\n".join(
        [
            "| round | concurrent users | answered right | questions/s | p50 s | p95 s | wall s |",
            "|---|---|---|---|---|---|---|",
            *lines,
        ]
    )
    section = (
        f"## Concurrent users against the app\n\n`python bench/load.py --users {args.users}` on the 2-core CPU "
        f"({time.strftime('%Y-%m-%d')}): every user asks at the same moment in its own session, over loopback, "
        f"with the default backend.\n\n{table}\n\nApp memory (RSS) after warm-up {before:.0f} MiB, after both "
        f"rounds {after:.0f} MiB.\n"
    )
    write_section(args.out, "## Concurrent users against the app", section)
    print(section)
    return 0 if all(r.ok for results, _ in rounds for r in results) else 1


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace (or add) one `## ` section of a Markdown file."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
