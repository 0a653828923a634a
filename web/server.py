"""Serve the ShopMate demo shop page and its chat widget (standard library only).

    python web/server.py --host 127.0.0.1 --port 8080 --rasa-url http://127.0.0.1:5005

The browser talks to Rasa's socketio channel directly; this server hands out static
files, the Rasa address and the widget's conversation: `POST /session` issues a new
conversation id signed with SESSION_SECRET, which Rasa's Socket.IO channel checks
before a socket may join it (shopmate/sessions.py). With `--demo-login` it also signs a
customer token for one of the listed demo customers, bound to that conversation;
only on a loopback address and never with SHOPMATE_PROFILE=production.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import signal
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from shopmate.sessions import SessionTokens

WEB_ROOT = Path(__file__).resolve().parent

STATIC_ROOT = WEB_ROOT / "static"
INDEX_HTML = STATIC_ROOT / "index.html"
SOCKET_IO_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SOCKET_PATH = "/socket.io/"
SESSION_HEADER = "X-ShopMate-Session"
PRODUCTION_PROFILES = ("prod", "production")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
TEXT_PLAIN = "text/plain; charset=utf-8"
QUERY_STRING = re.compile(r"\?[^\s\"']*")


def normalize_rasa_url(value: str) -> str:
    """`value` without a trailing slash; argparse error unless it is an http(s) origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def connect_sources(rasa_url: str) -> str:
    """CSP connect-src: this origin plus Rasa over HTTP(S) and WebSocket."""
    parts = urlsplit(rasa_url)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"'self' {parts.scheme}://{parts.netloc} {ws_scheme}://{parts.netloc}"


def security_headers(rasa_url: str) -> dict[str, str]:
    """Headers sent with every response."""
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect_sources(rasa_url)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": policy,
    }


def resolve_static(relative: str) -> Path | None:
    """The file under static/ that `relative` names, or None if it escapes or is absent."""
    if not relative or "\x00" in relative:
        return None
    candidate = (STATIC_ROOT / relative).resolve()
    if not candidate.is_relative_to(STATIC_ROOT) or not candidate.is_file():
        return None
    return candidate


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ShopMateWebServer(ThreadingHTTPServer):
    """A threading HTTP server that knows the Rasa address it advertises."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        rasa_url: str,
        demo_login: Any | None = None,
        sessions: SessionTokens | None = None,
    ) -> None:
        if demo_login is not None and not is_loopback(address[0]):
            raise ValueError("the demo login is only served on a loopback address")
        self.rasa_url = rasa_url
        self.demo_login = demo_login
        self.sessions = sessions
        self.response_headers = security_headers(rasa_url)
        self.config_body = json.dumps({"rasaUrl": rasa_url, "socketPath": SOCKET_PATH}).encode()
        super().__init__(address, ShopPageHandler)


class ShopPageHandler(BaseHTTPRequestHandler):
    """GET/HEAD for the page, its static files, the Socket.IO client and /config.json."""

    server: ShopMateWebServer
    server_version = "ShopMateWeb"
    error_content_type = TEXT_PLAIN
    error_message_format = "%(code)d %(message)s\n"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_POST(self) -> None:
        # A new widget conversation: POST, so no cache or prefetch ever hands one out.
        if unquote(urlsplit(self.path).path) != "/session" or self.server.sessions is None:
            self._not_found(True)
            return
        session_id, token = self.server.sessions.issue()
        body = json.dumps({"session_id": session_id, "session_token": token}).encode()
        self._send(HTTPStatus.OK, body, CONTENT_TYPES[".json"], True)

    def session_id(self) -> str | None:
        """The conversation the request's session token proves (header), else None."""
        sessions = self.server.sessions
        return sessions.verify(self.headers.get(SESSION_HEADER)) if sessions else None

    def _respond(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            self._send_file(INDEX_HTML, send_body)
        elif path == "/config.json":
            self._send(HTTPStatus.OK, self.server.config_body, CONTENT_TYPES[".json"], send_body)
        elif path == "/vendor/socket.io.min.js":
            self._send_file(SOCKET_IO_CLIENT, send_body)
        elif path.startswith("/static/") and (found := resolve_static(path[len("/static/") :])):
            self._send_file(found, send_body)
        elif path.startswith("/demo/") and self.server.demo_login is not None:
            self._demo(path, send_body)
        else:
            self._not_found(send_body)

    def _demo(self, path: str, send_body: bool) -> None:
        """Demo login: /demo/customers.json and /demo/token?customer=ID (see demo_login.py)."""
        login = self.server.demo_login
        if path == "/demo/customers.json":
            body = json.dumps(login.customers(), ensure_ascii=False).encode()
        elif path == "/demo/token":
            # Only a listed demo customer, only for the caller's own conversation; a
            # missing id, an unlisted one and a missing session get the same answer.
            query = parse_qs(urlsplit(self.path).query)
            raw = (query.get("customer") or [""])[0]
            session = self.session_id()
            token = login.token_for(int(raw), session) if raw.isdigit() and session else None
            if token is None:
                self._not_found(send_body)
                return
            body = json.dumps({"token": token}).encode()
        else:
            self._not_found(send_body)
            return
        self._send(HTTPStatus.OK, body, CONTENT_TYPES[".json"], send_body)

    def _send_file(self, path: Path, send_body: bool) -> None:
        try:
            body = path.read_bytes()
        except OSError:
            self._not_found(send_body)
            return
        content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, body, content_type, send_body)

    def _not_found(self, send_body: bool) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", TEXT_PLAIN, send_body)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def end_headers(self) -> None:
        # Here so that the base class's own error responses (400, 501...) get them too.
        for name, value in self.server.response_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Path only: query strings may carry tokens.
        path = urlsplit(self.path).path if hasattr(self, "path") else "-"
        code_text = str(code.value) if isinstance(code, HTTPStatus) else str(code)
        self.log_message('"%s %s" %s', getattr(self, "command", None) or "-", path, code_text)

    def log_message(self, format: str, *args: object) -> None:
        message = QUERY_STRING.sub("?…", format % args)
        sys.stderr.write(f"web: {self.address_string()} {message}\n")


def build_server(
    host: str,
    port: int,
    rasa_url: str,
    demo_login: Any | None = None,
    session_secret: str | None = None,
) -> ThreadingHTTPServer:
    """A ready-to-serve server; port 0 picks a free port (see server.server_address).
    Without a session secret (argument or SESSION_SECRET) it issues no conversations."""
    secret = session_secret or os.environ.get("SESSION_SECRET")
    sessions = SessionTokens(secret) if secret else None
    return ShopMateWebServer((host, port), normalize_rasa_url(rasa_url), demo_login, sessions)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="ShopMate demo shop page and chat widget")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--rasa-url",
        type=normalize_rasa_url,
        default="http://127.0.0.1:5005",
        help="where the browser reaches Rasa's socketio channel",
    )
    parser.add_argument(
        "--demo-login",
        action="store_true",
        help="let the page pick a seeded customer and get a signed token (demo only)",
    )
    return parser.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    demo_login = None
    if args.demo_login and os.environ.get("SHOPMATE_PROFILE", "").lower() in PRODUCTION_PROFILES:
        sys.exit("--demo-login is refused in the production profile")
    if args.demo_login and not is_loopback(args.host):
        sys.exit("--demo-login is only served on a loopback address (--host 127.0.0.1)")
    if not os.environ.get("SESSION_SECRET"):
        sys.exit("SESSION_SECRET is not set: the chat widget needs it (make env)")
    if args.demo_login:
        from demo_login import DemoLogin  # the project's code: only with --demo-login

        demo_login = DemoLogin.from_settings()
    server = build_server(args.host, args.port, args.rasa_url, demo_login)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    port = server.server_address[1]
    print(f"ShopMate web page: http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("ShopMate web page: stopped", flush=True)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
