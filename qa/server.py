"""`qa serve`: an OpenAI-compatible HTTP API over qa's pipeline (FastAPI, run by uvicorn).

`POST /v1/chat/completions` (plain, or streamed as server-sent events in OpenAI's chunk format, each verified
claim a chunk) and `GET /v1/models`. The messages become the question (the last user message) and its
history (earlier user turns with the assistant's replies). The reply's content is the answer with its [n]
markers; the response also carries `citations` and `refused` at its top level (in a stream, on the final
chunk). A thin layer: everything it answers comes from `qa.answer_stream`.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .answer import Answer, Event, History
from .claims import piece
from .config import Settings
from .errors import ConfigError, CorpusError, EmptyQuestionError, IndexDamagedError, IndexUnavailableError, QAError

log = logging.getLogger("qa.server")
MODEL_ID = "qa"
MAX_BODY = 1 << 20  # bytes: a conversation far longer than any question needs, far smaller than a memory risk
Ask = Callable[[str, History, tuple[str, ...] | None], Iterator[Event]]


class Part(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str = ""


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[Part] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """What OpenAI's chat API takes; fields qa has no use for (temperature, max_tokens, ...) are accepted."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    sources: list[str] | None = None  # qa's own: answer from these documents only


class RequestError(Exception):
    """A request qa cannot serve: the HTTP status and an OpenAI-style error."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code

    def body(self) -> dict:
        return {"error": {"message": str(self), "type": self.kind, "param": None, "code": self.code}}


def conversation(messages: list[Message]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, which must be the user's) and the history before it as (user,
    assistant) pairs; system messages are not questions and are left out."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text.strip():
        raise RequestError(400, "The last message must be the user's question, and not empty.")
    history, pending = [], None
    for m in turns[:-1]:
        if m.role == "user":
            pending = m.text
        elif pending is not None:
            history.append((pending, m.text))
            pending = None
    return turns[-1].text, history


def citations(a: Answer) -> list[dict]:
    """The answer's citations as the API gives them (page is None where a format has no pages)."""
    return [{"source": c.source, "start": c.start, "end": c.end, "quote": c.quote, "page": c.page}
            for c in a.citations]  # fmt: skip


def completion(a: Answer, rid: str) -> dict:
    """A chat.completion object for an answer."""
    return {
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": a.text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": citations(a), "refused": a.refused, "warnings": list(a.warnings),
    }  # fmt: skip


def chunk(rid: str, delta: dict, finish: str | None = None, **extra) -> str:
    """One server-sent event holding a chat.completion.chunk."""
    body = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # fmt: skip
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def sse(events: Iterator[Event], rid: str) -> Iterator[str]:
    """The events as OpenAI's stream: the role, each verified claim, then the refusal or nothing more, and a
    final chunk with the citations; `[DONE]` last. Status events are sent as SSE comments (clients skip them)."""
    yield chunk(rid, {"role": "assistant", "content": ""})
    shown = 0
    try:
        for e in events:
            if e.kind == "status":
                yield f": {e.text}\n\n"
            elif e.kind == "claim":
                yield chunk(rid, {"content": piece(shown, e.claim.text)})
                shown += 1
            elif e.kind == "answer":
                if not shown:
                    yield chunk(rid, {"content": e.answer.text})
                yield chunk(rid, {}, "stop", citations=citations(e.answer), refused=e.answer.refused,
                            warnings=list(e.answer.warnings))  # fmt: skip
    except QAError as err:  # headers are sent: the error goes in the stream, as OpenAI's does
        yield f"data: {json.dumps(RequestError(_status(err), str(err)).body())}\n\n"
    except Exception as err:  # noqa: BLE001 - a client gets a message, never a cut stream; the log has the rest
        log.exception("answer failed")
        yield f"data: {json.dumps(_internal(err).body())}\n\n"
    yield "data: [DONE]\n\n"


def _internal(err: Exception) -> RequestError:
    return RequestError(500, f"Something went wrong ({type(err).__name__}); the server is still running.",
                        "server_error")  # fmt: skip


def _status(err: QAError) -> int:
    if isinstance(err, EmptyQuestionError | ConfigError):
        return 400
    if isinstance(err, IndexDamagedError | IndexUnavailableError | CorpusError):
        return 503
    return 500


def is_loopback(host: str) -> bool:
    """Whether an address is this machine's only."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_exposure(settings: Settings, host: str) -> None:
    """Any address beyond loopback needs an API key: documents are never served to the network unguarded."""
    if not is_loopback(host) and not settings.api_key:
        raise ConfigError(f"qa serve listens on {host} only with an API key: set QA_API_KEY (clients send it as "
                          "'Authorization: Bearer <key>'), or listen on 127.0.0.1.")  # fmt: skip


def default_ask(settings: Settings) -> Ask:
    from .engines import answer_stream

    def ask(question: str, history: History, sources: tuple[str, ...] | None) -> Iterator[Event]:
        return answer_stream(question, history, settings, sources=sources)

    return ask


def create_app(settings: Settings, ask: Ask | None = None) -> FastAPI:
    """The FastAPI app; `ask` answers (default: qa.answer_stream with these settings)."""
    ask = ask or default_ask(settings)
    key = settings.api_key.get_secret_value().encode() if settings.api_key else None
    app = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestError)
    async def request_error(_request, err: RequestError):
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(Exception)
    async def internal_error(_request, err: Exception):
        log.exception("request failed")
        return JSONResponse(_internal(err).body(), status_code=500)

    @app.middleware("http")
    async def authorise(request: Request, call_next):
        if key is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key):  # constant time: the key is not guessed byte by byte
                err = RequestError(401, "Missing or wrong API key: send 'Authorization: Bearer <QA_API_KEY>'.",
                                   "invalid_request_error", "invalid_api_key")  # fmt: skip
                return JSONResponse(err.body(), status_code=401)
        return await call_next(request)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            req = ChatRequest.model_validate(await _json(request))
        except ValidationError as err:
            raise validation_error(err) from err
        question, history = conversation(req.messages)
        sources = tuple(req.sources) if req.sources is not None else None
        rid = f"chatcmpl-{uuid.uuid4().hex}"
        try:
            events = await run_in_threadpool(_started, ask(question, history, sources))
        except QAError as err:
            raise RequestError(_status(err), str(err)) from err
        if req.stream:
            return StreamingResponse(iterate_in_threadpool(sse(events, rid)), media_type="text/event-stream")
        try:
            final = await run_in_threadpool(_last, events)
        except QAError as err:
            raise RequestError(_status(err), str(err)) from err
        return completion(final, rid)

    return app


async def _json(request: Request) -> Any:
    """The body as JSON, refused past MAX_BODY bytes without reading further."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise RequestError(413, f"The request body is larger than {MAX_BODY} bytes.")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY:
            raise RequestError(413, f"The request body is larger than {MAX_BODY} bytes.")
    try:
        return json.loads(body)
    except ValueError as e:
        raise RequestError(400, f"The body is not JSON: {e}.") from e


def _started(events: Iterator[Event]) -> Iterator[Event]:
    """The events with the first one already taken, so bad input and a broken index fail before any byte is
    sent (an answer's first event comes after the index is checked)."""
    first = next(events)

    def rest():
        yield first
        yield from events

    return rest()


def _last(events: Iterator[Event]) -> Answer:
    for e in events:
        if e.kind == "answer":
            return e.answer
    raise QAError("The answer stream ended without an answer.")


def validation_error(err: ValidationError) -> RequestError:
    first = err.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    return RequestError(400, f"Malformed request: {where}: {first.get('msg')}.")


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the API until interrupted."""
    import uvicorn

    check_exposure(settings, host)
    from .engines import engine_for

    engine_for(settings).warm_up()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


