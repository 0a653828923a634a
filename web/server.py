"""Serve the ShopMate demo shop page and its chat widget (standard library only).

    python web/server.py --host 127.0.0.1 --port 8080 --rasa-url http://127.0.0.1:5005

The browser talks to Rasa's socketio channel directly; this server only hands out
static files and the Rasa address. Later it is also where a logged-in shopper's token
is signed, server-side, so the secret never reaches the browser.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WEB_ROOT = Path(__file__).resolve().parent
STATIC_ROOT = WEB_ROOT / "static"
SOCKET_IO_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def security_headers(rasa_url: str) -> dict[str, str]:
    parts = urlsplit(rasa_url)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    connect = f"'self' {parts.scheme}://{parts.netloc} {ws_scheme}://{parts.netloc}"
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'"
        ),
    }


def resolve_static(relative: str) -> Path | None:
    """The file under static/ that `relative` names, or None if it escapes or is absent."""
    candidate = (STATIC_ROOT / relative).resolve()
    if not candidate.is_relative_to(STATIC_ROOT) or not candidate.is_file():
        return None
    return candidate


class ShopPageHandler(BaseHTTPRequestHandler):
    server_version = "ShopMateWeb"
    sys_version = ""

    def __init__(self, *args: object, rasa_url: str, **kwargs: object) -> None:
        self.rasa_url = rasa_url
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send_file(STATIC_ROOT / "index.html")
        elif path == "/config.json":
            body = json.dumps({"rasaUrl": self.rasa_url, "socketPath": "/socket.io/"})
            self._send(HTTPStatus.OK, body.encode(), CONTENT_TYPES[".json"])
        elif path == "/vendor/socket.io.min.js":
            self._send_file(SOCKET_IO_CLIENT)
        elif path.startswith("/static/") and (found := resolve_static(path[len("/static/") :])):
            self._send_file(found)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")

    def _send_file(self, path: Path) -> None:
        if not path.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")
            return
        content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, path.read_bytes(), content_type)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in security_headers(self.rasa_url).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Path only: query strings may carry tokens.
        sys.stderr.write(f"web: {self.command} {urlsplit(self.path).path} {args[1:2]}\n")


def build_server(host: str, port: int, rasa_url: str) -> ThreadingHTTPServer:
    handler = partial(ShopPageHandler, rasa_url=rasa_url.rstrip("/"))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="ShopMate demo page")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    args = parser.parse_args()
    server = build_server(args.host, args.port, args.rasa_url)
    print(f"ShopMate web page: http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
