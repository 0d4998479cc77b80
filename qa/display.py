"""Pure rendering for the app: sources with highlighted spans, the trace, the documents table."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable

from .answer import REFUSAL, Answer, Trace
from .cite import Citation

CONTEXT_CHARS = 220


_MARKUP = re.compile(r"(\*\*|__|^#{1,6}\s)", re.M)


def _show(text: str) -> str:
    """A slice of a document as HTML text: escaped, without markdown's emphasis and heading marks."""
    return html.escape(_MARKUP.sub("", text))


def _highlight(text: str, start: int, end: int, lo: int, hi: int, mark_id: str = "") -> str:
    """text[lo:hi] as HTML with text[start:end] in a <mark>."""
    ident = f' id="{mark_id}"' if mark_id else ""
    return _show(text[lo:start]) + f"<mark{ident}>" + _show(text[start:end]) + "</mark>" + _show(text[end:hi])


def word_window(text: str, start: int, end: int, chars: int) -> tuple[int, int]:
    """About `chars` of context either side of text[start:end], widened or cut to whole words (to the
    sentence's start where one begins nearby), never mid-word."""
    lo, hi = max(0, start - chars), min(len(text), end + chars)
    if lo:
        back = max(0, lo - 40)
        cut = max(text.rfind(". ", back, start), text.rfind("\n", back, start))
        if cut >= 0 and cut < start:
            lo = cut + 1
        else:
            space = text.find(" ", lo, start)
            lo = space + 1 if space >= 0 else start
        while lo < start and text[lo].isspace():
            lo += 1
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space >= 0 else end
    return lo, hi


def citation_card(n: int | str, c: Citation, doc: str | None) -> str:
    """One source: its number, file and title, the passage with the span marked, and the whole document."""
    head = (
        f'<div class="qa-cite-head"><span class="qa-num">[{n}]</span> <b>{html.escape(c.source)}</b>'
        + (f' <span class="qa-page">p. {c.page}</span>' if c.page else "")
        + (f' <span class="qa-title">{html.escape(c.title)}</span>' if c.title else "")
        + "</div>"
    )
    if doc is None or doc[c.start : c.end] != c.quote:
        body = f'<div class="qa-passage"><mark>{_show(c.quote)}</mark></div>'
        full = ""
    else:
        lo, hi = word_window(doc, c.start, c.end, CONTEXT_CHARS)
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


def reply_markdown(text: str, refused: bool, has_related: bool, warnings: tuple[str, ...] = (),
                   citations: tuple[Citation, ...] = ()) -> str:  # fmt: skip
    """An answer as the chat shows it: the text with its markers, or the refusal pointing at the related
    passages, and any warnings. Each marker holds its own passage (shown on hover or tap), so an earlier
    answer's markers still lead to that answer's sources, and the answer ends with them, folded."""
    if refused:
        text = f"**{REFUSAL}** " + ("The closest passages are listed beside the chat as related." if has_related else "")
    elif citations:
        text = MARKER_NUMBER.sub(lambda m: _marker(m, citations), html.escape(text, quote=False))
        text += "\n\n<details><summary>Sources of this answer</summary>\n\n" + "\n".join(
            f"{i}. *{html.escape(c.title or c.source)}*{f' (p. {c.page})' if c.page else ''}: "
            f"“{html.escape(' '.join(_MARKUP.sub('', c.quote).split()))}”"
            for i, c in enumerate(citations, start=1)
        ) + "\n\n</details>"
    return text + "".join(f"\n\n⚠️ {w}" for w in warnings)


MARKER_NUMBER = re.compile(r"\[(\d+)\]")


def _marker(m: re.Match, citations: tuple[Citation, ...]) -> str:
    n = int(m.group(1))
    if not 0 < n <= len(citations):
        return m.group(0)
    c = citations[n - 1]
    tip = html.escape(f"{c.title or c.source}: {' '.join(_MARKUP.sub('', c.quote).split())}", quote=True)
    return f'<abbr class="qa-marker" title="{tip}">[{n}]</abbr>'


def sources_for_turn(turn, load_doc: Callable[[str], str | None]) -> str:
    """The sources panel for a saved turn (its citations, or the related passages of a refusal)."""
    return sources_html(Answer(turn.answer, turn.refused, turn.citations, Trace("", ""), turn.related), load_doc)


def plain_why(a: Answer) -> str:
    """The first lines of "why these sources?": what was searched, what the answer rests on, how it was checked,
    or for a refusal what came closest and why it fell short, in words a user reads."""
    t = a.trace
    files = len({h.source for h in t.fused})
    found = f"Searched the documents and found {len(t.fused)} passages in {files} file{'s' * (files != 1)}"
    found += f" (searched for: *{t.query}*)." if t.query != t.question else "."
    if t.overview:
        found = (f"For an overview, read the first {len(t.fused)} passages of {files} file{'s' * (files != 1)}, and "
                 "from each file chose the sentences nearest what the file as a whole says.")
    if t.earlier:
        n = len(t.earlier)
        found += (f" As a follow-up, the last question and its answer found {n} more passage{'s' * (n != 1)}, "
                  "read with these.")
    if t.widened and not a.refused:
        more = len(t.widened)
        found += (f" For the other points, the question with the answer's first sentence found {more} more "
                  f"passage{'s' * (more != 1)}.")
    if a.refused:
        near = a.related[0] if a.related else None
        why = ("The closest passages did not state an answer, so none is given."
               if not t.supported else "An answer was found, but not with enough confidence to show it.")
        closest = f' The closest passage is from {near.title or near.source}: "{near.quote[:160]}".' if near else ""
        return f"{found}\n\n{why}{closest} They are shown beside the chat as related, not as support."
    lines = [found, ""]
    n = len(a.claims) or 1
    lines.append(f"The answer rests on {n} sentence{'s' * (n != 1)}, each quoted beside the chat, and each was "
                 "checked: every word and number of its statement is in the sentence it cites.")
    if t.left_out:
        lines.append(f"{len(t.left_out)} other close sentence{'s were' if len(t.left_out) != 1 else ' was'} left "
                     "out: " + "; ".join(f'"{x[:60]}…" ({why})' for x, why in t.left_out[:3]) + ".")
    return "\n".join(lines)


def trace_markdown(a: Answer | None) -> str:
    """The "why these sources?" view: in plain words first, then (behind a toggle) the query, the three
    ranked lists, the reader's reply, the checks and the timings."""
    if a is None:
        return "Ask a question to see how its sources were chosen."
    t = a.trace
    parts = [
        plain_why(a),
        "",
        "<details><summary>Details: the ranked lists and the checks</summary>",
        "",
        f"**Search query:** {t.query}",
        f"**Reader ({t.backend}):** "
        + (
            f"{t.model_answer or '(no answer)'}, from sentence {t.model_sentence}"
            + (" (not shown: refused)" if a.refused else "")
            if t.model_answer is not None
            else "none: each document's most central sentences are quoted"
            if t.overview
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
        *([_hits_table(t.earlier, "Found by the last question and its answer (a follow-up)")] if t.earlier else []),
        *([_hits_table(t.widened, "Found by the question with the answer's first sentence (for the points)")]
          if t.widened else []),
        "**Evidence sentences**",
        "",
        "| file | chars | score | shown to the reader? |",
        "|---|---|---|---|",
    ]
    parts += [f"| {s.source} | {s.start}–{s.end} | {s.score:.3f} | {'yes' if t.was_shown(s) else 'no'} |"
              for s in t.evidence]  # fmt: skip
    if t.seconds:
        parts.append("\n**Timings (s):** " + ", ".join(f"{k} {v:.2f}" for k, v in t.seconds.items()))
    parts += ["", "</details>"]
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


def progress_markdown(event) -> str:
    """An answer while it is made: what the engine is doing, or the reader's words so far, marked as not yet
    checked against the documents."""
    if event.kind == "draft":
        return f"{html.escape(event.text)} …\n\n*checking this against the documents…*"
    return f"*{html.escape(event.text or 'Working…')}*"


def welcome_markdown(metadata: dict[str, dict]) -> str:
    """The chat's first line: what is loaded and what to ask."""
    rows = documents_rows(metadata)
    if not rows:
        return "No documents are loaded yet: add some in the **Documents** tab, then ask about them."
    names = "; ".join(f"*{r[1] or r[0]}*" for r in rows[:6]) + (f"; and {len(rows) - 6} more" if len(rows) > 6 else "")
    return (f"Hello! {len(rows)} document{'s' * (len(rows) != 1)} loaded: {names}. Ask me anything about them: "
            "every answer quotes the passages it rests on, or says the documents don't say.")
