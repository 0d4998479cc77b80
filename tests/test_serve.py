"""`qa serve` for real: the bundled models over a copy of the seeds, on a loopback port, asked by the official
`openai` client (plain, streamed, a follow-up sent as history) and by curl."""

import json
import shutil
import subprocess

import pytest

from qa.extract import document_text
from tests.conftest import SEEDS, free_port, start_cli, wait_until_up

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, docs folder, port) of `qa serve` with default settings but the port."""
    tmp = tmp_path_factory.mktemp("serve")
    docs = tmp / "docs"
    shutil.copytree(SEEDS, docs)
    port = free_port()
    proc = start_cli({"QA_DOCS_DIR": str(docs), "QA_DATA_DIR": str(tmp / "data")}, "serve", "--port", str(port),
                     quiet=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(f"{url}/models", proc, 600)
        yield url, docs, port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _client(url):
    from openai import OpenAI

    return OpenAI(base_url=url, api_key="unused", timeout=300, max_retries=0)


def test_the_openai_client_gets_a_cited_answer(served):
    url, docs, _ = served
    r = _client(url).chat.completions.create(
        model="qa", messages=[{"role": "user", "content": "Who is Hampshire's director of children's services?"}]
    )
    text = r.choices[0].message.content
    assert "Coughlan" in text and "[1]" in text and r.model_extra["refused"] is False
    for c in r.model_extra["citations"]:
        assert document_text(c["source"], docs)[c["start"] : c["end"]] == c["quote"] and c["page"] is None
    assert "Coughlan" in r.model_extra["citations"][0]["quote"]


def test_the_openai_client_streams_the_answer_in_several_chunks(served):
    url, docs, _ = served
    stream = _client(url).chat.completions.create(
        model="qa", stream=True, messages=[{"role": "user", "content": "Who is the MP for Hornsey and Wood Green?"}]
    )
    chunks = list(stream)
    assert len(chunks) >= 3
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "Featherstone" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["refused"] is False
    c = last.model_extra["citations"][0]
    assert document_text(c["source"], docs)[c["start"] : c["end"]] == c["quote"]


def test_a_follow_up_sent_as_history_is_answered_from_the_conversation(served):
    url, _, _ = served
    first = "Who is Hampshire's director of children's services?"
    client = _client(url)
    a = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": first}])
    r = client.chat.completions.create(model="qa", messages=[
        {"role": "user", "content": first}, {"role": "assistant", "content": a.choices[0].message.content},
        {"role": "user", "content": "Who was he seconded to work alongside?"}])  # fmt: skip
    assert "Shoesmith" in r.choices[0].message.content, r


def test_it_listens_on_loopback_only(served):
    _, _, port = served
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                listening.add(local.rsplit(":", 1)[0])
    assert listening == {"0100007F"}, listening  # 127.0.0.1, and nothing else


def _curl(*args: str) -> tuple[int, dict]:
    out = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    body, _, code = out.stdout.rpartition("\n")
    return int(code), json.loads(body) if body.strip() else {}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_gets_answers_and_openai_style_errors(served, tmp_path):
    url, _, _ = served
    code, got = _curl(f"{url}/models")
    assert code == 200 and got["data"][0]["id"] == "qa"
    post = ["-X", "POST", f"{url}/chat/completions", "-H", "Content-Type: application/json", "-d"]
    code, got = _curl(*post, json.dumps({"model": "qa", "messages": []}))
    assert code == 400 and got["error"]["type"] == "invalid_request_error"
    code, got = _curl(*post, "{broken")
    assert code == 400 and "not JSON" in got["error"]["message"]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"messages": [{"role": "user", "content": "x" * (2 << 20)}]}))
    code, got = _curl(*post[:-1], "--data-binary", f"@{big}")
    assert code == 413 and "larger than" in got["error"]["message"]
    code, got = _curl(*post, json.dumps({"messages": [{"role": "user", "content": "Who is the Ofsted chief inspector?"}]}))
    assert code == 200 and "Gilbert" in got["choices"][0]["message"]["content"]
