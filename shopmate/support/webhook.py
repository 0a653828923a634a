"""Forwarding new tickets to an external helpdesk (optional): a JSON body signed with
HMAC-SHA256 over the timestamp and the body, so the receiver can check it came from
this store and is fresh."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ShopMate-Signature"
TIMESTAMP_HEADER = "X-ShopMate-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass(frozen=True)
class HelpdeskWebhook:
    url: str
    secret: str
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError("the helpdesk webhook must be an http(s) URL")

    def send(self, payload: dict[str, Any]) -> bool:
        """POST the ticket (blocking; callers run it in a thread). False, logged, when
        the helpdesk does not take it: the ticket is kept in the store either way."""
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        stamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: signature(self.secret, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return 200 <= int(response.status) < 300
        except OSError as error:
            logger.warning("helpdesk webhook failed: %s", type(error).__name__)
            return False
