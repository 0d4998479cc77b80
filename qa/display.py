"""Pure rendering for the app: sources with highlighted spans, the trace, the documents table."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from .answer import REFUSAL, Answer, Trace
from .cite import Citation

CONTEXT_CHARS = 220


def _highlight(text: str, start: int, end: int, lo: int, hi: int, mark_id: str = "") -> str:
    """text[lo:hi] as HTML with text[start:end] in a <mark>."""
    ident = f' id="{mark_id}"' if mark_id else ""
    return (
        html.escape(text[lo:start])
        + f"<mark{ident}>"
        + html.escape(text[start:end])
        + "</mark>"
        + html.escape(text[end:hi])
    )


def citation_card(n: int | str, c: Citation, doc: str | None) -> str:
    """One source: its number, file and title, the passage with the span marked, and the whole document."""
    head = (
        f'<div class="qa-cite-head"><span class="qa-num">[{n}]</span> <b>{html.escape(c.source)}</b>'
        + (f' <span class="qa-page">p. {c.page}</span>' if c.page else "")
        + (f' <span class="qa-title">{html.escape(c.title)}</span>' if c.title else "")
        + "</div>"
    )
    if doc is None or doc[c.start : c.end] != c.quote:
        body = f'<div class="qa-passage"><mark>{html.escape(c.quote)}</mark></div>'
        full = ""
    else:
        lo = max(0, c.start - CONTEXT_CHARS)
        hi = min(len(doc), c.end + CONTEXT_CHARS)
        body = (
            '<div class="qa-passage">'
            + ("… " if lo else "")
            + _highlight(doc, c.start, c.end, lo, hi)
            + (" …" if hi < len(doc) else "")
            + "</div>"
        )
        full = (
            '<details class="qa-doc"><summary>Open the whole document</summary>'
            f'<div class="qa-doc-text">{_highlight(doc, c.start, c.end, 0, len(doc), "qa-mark")}</div></details>'
        )
    return f'<div class="qa-cite" data-source="{html.escape(c.source)}">{head}{body}{full}</div>'


def sources_html(a: Answer | None, load_doc: Callable[[str], str | None]) -> str:
    """The sources panel for an answer (its citations, or for a refusal the related passages)."""
    if a is None:
        return '<div class="qa-empty">Sources for the latest answer appear here.</div>'
    docs: dict[str, str | None] = {}

    def doc(src: str) -> str | None:
        if src not in docs:
            docs[src] = load_doc(src)
        return docs[src]

    if a.refused:
        intro = (
            '<div class="qa-refusal">The documents don\'t say. '
            + ("The closest passages are shown as related, not as support." if a.related else "")
            + "</div>"
        )
        cards = [citation_card(f"related {i}", c, doc(c.source)) for i, c in enumerate(a.related, start=1)]
        return intro + "".join(cards)
    return "".join(citation_card(i, c, doc(c.source)) for i, c in enumerate(a.citations, start=1))


def _hits_table(rows, title: str) -> str:
    if not rows:
        return f"**{title}:** none\n"
    lines = [f"**{title}**", "", "| # | file | chars | score |", "|---|---|---|---|"]
    lines += [f"| {i} | {h.source} | {h.start}–{h.end} | {h.score:.4f} |" for i, h in enumerate(rows, start=1)]
    return "\n".join(lines) + "\n"


def reply_markdown(text: str, refused: bool, has_related: bool, warnings: tuple[str, ...] = ()) -> str:
    """An answer as the chat shows it: the text with its markers, or the refusal pointing at the related
    passages, and any warnings."""
    if refused:
        text = f"**{REFUSAL}** " + ("The closest passages are listed beside the chat as related." if has_related else "")
    return text + "".join(f"\n\n⚠️ {w}" for w in warnings)


def sources_for_turn(turn, load_doc: Callable[[str], str | None]) -> str:
    """The sources panel for a saved turn (its citations, or the related passages of a refusal)."""
    return sources_html(Answer(turn.answer, turn.refused, turn.citations, Trace("", ""), turn.related), load_doc)


def trace_markdown(a: Answer | None) -> str:
    """The "why these sources?" view: query, the three lists, and what evidence was kept or cut."""
    if a is None:
        return "Ask a question to see how its sources were chosen."
    t = a.trace
    parts = [
        f"**Question:** {t.question}",
        f"**Search query:** {t.query}",
        f"**Reader ({t.backend}):** "
        + (
            f"{t.model_answer or '(no answer)'}, from sentence {t.model_sentence}"
            if t.model_answer is not None
            else "none; the best evidence sentence is the answer"
        ),
        f"**Support check:** {t.verification}",
        f"**Decision:** {t.decision}",
    ]
    parts += [
        "",
        _hits_table(t.keyword, "Keyword (BM25) list"),
        _hits_table(t.dense, "Dense (embedding) list"),
        _hits_table(t.fused, "Fused list (reciprocal rank fusion)"),
        "**Evidence sentences**",
        "",
        "| file | chars | score | shown to the reader? |",
        "|---|---|---|---|",
    ]
    parts += [f"| {s.source} | {s.start}–{s.end} | {s.score:.3f} | {'yes' if t.was_shown(s) else 'no'} |"
              for s in t.evidence]  # fmt: skip
    if t.seconds:
        parts.append("\n**Timings (s):** " + ", ".join(f"{k} {v:.2f}" for k, v in t.seconds.items()))
    return "\n".join(parts)


def documents_rows(metadata: dict[str, dict]) -> list[list]:
    """One row per indexed file: name, title, chunks, when indexed."""
    files: dict[str, dict] = {}
    for meta in metadata.values():
        f = files.setdefault(meta["source"], {"title": meta.get("title", ""), "chunks": 0, "at": 0.0})
        f["chunks"] += 1
        f["at"] = max(f["at"], float(meta.get("indexed_at", 0)))
    return [
        [src, f["title"], f["chunks"], time.strftime("%Y-%m-%d %H:%M", time.localtime(f["at"]))]
        for src, f in sorted(files.items())
    ]
