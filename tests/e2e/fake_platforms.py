"""A local stand-in for the messaging platforms' HTTP APIs (no internet in tests).

One threaded server answers every platform's send and token endpoints with the
platform's documented success shape and records each request, so a test can assert
what ShopMate sent: to whom, which text, which buttons. Connectors reach it through
their *_API_BASE variables (DingTalk through the message's sessionWebhook).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Captured:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            # Form-encoded bodies (Telegram clients may post forms): as a dict.
            return {key: values[-1] for key, values in parse_qs(self.body.decode()).items()}


def default_answer(path: str) -> Any:
    """Each platform's documented success body for the endpoints ShopMate calls."""
    if path.endswith("/cgi-bin/gettoken"):  # WeCom
        return {
            "errcode": 0,
            "errmsg": "ok",
            "access_token": "wecom-access-token",
            "expires_in": 7200,
        }
    if "/cgi-bin/" in path:  # WeCom message/send
        return {"errcode": 0, "errmsg": "ok", "msgid": f"wecom-{time.time_ns()}"}
    if path.endswith("/auth/v3/tenant_access_token/internal"):  # Feishu
        return {
            "code": 0,
            "msg": "ok",
            "tenant_access_token": "feishu-tenant-token",
            "expire": 7200,
        }
    if path.startswith("/open-apis/"):  # Feishu im/v1/messages
        return {"code": 0, "msg": "success", "data": {"message_id": f"om_{time.time_ns()}"}}
    if path.startswith("/bot"):  # Telegram: /bot<token>/<method>
        return {
            "ok": True,
            "result": {
                "message_id": time.time_ns() % 1_000_000,
                "date": int(time.time()),
                "chat": {"id": 1, "type": "private"},
            },
        }
    if path.startswith("/api/") or path.startswith("/slack/"):  # Slack Web API
        return {"ok": True, "channel": "D1", "ts": f"{time.time():.6f}"}
    if "/me/messages" in path or "/me/messenger_profile" in path:  # Messenger Send API
        return {"recipient_id": "1", "message_id": f"m_{time.time_ns()}"}
    # DingTalk's sessionWebhook and anything else.
    return {"errcode": 0, "errmsg": "ok"}


@dataclass
class FakePlatforms:
    """Requests received, in order; `answers` overrides the body for a path prefix."""

    url: str = ""
    requests: list[Captured] = field(default_factory=list)
    answers: dict[str, Callable[[Captured], Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, path_part: str) -> list[Captured]:
        with self.lock:
            return [request for request in self.requests if path_part in request.path]

    def wait_for(
        self,
        path_part: str,
        count: int = 1,
        timeout: float = 30.0,
        where: Callable[[Captured], bool] | None = None,
    ) -> list[Captured]:
        """The requests whose path contains `path_part` (and match `where`), once at
        least `count` have arrived; what arrived by the timeout otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.received(path_part) if where is None or where(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()


@contextmanager
def fake_platforms() -> Iterator[FakePlatforms]:
    fake = FakePlatforms()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            captured = Captured(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
            )
            with fake.lock:
                fake.requests.append(captured)
            answer = None
            for prefix, make in fake.answers.items():
                if parts.path.startswith(prefix):
                    answer = make(captured)
                    break
            if answer is None:
                answer = default_answer(parts.path)
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
