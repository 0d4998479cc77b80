"""qa's chat app: a thin Gradio layer over qa's engine (Settings -> pipeline -> rendering)."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from qa.claims import join
from qa.config import Settings
from qa.conversations import ConversationError, Conversations, Turn
from qa.display import (
    documents_rows,
    progress_markdown,
    reply_markdown,
    sources_for_turn,
    sources_html,
    trace_markdown,  # fmt: skip
    welcome_markdown,
)
from qa.engines import answer_stream, engine_for
from qa.errors import QAError
from qa.llm import backends
from qa.server import is_loopback
from qa.uploads import UploadError, remove_document, restore_document, store_upload
from qa.users import login

log = logging.getLogger("qa.app")

EXAMPLES = [
    "How old was Baby P when he died?",
    "Who is Hampshire's director of children's services?",
    "How many times had officials seen the boy?",
    "How much compensation was paid to Baby P's family?",
]
HINT = "Type a question about the documents, for example: *" + EXAMPLES[0] + "*"
CSS = """
.qa-cite {border:1px solid var(--border-color-primary); border-radius:8px; padding:8px 10px; margin-bottom:8px}
.qa-cite-head {margin-bottom:4px} .qa-num {color: var(--color-accent); font-weight:700}
.qa-title {color: var(--body-text-color-subdued); font-size: 0.9em}
.qa-passage {font-size:0.92em; line-height:1.45; white-space: pre-wrap}
.qa-cite mark {background:#ffe58a; color:#222; padding:0 1px; border-radius:2px}
.qa-doc summary {cursor:pointer; color: var(--color-accent); margin-top:6px}
.qa-doc-text {max-height:320px; overflow-y:auto; white-space:pre-wrap; font-size:0.88em; padding:6px;
              border-top:1px dashed var(--border-color-primary); margin-top:4px}
.qa-refusal {font-weight:600; margin-bottom:8px; padding:6px 8px; border-left:4px solid #d9822b}
.qa-empty {color: var(--body-text-color-subdued)}
abbr.qa-marker {text-decoration: none; color: var(--color-accent); cursor: pointer; font-weight: 600}
li.qa-picked {background: #fff3c4; color: #222; border-radius: 3px}
/* A phone: the answer, then its sources right under it (examples and settings stay out of the way). */
@media (max-width: 720px) {
  #qa-chat {height: 55vh !important}
  #qa-examples, #qa-settings {display: none}
}
"""
# A click on an answer's marker [n] opens that answer's own "Sources of this answer" at its n-th source (the
# marker's hover title holds the passage too). One listener on the page: the chat re-renders its messages.
MARKER_JS = """
() => {
  document.addEventListener('click', (e) => {
    const marker = e.target.closest && e.target.closest('abbr.qa-marker');
    if (!marker) return;
    const message = marker.closest('[data-testid="bot"]') || marker.parentElement;
    const details = message && message.querySelector('details');
    if (!details) return;
    details.open = true;
    const n = parseInt(marker.textContent.replace(/[^0-9]/g, ''), 10);
    const item = details.querySelectorAll('li')[n - 1];
    if (!item) return;
    details.querySelectorAll('li.qa-picked').forEach((li) => li.classList.remove('qa-picked'));
    item.classList.add('qa-picked');
    item.scrollIntoView({block: 'nearest'});
  });
}
"""
# Opening a document scrolls its highlighted span into view (one click, no round trip).
SCROLL_JS = """
element.addEventListener('toggle', (e) => {
  const d = e.target;
  if (d.open) { const m = d.querySelector('mark'); if (m) m.scrollIntoView({block: 'center'}); }
}, true);
"""


def session_settings(base: Settings, backend: str, url: str, model: str, top_k: int) -> Settings:
    """The settings one question asks for (backend, server, model and top-k from the settings panel; a blank
    field keeps what the app was started with). They choose the LLM and options of one answer, never a new
    engine: engines are kept per index."""
    update = {"llm": backend, "top_k": int(top_k)}
    if model.strip():
        update["llm_model"] = model.strip()
    elif backend != base.llm:
        update["llm_model"] = None  # another backend's default model, not the one the app was started with
    if url.strip():
        update["llm_url"] = url.strip()
    return base.model_copy(update=update)


# The settings in the words the user sees (the values stay the backend names the API and QA_LLM take).
BACKEND_LABELS = {
    "local": "The bundled model, on this computer",
    "gguf": "A model file (.gguf) on this computer",
    "openai": "A model server (OpenAI-compatible)",
    "extractive": "No model: quote the closest sentence",
}
URL_LABEL = "Model server address (for a model server)"
MODEL_LABEL = ("Model: for the bundled model qwen2.5-1.5b, qwen2.5-0.5b or smollm2; for a model file its path; for a "
               "model server the model's name")  # fmt: skip


def settings_problem(backend: str, url: str, model: str, base: Settings) -> str | None:
    """What the settings panel lacks for the chosen way of answering, in its own words (None: nothing)."""
    if backend == "openai" and not ((url.strip() or base.llm_url) and (model.strip() or base.llm_model)):
        return (f"To answer with a model server, fill in **{URL_LABEL}** and the server's model name under "
                "**Model** in Settings.")  # fmt: skip
    if backend == "gguf" and not (model.strip() or base.llm_model):
        return "To answer with a model file, put the path of the .gguf file under **Model** in Settings."
    return None


PLACEHOLDER = "Ask a question about the documents…"
# The box while an answer is being made: it stays free, and what is asked then is sent next.
ANSWERING = "Answering… ask your next question; it is sent when this answer is in."


class Waiting:
    """Per browser session: whether an answer is being made, and the questions asked meanwhile, in order.

    Gradio passes a `gr.State` to an event as it was when the event started, so a running answer cannot see a
    question added to one afterwards; this small shared structure (a lock, a set and lists) is what both see."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._line: dict[str, list[str]] = {}

    def offer(self, session: str, question: str) -> bool:
        """True: answer it now (nothing is being answered; an empty question gets the hint). False: an answer
        is being made, and the question (if any) waits in line."""
        with self._lock:
            if session in self._busy:
                if question:
                    self._line.setdefault(session, []).append(question)
                return False
            if question:
                self._busy.add(session)
            return True

    def next(self, session: str) -> str | None:
        """The next question in line, or None (and the session is free again)."""
        with self._lock:
            line = self._line.get(session)
            if line:
                question = line.pop(0)
                if not line:
                    del self._line[session]
                return question
            self._busy.discard(session)
            return None

    def line(self, session: str) -> list[str]:
        with self._lock:
            return list(self._line.get(session, ()))

    def drop(self, session: str) -> list[str]:
        """Stop: the session is free again; the questions that were waiting, unsent."""
        with self._lock:
            self._busy.discard(session)
            return self._line.pop(session, [])


def session_of(request: gr.Request | None) -> str:
    return (getattr(request, "session_hash", None) or "") if request is not None else ""


def line_markdown(line: list[str]) -> str:
    """The questions waiting to be sent, under the box."""
    if not line:
        return ""
    items = "\n".join(f"{i}. {q}" for i, q in enumerate(line, 1))
    return f"**Sent next, when this answer is in:**\n{items}"


LOCAL_USER = "local"  # whose conversations they are when the app has no logins


def new_state() -> dict:
    """A chat's state: the (question, answer) history the engine reads, the last answer, its saved id."""
    return {"history": [], "answer": None, "conversation": None, "answers": {}}


def build_app(base: Settings) -> gr.Blocks:
    """The whole UI for one corpus."""
    saved = Conversations(base.data_dir / "conversations.sqlite")

    def load_doc(source: str):
        from qa.cite import document_text

        try:
            return document_text(source, base.docs_dir)
        except Exception:  # noqa: BLE001 - a vanished file just shows the passage alone
            return None

    waiting = Waiting()

    def take(message, request: gr.Request):
        """The quick first step, outside the queue: the question leaves the box (cleared every time). With no
        answer coming it goes to `pending` for `respond`; while one is coming it waits in line, shown under the box,
        and the running `respond` sends it next (`pending` None: nothing new to start)."""
        text, session = (message or "").strip(), session_of(request)
        if not waiting.offer(session, text):
            return gr.update(value=""), None, gr.update(visible=True), line_markdown(waiting.line(session))
        return (
            gr.update(value="", placeholder=ANSWERING if text else PLACEHOLDER),
            text,
            gr.update(visible=bool(text)),
            "",
        )

    def respond(message, chat, state, backend, url, model, top_k, chosen, request: gr.Request):
        """Answer `message`, then each question that came in while it was answered, in order; the box stays
        free to type in all along (its text is never touched here)."""
        if message is None:  # the question waits in line: this run starts nothing and leaves every output be
            yield (gr.skip(),) * len(out)
            return
        session = session_of(request)
        chat, state = list(chat or []), dict(state or new_state())
        last = (chat, gr.skip(), gr.skip(), state, gr.skip())
        while message is not None:
            for last in one_answer(message, chat, state, backend, url, model, top_k, chosen, request):
                chat, state = last[0], last[3]  # the next question in line continues this chat
                yield (*last[:4], gr.update(placeholder=ANSWERING), last[4], gr.update(visible=True),
                       line_markdown(waiting.line(session)))  # fmt: skip
            message = waiting.next(session)
        # The last answer once more, with the box's hint back and Stop gone (an API caller reads this last one).
        yield (*last[:4], gr.update(placeholder=PLACEHOLDER), last[4], gr.update(visible=False), "")

    def one_answer(message, chat, state, backend, url, model, top_k, chosen, request):
        """One question's turn on screen: (chat, sources, trace, state, conversation list) as the answer grows."""
        if not message.strip():
            chat = [*chat, {"role": "assistant", "content": HINT}]
            yield chat, gr.skip(), gr.skip(), state, gr.skip()
            return
        chat = [*chat, {"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        problem = settings_problem(backend, url, model, base)
        if problem:
            chat[-1] = {"role": "assistant", "content": f"⚠️ {problem}"}
            yield chat, gr.skip(), gr.skip(), state, gr.skip()
            return
        yield chat, gr.skip(), gr.skip(), state, gr.skip()
        try:
            settings = session_settings(base, backend, url, model, top_k)
            claims: list[str] = []
            final = None
            for event in answer_stream(
                message, history=state["history"], settings=settings, sources=chosen or None
            ):
                if event.kind == "answer":
                    final = event.answer
                    break
                if event.kind == "claim":
                    claims.append(event.claim.text)
                    chat[-1] = {"role": "assistant", "content": join(claims)}
                elif not claims:  # what the engine is doing, or the reader's words so far, until a claim is in
                    chat[-1] = {"role": "assistant", "content": progress_markdown(event)}
                yield chat, gr.skip(), gr.skip(), state, gr.skip()
            chat[-1] = {"role": "assistant", "content": reply_markdown(final.text, final.refused, bool(final.related),
                                                                       final.warnings, final.citations)}  # fmt: skip
            state = dict(state)
            if not final.refused:
                state["history"] = state["history"] + [(message, final.text)]
            state["answer"] = final
            state["answers"] = {**state.get("answers", {}), str(len(chat) - 1): final}  # (stopped() reads it)
            user = who(request)
            state["conversation"] = remember(user, state.get("conversation"), Turn.of(message, final))
            yield (
                chat,
                sources_html(final, load_doc),
                trace_markdown(final),
                state,
                conversation_list(user, state["conversation"]),
            )
        except QAError as e:
            chat[-1] = {"role": "assistant", "content": f"⚠️ {e}"}
            yield chat, gr.skip(), gr.skip(), state, gr.skip()
        except Exception as e:  # noqa: BLE001 - the UI must never show a traceback
            log.exception("answer failed")
            chat[-1] = {
                "role": "assistant",
                "content": f"⚠️ Something went wrong ({type(e).__name__}). "
                "Please try again; the app is still running.",
            }
            yield chat, gr.skip(), gr.skip(), state, gr.skip()

    def stopped(chat, state, request: gr.Request):
        """Stop: the answer being made is dropped (nothing half-made is kept as an answer); questions waiting in
        line go back to the box, unsent, rather than being lost."""
        chat = list(chat or [])
        if (
            chat
            and chat[-1].get("role") == "assistant"
            and str(len(chat) - 1) not in (state or {}).get("answers", {})
        ):
            chat[-1] = {"role": "assistant", "content": "*Stopped.*"}
        line = waiting.drop(session_of(request))
        box = (
            gr.update(value="\n".join(line), placeholder=PLACEHOLDER)
            if line
            else gr.update(placeholder=PLACEHOLDER)
        )
        return chat, box, gr.update(visible=False), ""

    def remember(user: str, cid: str | None, turn: Turn) -> str:
        """Save a finished turn in the chat's conversation, or in a new one (the first turn, or after the
        conversation was deleted from another tab); the conversation's id."""
        if cid is not None:
            try:
                saved.add(user, cid, turn)
                return cid
            except ConversationError:
                pass
        cid = saved.create(user, turn.question)
        saved.add(user, cid, turn)
        return cid

    def who(request: gr.Request | None) -> str:
        return (getattr(request, "username", None) or LOCAL_USER) if request is not None else LOCAL_USER

    def conversation_list(user: str, current: str | None = None):
        items = saved.list(user)
        return gr.update(choices=[(c.title, c.id) for c in items], value=current)

    def list_conversations(request: gr.Request):
        return conversation_list(who(request))

    def open_conversation(cid, request: gr.Request):
        if not cid:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        try:
            turns = saved.turns(who(request), cid)
        except QAError as e:
            return gr.update(), gr.update(), gr.update(), gr.update(), f"⚠️ {e}"
        chat, history = [], []
        for t in turns:
            chat += [
                {"role": "user", "content": t.question},
                {
                    "role": "assistant",
                    "content": reply_markdown(t.answer, t.refused, bool(t.related), citations=t.citations),
                },
            ]
            if not t.refused:
                history.append((t.question, t.answer))
        state = {**new_state(), "history": history, "conversation": cid}
        last = turns[-1] if turns else None
        shown = sources_for_turn(last, load_doc) if last else sources_html(None, load_doc)
        return chat, state, shown, trace_markdown(None), ""

    def welcome() -> list[dict]:
        return [{"role": "assistant", "content": welcome_markdown(engine_for(base).index.metadata())}]

    def new_chat(request: gr.Request):
        """A new conversation: the answer being made (if any) is cancelled and questions waiting for it dropped."""
        waiting.drop(session_of(request))
        return (welcome(), new_state(), sources_html(None, load_doc), trace_markdown(None), conversation_list(who(request)),
                gr.update(visible=False), "")  # fmt: skip

    def rename_conversation(cid, title, request: gr.Request):
        user = who(request)
        if not cid:
            return gr.update(), "Open a conversation to rename it."
        try:
            saved.rename(user, cid, title or "")
        except QAError as e:
            return gr.update(), f"⚠️ {e}"
        return conversation_list(user, cid), "Renamed."

    def delete_conversation(cid, state, request: gr.Request):
        user = who(request)
        if not cid:
            return gr.update(), gr.update(), gr.update(), "Open a conversation to delete it."
        try:
            saved.delete(user, cid)
        except QAError as e:
            return gr.update(), gr.update(), gr.update(), f"⚠️ {e}"
        if (state or {}).get("conversation") == cid:
            return conversation_list(user), [], new_state(), "Deleted."
        return conversation_list(user), gr.update(), gr.update(), "Deleted."

    def doc_table():
        rows = documents_rows(engine_for(base).index.metadata())
        return gr.update(value=rows), gr.update(choices=[r[0] for r in rows], value=None)

    def doc_lists():
        table, pick = doc_table()
        return table, pick, gr.update(choices=pick["choices"])

    def add_files(files, progress=gr.Progress()):  # noqa: B008 - Gradio injects progress this way
        if not files:
            return "Choose one or more files first (the box above), then press **Add and index**.", *doc_lists()
        notes = []
        for f in files or []:
            path = Path(f if isinstance(f, str) else f.name)
            name = path.name
            try:
                store_upload(base.docs_dir, name, path.read_bytes(), int(base.max_upload_mb * 2**20))
                notes.append(f"✓ {name}")
            except UploadError as e:
                notes.append(f"✗ {e}")
        report = engine_for(base).ingest(progress=lambda d, t, n: progress((d, max(t, 1)), desc=f"indexing {n}"))
        return "\n".join(notes + [report.summary()]), *doc_lists()

    def ask_remove(source):
        """The first step of a removal: say what will happen and offer to confirm."""
        if not source:
            return "Choose a document to remove.", gr.update(visible=False)
        return (f"Remove **{source}** from the documents? Its answers will no longer be found. You can undo this.",
                gr.update(visible=True))  # fmt: skip

    def remove(source):
        if not source:
            return "Choose a document to remove.", *doc_lists(), gr.update(visible=False), None, gr.update()
        try:
            remove_document(base.docs_dir, source)
        except UploadError as e:
            return str(e), *doc_lists(), gr.update(visible=False), None, gr.update()
        engine_for(base).ingest()
        return (f"Removed {source}. Undo brings it back.", *doc_lists(), gr.update(visible=False), source,
                gr.update(visible=True))  # fmt: skip

    def undo_remove(source):
        if not source:
            return "Nothing to undo.", *doc_lists(), None, gr.update(visible=False)
        try:
            restore_document(base.docs_dir, source)
        except UploadError as e:
            return str(e), *doc_lists(), None, gr.update(visible=False)
        engine_for(base).ingest()
        return f"Restored {source}.", *doc_lists(), None, gr.update(visible=False)

    with gr.Blocks(title="qa — answers from your documents") as demo:
        gr.Markdown(
            "## qa — ask your documents\nEvery answer is cited to the passage it came from, "
            "or you are told the documents don't say."
        )
        state = gr.State(new_state())
        with gr.Sidebar(label="Conversations", open=True, elem_id="qa-sidebar"):
            new = gr.Button("New chat", elem_id="qa-new-chat")
            conversations = gr.Radio([], label="Conversations", elem_id="qa-conversations")
            with gr.Accordion("Rename or delete", open=False):
                new_title = gr.Textbox(label="New name", max_lines=1)
                with gr.Row():
                    rename_btn = gr.Button("Rename", size="sm")
                    delete_btn = gr.Button("Delete", size="sm", variant="stop")
            conv_status = gr.Markdown(elem_id="qa-conv-status")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Chat", height=460, elem_id="qa-chat")
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder=PLACEHOLDER,
                            show_label=False,
                            scale=5,
                            elem_id="qa-input",
                            max_lines=4,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-send")
                        stop = gr.Button("Stop", variant="stop", scale=1, visible=False, elem_id="qa-stop")
                    line = gr.Markdown(elem_id="qa-line")
                    with gr.Column(elem_id="qa-examples"):
                        examples = gr.Examples(EXAMPLES, inputs=box, label="Examples")
                    # Custom values are let through to the engine, which names any document not in the index.
                    within = gr.Dropdown(engine_for(base).index.sources(), value=[], multiselect=True,
                                         allow_custom_value=True, label="Answer from (all documents if none is "
                                         "chosen)", elem_id="qa-within")  # fmt: skip
                    with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                        choices = sorted(backends())
                        backend = gr.Radio(
                            [(BACKEND_LABELS.get(c, c), c) for c in choices],
                            value=base.llm if base.llm in choices else "local",
                            label="Answer with",
                        )
                        url = gr.Textbox(
                            label=URL_LABEL,
                            value=base.llm_url or "",
                            placeholder="http://127.0.0.1:11434/v1",
                        )
                        model = gr.Textbox(
                            label=MODEL_LABEL,
                            value=base.llm_model or "",
                        )
                        top_k = gr.Slider(1, 8, value=base.top_k, step=1, label="Citations per answer (top-k)")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(sources_html(None, load_doc), elem_id="qa-sources", js_on_load=SCROLL_JS)
                    with gr.Accordion("Why these sources?", open=False):
                        trace = gr.Markdown(trace_markdown(None), elem_id="qa-trace")
        with gr.Tab("Documents"):
            table = gr.Dataframe(
                headers=["file", "title", "chunks", "indexed"], interactive=False, elem_id="qa-docs"
            )
            with gr.Row():
                upload = gr.File(
                    label="Add files (.txt .md .html .pdf .docx .pptx .xlsx .csv .epub)", file_count="multiple"
                )
                with gr.Column():
                    add = gr.Button("Add and index", variant="primary")
                    pick = gr.Dropdown(label="Remove a document", choices=[])
                    rm = gr.Button("Remove from index", elem_id="qa-remove")
                    confirm = gr.Button(
                        "Yes, remove it", variant="stop", visible=False, elem_id="qa-confirm-remove"
                    )
                    undo = gr.Button("Undo the removal", visible=False, elem_id="qa-undo-remove")
                    removed = gr.State(None)
            status = gr.Markdown(elem_id="qa-doc-status")

        pending = gr.State("")
        io = [pending, chat, state, backend, url, model, top_k, within]
        out = [chat, sources, trace, state, box, conversations, stop, line]
        # The first step runs outside the queue: the box clears and the question moves to `pending` at once,
        # even when other users fill the queue (a streamed update that clears the box takes effect only once
        # in Gradio 6, so the box's text is never set from inside `respond`). The box stays free while an answer
        # comes: a question asked then (typed or an example clicked) waits in line, shown under the box, and the
        # running answer's `respond` sends it next. Stop cancels the answer and gives the waiting questions back.
        first = [box, pending, stop, line]
        asks = [send.click(take, [box], first, queue=False, api_name=False, trigger_mode="multiple"),
                box.submit(take, [box], first, queue=False, api_name=False, trigger_mode="multiple"),
                examples.load_input_event.then(take, [box], first, queue=False, api_name=False,
                                               trigger_mode="multiple")]  # fmt: skip
        runs = [ask.then(respond, io, out, api_name=False) for ask in asks]
        # The API's /ask takes the question itself (a State is not an API parameter): same function, an event
        # no user can trigger.
        api_ask = gr.Button(visible=False)
        api_ask.click(respond, [box, *io[1:]], out, api_name="ask")
        stop.click(stopped, [chat, state], [chat, box, stop, line], cancels=runs, queue=False, api_name=False)
        add.click(add_files, [upload], [status, table, pick, within], api_name="upload").then(
            lambda: None, None, [upload], api_name=False
        )  # the files added leave the upload box
        rm.click(ask_remove, [pick], [status, confirm], api_name=False)
        confirm.click(remove, [pick], [status, table, pick, within, confirm, removed, undo], api_name=False)
        undo.click(undo_remove, [removed], [status, table, pick, within, removed, undo], api_name=False)
        # The API's /remove removes at once (a client confirms on its side); the same function as the UI's.
        api_remove = gr.Button(visible=False)
        api_remove.click(
            lambda source: remove(source)[:4], [pick], [status, table, pick, within], api_name="remove"
        )
        demo.load(doc_lists, None, [table, pick, within], api_name=False)
        demo.load(list_conversations, None, [conversations], api_name=False)
        # On load, not as the chat's initial value: that is in the page config every visitor gets, logged in or not.
        demo.load(welcome, None, [chat], api_name=False)

        def saved_conversations(request: gr.Request) -> list[dict]:
            """The logged-in user's saved conversations (id, title, last used, turns), most recent first."""
            return [asdict(c) for c in saved.list(who(request))]

        def conversation_turns(conversation_id: str, request: gr.Request) -> list[dict]:
            """One of the logged-in user's conversations, turn by turn, with each turn's citations."""
            return [asdict(t) for t in saved.turns(who(request), conversation_id)]

        def rename_saved(conversation_id: str, title: str, request: gr.Request) -> str:
            """Rename one of the logged-in user's conversations."""
            saved.rename(who(request), conversation_id, title)
            return title

        def delete_saved(conversation_id: str, request: gr.Request) -> str:
            """Delete one of the logged-in user's conversations."""
            saved.delete(who(request), conversation_id)
            return conversation_id

        gr.api(saved_conversations, api_name="list_conversations")
        gr.api(conversation_turns, api_name="conversation")
        gr.api(rename_saved, api_name="rename_conversation")
        gr.api(delete_saved, api_name="delete_conversation")
        conversations.input(open_conversation, [conversations], [chat, state, sources, trace, conv_status],
                            api_name=False)  # fmt: skip
        fresh = [chat, state, sources, trace, conversations, stop, line]
        new.click(new_chat, None, fresh, cancels=runs, api_name=False)
        # The chat's own trash button clears the conversation the engine reads and the sources too.
        chat.clear(new_chat, None, fresh, cancels=runs, api_name=False)
        rename_btn.click(rename_conversation, [conversations, new_title], [conversations, conv_status],
                         api_name=False)  # fmt: skip
        delete_btn.click(delete_conversation, [conversations, state], [conversations, chat, state, conv_status],
                         api_name=False)  # fmt: skip
    return demo


# FastAPI's own schema at /openapi.json lists every route and is served without Gradio's login check.
APP_KWARGS = {"openapi_url": None}


def exposure_warning(settings: Settings) -> str | None:
    """A loud warning when the app listens beyond this machine without a login."""
    if is_loopback(settings.host) or settings.auth:
        return None
    return (
        f"!!! WARNING: qa is listening on {settings.host}:{settings.port} WITHOUT A LOGIN. Anyone who can "
        "reach this address can read your documents. Set QA_AUTH=user:password or QA_HOST=127.0.0.1. !!!"
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
        from qa.cli import progress_bar

        bar, update = progress_bar()
        with bar:
            print(f"Indexing {settings.docs_dir} …", flush=True)
            print(engine_for(settings).ingest(progress=update).summary(), flush=True)
        print("Loading the models …", flush=True)
        engine_for(settings).warm_up()  # the first question is as fast as the rest, and answers never depend on it
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        auth = login(settings.auth.get_secret_value()) if settings.auth else None
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    warning = exposure_warning(settings)
    if warning:
        log.warning(warning)
    build_app(settings).queue(default_concurrency_limit=4).launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        css=CSS,
        js=MARKER_JS,
        show_error=False,
        app_kwargs=APP_KWARGS,
        run_history=False,  # Gradio's "Runs" page: raw JSON, and answers kept in the browser's storage
        footer_links=[],  # no links to Gradio's developer pages (API docs, settings, runs) for users
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
