"""`qa serve`'s API with fake models over the in-memory index: OpenAI's request and response shapes, the
stream, errors with the right status, the API key, and answering within chosen documents."""

import json

import pytest
from fastapi.testclient import TestClient

import qa.refuse
from qa.cite import document_text, is_exact
from qa.config import Settings
from qa.errors import ConfigError, IndexDamagedError
from qa.memory import MemoryIndex
from qa.pipeline import Engine, Options
from qa.server import MAX_BODY, Message, check_exposure, conversation, create_app
from tests.fakes import HashEmbedder

Q = "Who is the Ofsted chief inspector?"


@pytest.fixture
def engine(settings, monkeypatch):
    # A refusal model that answers whenever the support check passes: these tests are about the API.
    monkeypatch.setattr(
        qa.refuse, "load", lambda kind: qa.refuse.Model(("top_score",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
    )
    e = Engine(settings, embedder=HashEmbedder(), llm=None, index=MemoryIndex())
    e.ensure_index()
    return e


def client(engine, settings, **update):
    asked = []

    def ask(question, history, sources):
        asked.append((question, history, sources))
        return engine.answer_stream(question, history, Options(sources=sources))

    c = TestClient(create_app(Settings(**{**settings.model_dump(), **update}), ask))
    c.asked = asked
    return c


def body(*turns, **extra):
    roles = ["user", "assistant"] * len(turns)
    return {"model": "qa", "messages": [{"role": r, "content": t} for r, t in zip(roles, turns, strict=False)], **extra}


def test_a_plain_completion_carries_the_answer_its_exact_citations_and_refused(engine, settings):
    r = client(engine, settings).post("/v1/chat/completions", json=body(Q))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["object"] == "chat.completion" and got["choices"][0]["message"]["role"] == "assistant"
    assert got["refused"] is False and "[1]" in got["choices"][0]["message"]["content"]
    (c,) = got["citations"]
    assert set(c) == {"source", "start", "end", "quote", "page"}
    assert document_text(c["source"], settings.docs_dir)[c["start"] : c["end"]] == c["quote"]


def test_the_stream_is_openai_chunks_with_the_citations_on_the_last(engine, settings):
    with client(engine, settings).stream("POST", "/v1/chat/completions", json=body(Q, stream=True)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks) and len(chunks) >= 3
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "[1]" in text and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["refused"] is False and chunks[-1]["citations"][0]["quote"]


def test_the_messages_become_the_question_and_its_history(engine, settings):
    c = client(engine, settings)
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who was the lodger?"},
            {"role": "assistant", "content": "Jason Owen [1]"},
            {"role": "user", "content": [{"type": "text", "text": "How old was he?"}]}]  # fmt: skip
    assert c.post("/v1/chat/completions", json={"messages": msgs}).status_code == 200
    assert c.asked[-1][:2] == ("How old was he?", [("Who was the lodger?", "Jason Owen [1]")])
    q, history = conversation([Message(role="user", content="a"), Message(role="user", content="b")])
    assert (q, history) == ("b", [])


@pytest.mark.parametrize(
    "payload, says",
    [
        ({"messages": []}, "messages"),
        ({"model": "qa"}, "messages"),
        ({"messages": [{"role": "user", "content": "   "}]}, "user's question"),
        ({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}, "user's"),
        ({"messages": [{"role": "wizard", "content": "Hi"}]}, "role"),
        ({"messages": "Who?"}, "messages"),
        ({"messages": [{"role": "user", "content": Q}], "sources": ["nope.txt"]}, "Not in the index: nope.txt"),
        ({"messages": [{"role": "user", "content": Q}], "sources": []}, "No documents were chosen"),
    ],
)
def test_bad_requests_get_400_with_an_openai_error_body(engine, settings, payload, says):
    r = client(engine, settings).post("/v1/chat/completions", json=payload)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert says in err["message"] and err["type"] == "invalid_request_error"


def test_a_body_that_is_not_json_or_too_large_is_refused(engine, settings):
    c = client(engine, settings)
    r = c.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not JSON" in r.json()["error"]["message"]
    big = json.dumps(body("x" * (MAX_BODY + 10))).encode()
    r = c.post("/v1/chat/completions", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]["message"]
    assert not c.asked


def test_an_api_key_is_checked_on_every_route(engine, settings):
    c = client(engine, settings, api_key="s3cret-key")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key"}):
        r = c.post("/v1/chat/completions", json=body(Q), headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert c.get("/v1/models", headers=headers).status_code == 401
    ok = {"Authorization": "Bearer s3cret-key"}
    assert c.post("/v1/chat/completions", json=body(Q), headers=ok).status_code == 200
    assert c.get("/v1/models", headers=ok).json()["data"][0]["id"] == "qa"


def test_an_unusable_index_is_503(settings):
    def ask(question, history, sources):
        raise IndexDamagedError("The index in /x cannot be opened. Rebuild it with: qa ingest --rebuild")

    r = TestClient(create_app(settings, ask)).post("/v1/chat/completions", json=body(Q))
    assert r.status_code == 503 and "Rebuild it" in r.json()["error"]["message"]


def test_answers_come_from_the_chosen_documents_only(engine, settings):
    c = client(engine, settings)
    everything = c.post("/v1/chat/completions", json=body(Q)).json()
    chosen = "003_7d1de0c64763a0a0.txt"
    assert everything["citations"][0]["source"] != chosen
    within = c.post("/v1/chat/completions", json=body(Q, sources=[chosen])).json()
    assert all(x["source"] == chosen for x in within["citations"])
    a = engine.answer(Q, options=Options(sources=(chosen,)))
    assert {h.source for h in a.trace.fused} == {chosen}
    for x in a.citations + a.related:
        assert x.source == chosen and is_exact(x, document_text(x.source, settings.docs_dir))


def test_listening_beyond_loopback_needs_an_api_key():
    check_exposure(Settings(), "127.0.0.1")
    check_exposure(Settings(), "localhost")
    with pytest.raises(ConfigError, match="QA_API_KEY"):
        check_exposure(Settings(), "0.0.0.0")
    check_exposure(Settings(api_key="k"), "0.0.0.0")


def test_concurrent_requests_each_get_their_own_answer(engine, settings):
    from concurrent.futures import ThreadPoolExecutor

    c = client(engine, settings)
    questions = [Q, "Who is the MP for Hornsey and Wood Green?", "What did officials say Baby P had been used as?",
                 "Who is Hampshire's director of children's services?"] * 3  # fmt: skip
    alone = {q: c.post("/v1/chat/completions", json=body(q)).json()["choices"][0]["message"]["content"]
             for q in set(questions)}  # fmt: skip
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda q: c.post("/v1/chat/completions", json=body(q)).json(), questions))
    assert [g["choices"][0]["message"]["content"] for g in got] == [alone[q] for q in questions]


def test_qa_serve_refuses_to_listen_beyond_loopback_without_a_key():
    from tests.conftest import run_cli

    out = run_cli({"QA_API_KEY": ""}, "serve", "--host", "0.0.0.0", "--port", "1")
    assert out.returncode == 2 and "QA_API_KEY" in out.stderr and "Traceback" not in out.stderr


def test_a_bug_is_an_openai_style_500_not_a_traceback(settings):
    def ask(question, history, sources):
        raise RuntimeError("a bug")

    r = TestClient(create_app(settings, ask), raise_server_exceptions=False).post("/v1/chat/completions",
                                                                                json=body(Q))  # fmt: skip
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error" and "Traceback" not in r.text
