"""Logins for the app: QA_AUTH is either `user:password` (one user) or the path of a users file, one
`name:pbkdf2_sha256$iterations$salt$hash` line per user, written by `qa user add NAME`.

Passwords are hashed with the standard library's PBKDF2-HMAC-SHA256 and compared in constant time; the
file never holds a password.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError

ITERATIONS = 600_000  # OWASP's figure for PBKDF2-HMAC-SHA256
SCHEME = "pbkdf2_sha256"


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def verify(stored: str, password: str) -> bool:
    """Whether the password matches a stored hash (False for anything malformed)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def read_users(path: Path) -> dict[str, str]:
    """name -> stored hash, from a users file."""
    users = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, stored = line.partition(":")
        if not sep or not name or not stored.startswith(SCHEME + "$"):
            raise ConfigError(f"{path}, line {n}: expected 'name:{SCHEME}$...' (write it with: qa user add NAME).")
        users[name] = stored
    return users


def add_user(path: Path, name: str, password: str) -> None:
    """Add a user to the file, or set a user's new password."""
    if not name or ":" in name or name != name.strip():
        raise ConfigError("A user name cannot be empty, hold ':' or start or end with a space.")
    if len(password) < 8:
        raise ConfigError("A password needs at least 8 characters.")
    users = read_users(path) if path.is_file() else {}
    users[name] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(f"{u}:{h}\n" for u, h in users.items()), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def login(auth: str) -> Callable[[str, str], bool]:
    """The app's login check for a QA_AUTH value: a users file's path, or one `user:password`."""
    path = Path(auth).expanduser()
    if path.is_file():
        users = read_users(path)
        if not users:
            raise ConfigError(f"The users file {path} holds no users: add one with: qa user add NAME --file {path}")
        dummy = hash_password("-", salt=b"\0" * 16)

        def check(name: str, password: str) -> bool:
            # An unknown name costs the same hash as a known one, so names cannot be told apart by timing.
            ok = verify(users.get(name, dummy), password)
            return ok and name in users

        return check
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ConfigError("QA_AUTH must be 'user:password' or the path of a users file (qa user add NAME).")

    def single(name: str, given: str) -> bool:
        return hmac.compare_digest(name.encode(), user.encode()) & hmac.compare_digest(given.encode(), password.encode())

    return single
