"""The `qa` command: a thin layer of argument parsing and printing over the Python API."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .config import Settings
from .errors import QAError
from .llm import backends


def _settings(args) -> Settings:
    overrides = {}
    if getattr(args, "docs", None):
        overrides["docs_dir"] = Path(args.docs)
    if getattr(args, "backend", None):
        overrides["llm"] = args.backend
    return Settings(**overrides)


def progress_bar():
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", desc="ingest", disable=not sys.stderr.isatty())

    def update(done: int, total: int, name: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(name[-40:])
        bar.refresh()

    return bar, update


def cmd_ingest(args) -> int:
    from .engines import engine_for

    settings = _settings(args)
    if args.rebuild:
        from .store import open_store

        open_store(settings, rebuild=True)  # a damaged local index is wiped before anything reads it
    engine = engine_for(settings)
    bar, update = progress_bar()
    with bar:
        report = engine.ingest(progress=update, rebuild=args.rebuild)
    print(report.summary())
    if args.watch:
        from watchfiles import watch

        print(f"watching {settings.docs_dir} (Ctrl-C to stop)")
        try:
            for _ in watch(settings.docs_dir):
                print(engine.ingest().summary(), flush=True)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_ask(args) -> int:
    from .answer import require_question
    from .claims import piece
    from .engines import answer_stream, engine_for

    settings = _settings(args)
    question = " ".join(args.question)
    require_question(question)  # said at once, not after loading the models
    engine_for(settings).warm_up()
    shown = 0
    for event in answer_stream(question, settings=settings):
        if event.kind == "claim" and not args.json:  # each claim as soon as it is verified
            print(piece(shown, event.claim.text), end="", flush=True)
            shown += 1
        elif event.kind == "answer":
            a = event.answer
    if args.json:
        out = {
            "text": a.text,
            "refused": a.refused,
            "citations": [asdict(c) for c in a.citations],
            "related": [asdict(c) for c in a.related],
            "warnings": list(a.warnings),
            "trace": asdict(a.trace),
        }
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    print("" if shown else a.text)
    for w in a.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for i, c in enumerate(a.citations or a.related, start=1):
        label = f"[{i}]" if a.citations else f"related {i}:"
        where = f"p. {c.page}, " if c.page else ""
        print(f"  {label} {c.source} ({where}{c.start}-{c.end}): {c.quote}")
    return 0


def cmd_serve(args) -> int:
    from .server import check_exposure, serve

    settings = _settings(args)
    host, port = args.host or settings.api_host, args.port or settings.api_port
    check_exposure(settings, host)
    print(f"qa serve: OpenAI-compatible API at http://{host}:{port}/v1 (model 'qa'); Ctrl-C to stop", flush=True)
    serve(settings, host, port)
    return 0


def cmd_user(args) -> int:
    import getpass

    from .users import add_user

    path = Path(args.file) if args.file else Settings().data_dir / "users"
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("password: ")
    add_user(path, args.name, password)
    print(f"user {args.name} saved in {path}; start the app with QA_AUTH={path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="qa", description="Question answering over a folder of documents.")
    sub = p.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("ingest", help="index a folder (incremental)")
    pi.add_argument("docs", nargs="?", help="folder of documents (default: QA_DOCS_DIR or the seeds)")
    pi.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    pi.add_argument("--watch", action="store_true", help="keep the index in sync as files change")
    pi.set_defaults(func=cmd_ingest)
    pa = sub.add_parser("ask", help="answer a question with citations")
    pa.add_argument("question", nargs="+")
    pa.add_argument("--json", action="store_true", help="print the answer as JSON")
    pa.add_argument("--docs", help="folder of documents")
    pa.add_argument("--backend", choices=sorted(backends()))
    pa.set_defaults(func=cmd_ask)
    ps = sub.add_parser("serve", help="serve an OpenAI-compatible chat API over the documents")
    ps.add_argument("--host", help="address to listen on (default 127.0.0.1; any other needs QA_API_KEY)")
    ps.add_argument("--port", type=int, help="port (default 8000)")
    ps.add_argument("--docs", help="folder of documents")
    ps.add_argument("--backend", choices=sorted(backends()))
    ps.set_defaults(func=cmd_serve)
    pu = sub.add_parser("user", help="manage the app's logins")
    pu_sub = pu.add_subparsers(dest="action", required=True)
    pua = pu_sub.add_parser("add", help="add a user, or set a user's password (read from the terminal or stdin)")
    pua.add_argument("name")
    pua.add_argument("--file", help="the users file (default: users in the data folder); point QA_AUTH at it")
    pua.set_defaults(func=cmd_user)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
