"""Exposure: loopback by default, a loud warning otherwise, and secrets never printed."""

import json
import socket
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from qa.config import Settings
from tests.conftest import ROOT, run_cli


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, read from /proc (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            hex_addr, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_addr)
            # /proc prints the address as 32-bit words in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            out.add((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return out


@pytest.mark.slow
def test_the_running_app_listens_on_loopback_only(monkeypatch, tmp_path):
    from tests.conftest import start_app, stop_app

    monkeypatch.delenv("QA_HOST", raising=False)
    assert Settings().host == "127.0.0.1"
    proc, url = start_app(tmp_path, {"QA_LLM": "extractive"})
    try:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        sockets = listening(proc.pid)
    finally:
        log = stop_app(proc, tmp_path)
    assert (("127.0.0.1", port)) in sockets, sockets
    assert all(addr == "127.0.0.1" for addr, _ in sockets), sockets  # nothing on 0.0.0.0, ::, or a LAN address
    assert "WITHOUT A LOGIN" not in log


@pytest.mark.slow
def test_a_non_loopback_host_is_used_and_warned_about(tmp_path):
    from tests.conftest import start_app, stop_app

    proc, url = start_app(tmp_path, {"QA_LLM": "extractive", "QA_HOST": "0.0.0.0"})
    try:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        sockets = listening(proc.pid)
    finally:
        log = stop_app(proc, tmp_path)
    assert ("0.0.0.0", port) in sockets, sockets
    assert "WITHOUT A LOGIN" in log and f"0.0.0.0:{port}" in log and "QA_AUTH" in log


def test_warns_loudly_when_exposed_without_login():
    sys.path.insert(0, str(ROOT))
    from app import exposure_warning

    assert exposure_warning(Settings(host="127.0.0.1")) is None
    assert exposure_warning(Settings(host="localhost")) is None
    assert exposure_warning(Settings(host="0.0.0.0", auth=SecretStr("a:b"))) is None
    warning = exposure_warning(Settings(host="0.0.0.0", port=8080))
    assert "WITHOUT A LOGIN" in warning and "0.0.0.0:8080" in warning and "QA_AUTH" in warning


def test_api_key_is_never_printed(tmp_path):
    secret = "sk-live-DO-NOT-LEAK-4242"
    env = {
        "QA_DATA_DIR": str(tmp_path / "d"),
        "QA_LLM": "openai",
        "QA_LLM_URL": "http://127.0.0.1:9/v1",
        "QA_LLM_MODEL": "m",
        "QA_LLM_API_KEY": secret,
    }
    out = run_cli(env, "ask", "--json", "What did officials say Baby P had been used as?")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "punch bag" in data["text"] and any("failed" in w for w in data["warnings"])
    assert secret not in out.stdout and secret not in out.stderr
    assert secret not in repr(Settings(llm_api_key=SecretStr(secret)))


def test_settings_problems_are_said_in_the_words_of_the_settings_panel():
    from app import MODEL_LABEL, URL_LABEL, settings_problem
    from qa.config import Settings

    base = Settings(llm="extractive")
    said = settings_problem("openai", "", "", base)
    assert URL_LABEL in said and "QA_" not in said and "Model" in MODEL_LABEL
    assert "QA_" not in settings_problem("gguf", "", "", base)
    assert settings_problem("openai", "http://127.0.0.1:9/v1", "qwen", base) is None
    assert settings_problem("local", "", "", base) is None
