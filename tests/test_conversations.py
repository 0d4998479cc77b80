"""Saved conversations (SQLite, scoped per user, every finished turn committed) and the app's logins."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from qa.cite import Citation
from qa.conversations import ConversationError, Conversations, Turn
from qa.errors import ConfigError
from qa.users import add_user, hash_password, login, read_users, verify
from tests.conftest import ROOT

CITED = Citation("a.txt", "Ann Lee chairs it.", 10, 28, 0.9, "Minutes", None)


def test_turns_are_kept_in_order_with_their_sources(tmp_path):
    db = Conversations(tmp_path / "c.sqlite")
    cid = db.create("ann", "Who chairs the committee and since when, and who was before her?")
    db.add("ann", cid, Turn("Who chairs it?", "Ann Lee [1]", False, (CITED,)))
    db.add("ann", cid, Turn("What colour is it?", "The documents don't say.", True, (), (CITED,)))
    (conv,) = db.list("ann")
    assert conv.id == cid and conv.turns == 2 and conv.title.endswith("…") and len(conv.title) <= 60
    first, second = db.turns("ann", cid)
    assert first == Turn("Who chairs it?", "Ann Lee [1]", False, (CITED,))
    assert second.refused and second.related == (CITED,)
    db.rename("ann", cid, "Committee")
    assert db.list("ann")[0].title == "Committee"
    with pytest.raises(ConversationError):
        db.rename("ann", cid, "  ")
    db.delete("ann", cid)
    assert db.list("ann") == []


def test_one_users_conversations_are_invisible_to_another(tmp_path):
    db = Conversations(tmp_path / "c.sqlite")
    cid = db.create("ann", "mine")
    db.add("ann", cid, Turn("q", "a", False))
    assert db.list("bob") == []
    for call in (lambda: db.turns("bob", cid), lambda: db.add("bob", cid, Turn("q", "a", False)),
                 lambda: db.rename("bob", cid, "x"), lambda: db.delete("bob", cid)):  # fmt: skip
        with pytest.raises(ConversationError):
            call()
    assert len(db.turns("ann", cid)) == 1 and db.list("ann")[0].title == "mine"


def test_a_finished_turn_survives_a_kill_9(tmp_path):
    path = tmp_path / "c.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from qa.conversations import Conversations, Turn
        db = Conversations({str(path)!r})
        cid = db.create("ann", "before the crash")
        db.add("ann", cid, Turn("Who chairs it?", "Ann Lee [1]", False))
        print(cid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == -signal.SIGKILL
    cid = out.stdout.strip()
    (turn,) = Conversations(path).turns("ann", cid)
    assert turn.answer == "Ann Lee [1]"


def test_users_file_holds_hashes_and_logins_check_them(tmp_path):
    users = tmp_path / "users"
    add_user(users, "ann", "correct horse")
    add_user(users, "bob", "battery staple")
    add_user(users, "ann", "new password!")  # a new password replaces the old
    text = users.read_text()
    assert "correct horse" not in text and "new password" not in text and oct(users.stat().st_mode)[-3:] == "600"
    assert set(read_users(users)) == {"ann", "bob"}
    check = login(str(users))
    assert check("ann", "new password!") and check("bob", "battery staple")
    assert not check("ann", "correct horse") and not check("bob", "new password!") and not check("eve", "x")
    single = login("ann:pw123456")
    assert single("ann", "pw123456") and not single("ann", "pw12345") and not single("bob", "pw123456")
    assert verify(hash_password("x", iterations=1000), "x") and not verify("garbage", "x")
    with pytest.raises(ConfigError):
        add_user(users, "eve", "short")
    with pytest.raises(ConfigError):
        login("no-colon-and-no-file")


def test_qa_user_add_writes_the_file(tmp_path):
    users = tmp_path / "users"
    out = subprocess.run([sys.executable, "-m", "qa.cli", "user", "add", "cat", "--file", str(users)], cwd=ROOT,
                         input="a long password\n", capture_output=True, text=True, timeout=60,
                         env={**os.environ})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert login(str(users))("cat", "a long password")
