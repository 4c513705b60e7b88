"""Signed, expiring URLs for bulk bytes: GraphQL checks permission once and hands out a URL
whose signature names the path, the user and the expiry, so a client (an <img> tag, a
download manager) can fetch it without credentials. The endpoint re-checks visibility for
the named user, so revoking access also revokes outstanding URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

KEY_FILE = "secret.key"


def load_or_create_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, or a random one kept in ``data_dir`` (mode 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Signature:
    user_id: int
    expires: int


class Signer:
    def __init__(self, key: bytes, lifetime: int = 3600) -> None:
        self._key = key
        self.lifetime = lifetime

    def _mac(self, path: str, user_id: int, expires: int) -> str:
        message = f"{path}\n{user_id}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def sign(self, path: str, user_id: int, now: float | None = None) -> str:
        """``path`` with the query string that lets ``user_id`` fetch it until it expires."""
        expires = int((now or time.time()) + self.lifetime)
        query = urlencode({"u": user_id, "e": expires, "s": self._mac(path, user_id, expires)})
        return f"{path}?{query}"

    def verify(self, path: str, params: dict[str, str],
               now: float | None = None) -> Signature | None:
        """The signature's user and expiry when valid for ``path`` now; else None."""
        try:
            user_id, expires, mac = int(params["u"]), int(params["e"]), params["s"]
        except (KeyError, ValueError):
            return None
        if expires < (now or time.time()):
            return None
        if not hmac.compare_digest(mac, self._mac(path, user_id, expires)):
            return None
        return Signature(user_id, expires)
