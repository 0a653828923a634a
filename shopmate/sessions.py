"""Widget conversation ids signed by the shop page's server (standard library only).

The page's server (web/server.py) issues `<id>.<expiry>.<mac>` with SESSION_SECRET;
Rasa's Socket.IO channel (addons/channels.py) lets a socket join a conversation only
with a token for it, so knowing a shopper's conversation id is not enough to read
their replies or to write in their name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SessionTokens:
    """Conversation ids signed by the shop page's server: `<id>.<expiry>.<mac>`."""

    secret: str
    lifetime_s: int = 12 * 3600

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ValueError("SESSION_SECRET must be at least 32 characters")

    def _mac(self, session_id: str, expires: int) -> str:
        digest = hmac.new(
            self.secret.encode(), f"{session_id}.{expires}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, now: float | None = None) -> tuple[str, str]:
        session_id = secrets.token_hex(16)
        expires = int((time.time() if now is None else now) + self.lifetime_s)
        return session_id, f"{session_id}.{expires}.{self._mac(session_id, expires)}"

    def verify(self, token: Any, now: float | None = None) -> str | None:
        """The session id the token names, or None (forged, tampered, expired)."""
        if not isinstance(token, str) or len(token) > 256:
            return None
        parts = token.split(".")
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{32}", parts[0]):
            return None
        session_id, expires_text, mac = parts
        if not expires_text.isdigit():
            return None
        expires = int(expires_text)
        if not hmac.compare_digest(mac, self._mac(session_id, expires)):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return session_id
