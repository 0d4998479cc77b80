"""Exposure: loopback by default, a loud warning otherwise, and secrets never printed."""

import json
import sys

from pydantic import SecretStr

from qa.config import Settings
from tests.conftest import ROOT, run_cli


def test_binds_to_loopback_by_default(monkeypatch):
    monkeypatch.delenv("QA_HOST", raising=False)
    assert Settings().host == "127.0.0.1"


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
