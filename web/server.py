"""Serve the ShopMate demo shop page and its chat widget (Starlette, served by uvicorn).

    python web/server.py --host 127.0.0.1 --port 8080 --rasa-url http://127.0.0.1:5005

The browser talks to Rasa's socketio channel directly; this server hands out the shop's
pages, static files, the Rasa address and the widget's conversation: `POST /session`
issues a new conversation id signed with SESSION_SECRET, which Rasa's Socket.IO channel
checks before a socket may join it (shopmate/sessions.py), and `POST /history` gives
that conversation's messages back after a reload (web/chat_history.py; needs
RASA_AUTH_TOKEN). The shop's pages (`/`, `/product/<code>`, `/img/<code>.svg`) show the
catalog the assistant knows (web/shop_pages.py, DATABASE_URL as the actions read it);
`/widget.js` is the one tag a page embeds the assistant with. With `--demo-login` it
also signs a customer token for one of the listed demo customers, bound to that
conversation; only on a loopback address and never with SHOPMATE_PROFILE=production.

`create_app(WebConfig(...))` is the ASGI application (importing this module starts,
reads and binds nothing); `WebConfig.extra_routes` are appended after the page's own
routes, for a second part mounted beside it. `build_server(...)` binds it to a socket
for uvicorn; `main()` is the command line.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from shopmate.sessions import SessionTokens

WEB_ROOT = Path(__file__).resolve().parent

STATIC_ROOT = WEB_ROOT / "static"
INDEX_HTML = STATIC_ROOT / "index.html"
WIDGET_JS = STATIC_ROOT / "widget.js"
SOCKET_IO_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SOCKET_PATH = "/socket.io/"
SESSION_HEADER = "X-ShopMate-Session"
PRODUCTION_PROFILES = ("prod", "production")
# A product code in a path (as the catalog stores them: "P00012"); nothing else is looked up.
CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Customer ids are database integers: a longer digit string names none of them (and
# int() refuses strings over 4300 digits).
MAX_ID_DIGITS = 18

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
JSON = CONTENT_TYPES[".json"]
TEXT_PLAIN = "text/plain; charset=utf-8"
NOT_FOUND = b"not found\n"
# Generated product pictures change only with the catalog.
IMAGE_CACHE = "public, max-age=3600"

logger = logging.getLogger("shopmate.web")


class DemoLoginService(Protocol):
    """What `--demo-login` serves (web/demo_login.py); blocking: it reads the database."""

    def customers(self) -> list[dict[str, object]]: ...

    def token_for(self, customer_id: int, conversation: str) -> str | None: ...


class ShopService(Protocol):
    """The shop's pages (web/shop_pages.py); blocking: they read the catalog."""

    def home(self, category: str | None = None) -> str: ...

    def product(self, code: str) -> str | None: ...

    def image(self, code: str) -> str | None: ...


class HistoryService(Protocol):
    """A widget conversation's messages (web/chat_history.py), read from Rasa; raises
    OSError (ConnectionError) when Rasa cannot be read."""

    async def messages(self, session_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class WebConfig:
    """What the page's application serves.

    rasa_url: where the browser reaches Rasa (an http(s) origin, advertised in
    /config.json and allowed by the CSP). sessions: signs the widget's conversations
    (None: `POST /session` answers 404). demo_login: serves /demo/* (None: 404); the
    server must listen on a loopback address only (build_server checks it).
    extra_routes: Starlette routes or mounts appended after the page's own. shop: the
    catalog's pages (None: `/` is the static page, no product pages or pictures).
    history: the conversation after a reload (None, or no sessions: `POST /history`
    answers 404 and the widget shows none).
    """

    rasa_url: str
    sessions: SessionTokens | None = None
    demo_login: DemoLoginService | None = None
    extra_routes: list[BaseRoute] = field(default_factory=list)
    shop: ShopService | None = None
    history: HistoryService | None = None


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


def response_headers(rasa_url: str) -> dict[str, str]:
    """The security headers plus `Cache-Control: no-cache`: what every answer carries."""
    return {**security_headers(rasa_url), "Cache-Control": "no-cache"}


def resolve_static(relative: str) -> Path | None:
    """The file under static/ that `relative` names, or None if it escapes or is absent."""
    if not relative or "\x00" in relative:
        return None
    candidate = (STATIC_ROOT / relative).resolve()
    if not candidate.is_relative_to(STATIC_ROOT) or not candidate.is_file():
        return None
    return candidate


def read_file(path: Path) -> bytes | None:
    """The file's bytes, or None where there is none (blocking: run in a thread)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def not_found() -> Response:
    return Response(NOT_FOUND, status_code=404, media_type=TEXT_PLAIN)


def json_response(value: Any, ensure_ascii: bool = True, status_code: int = 200) -> Response:
    return Response(
        json.dumps(value, ensure_ascii=ensure_ascii).encode(),
        status_code=status_code,
        media_type=JSON,
    )


def log_path(scope: Scope) -> str:
    """The request's path as sent, without its query string (it may carry tokens)."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1").partition("?")[0]
    return quote(str(scope.get("path", "-")), safe="/:@!$&'()*+,;=-._~%")


class PageHeaders:
    """Pure ASGI middleware: `headers` on every response (where a route set none of its
    own), and one log line a request with the method, the path only and the status."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # unless a response starts: an exception the 500 handler answers

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            client = scope.get("client")
            address = client[0] if client else "-"
            logger.info('%s "%s %s" %s', address, scope["method"], log_path(scope), status)


async def send_file(path: Path) -> Response:
    body = await run_in_threadpool(read_file, path)
    if body is None:
        return not_found()
    return Response(body, media_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"))


def page_routes(config: WebConfig) -> list[BaseRoute]:
    """The page, its static files, the Socket.IO client, /config.json, /session and
    /history; the shop's pages when `config.shop` is set."""
    rasa_url = normalize_rasa_url(config.rasa_url)
    config_body = json.dumps({"rasaUrl": rasa_url, "socketPath": SOCKET_PATH}).encode()
    shop = config.shop

    async def index(request: Request) -> Response:
        if shop is None:
            return await send_file(INDEX_HTML)
        category = (request.query_params.getlist("category") or [""])[0] or None
        page = await run_in_threadpool(shop.home, category)
        return HTMLResponse(page)

    async def client_config(request: Request) -> Response:
        return Response(config_body, media_type=JSON)

    async def socket_io_client(request: Request) -> Response:
        return await send_file(SOCKET_IO_CLIENT)

    async def widget(request: Request) -> Response:
        return await send_file(WIDGET_JS)

    async def static(request: Request) -> Response:
        found = await run_in_threadpool(resolve_static, request.path_params["path"])
        return await send_file(found) if found else not_found()

    routes: list[BaseRoute] = [
        Route("/", index, methods=["GET"]),
        Route("/index.html", index, methods=["GET"]),
        Route("/config.json", client_config, methods=["GET"]),
        Route("/vendor/socket.io.min.js", socket_io_client, methods=["GET"]),
        Route("/widget.js", widget, methods=["GET"]),
        Route("/static/{path:path}", static, methods=["GET"]),
    ]
    if shop is not None:
        routes += shop_routes(shop)
    sessions = config.sessions
    if sessions is not None:

        async def new_session(request: Request) -> Response:
            # A new widget conversation: POST, so no cache or prefetch ever hands one out.
            session_id, token = sessions.issue()
            return json_response({"session_id": session_id, "session_token": token})

        routes.append(Route("/session", new_session, methods=["POST"]))
        if config.history is not None:
            routes.append(history_route(sessions, config.history))
    return routes


def shop_routes(shop: ShopService) -> list[BaseRoute]:
    """/product/<code> and /img/<code>.svg: read in a worker thread; a code that is not
    one (web/shop_pages.py CODE) is not looked up."""

    def code_of(raw: str) -> str | None:
        return raw if raw.isascii() and CODE.fullmatch(raw) else None

    async def product(request: Request) -> Response:
        code = code_of(request.path_params["code"])
        page = await run_in_threadpool(shop.product, code) if code else None
        return HTMLResponse(page) if page is not None else not_found()

    async def image(request: Request) -> Response:
        name = str(request.path_params["name"])
        code = code_of(name.removesuffix(".svg")) if name.endswith(".svg") else None
        svg = await run_in_threadpool(shop.image, code) if code else None
        if svg is None:
            return not_found()
        return Response(
            svg.encode(), media_type=CONTENT_TYPES[".svg"], headers={"Cache-Control": IMAGE_CACHE}
        )

    return [
        Route("/product/{code}", product, methods=["GET"]),
        Route("/img/{name}", image, methods=["GET"]),
    ]


def history_route(sessions: SessionTokens, history: HistoryService) -> BaseRoute:
    """POST /history: the messages of the conversation the X-ShopMate-Session token
    names, and of no other; a missing or forged token gets the same 404 as a wrong path."""

    async def read_history(request: Request) -> Response:
        session_id = sessions.verify(request.headers.get(SESSION_HEADER))
        if session_id is None:
            return not_found()
        try:
            messages = await history.messages(session_id)
        except OSError as error:  # Rasa down or answering nonsense: no history shown
            logger.warning("history unavailable: %s", error)
            return json_response({"messages": []}, status_code=503)
        return json_response({"messages": messages}, ensure_ascii=False)

    return Route("/history", read_history, methods=["POST"])


def demo_routes(login: DemoLoginService, sessions: SessionTokens | None) -> list[BaseRoute]:
    """Demo login: /demo/customers.json and /demo/token?customer=ID (see demo_login.py).
    Both read the database: in a worker thread, never on the event loop."""

    def from_loopback(request: Request) -> bool:
        return request.client is not None and is_loopback(request.client.host)

    async def customers(request: Request) -> Response:
        if not from_loopback(request):
            return not_found()
        listed = await run_in_threadpool(login.customers)
        return json_response(listed, ensure_ascii=False)

    async def token(request: Request) -> Response:
        # Only a listed demo customer, only for the caller's own conversation; a
        # missing id, an unlisted one and a missing session get the same answer.
        raw = (request.query_params.getlist("customer") or [""])[0]
        session = sessions.verify(request.headers.get(SESSION_HEADER)) if sessions else None
        valid_id = raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS
        if not (valid_id and session and from_loopback(request)):
            return not_found()
        signed = await run_in_threadpool(login.token_for, int(raw), session)
        return not_found() if signed is None else json_response({"token": signed})

    return [
        Route("/demo/customers.json", customers, methods=["GET"]),
        Route("/demo/token", token, methods=["GET"]),
    ]


def create_app(config: WebConfig) -> Starlette:
    """The page's ASGI application; `config.extra_routes` come after its own routes.

    Every answer carries the security headers and `Cache-Control: no-cache`, errors
    included; an unknown path and a method a route does not take get the same 404.
    """
    headers = response_headers(normalize_rasa_url(config.rasa_url))
    routes = page_routes(config)
    if config.demo_login is not None:
        routes += demo_routes(config.demo_login, config.sessions)
    routes += config.extra_routes

    async def answer_not_found(request: Request, exc: Exception) -> Response:
        return not_found()

    async def server_error(request: Request, exc: Exception) -> Response:
        # Sent outside the middleware (by Starlette's outermost one): its own headers.
        return PlainTextResponse("internal server error\n", status_code=500, headers=headers)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(PageHeaders, headers=headers)],
        exception_handlers={404: answer_not_found, 405: answer_not_found, 500: server_error},
    )
    app.router.redirect_slashes = False  # "/config.json/" is not found, not redirected
    return app


def h11_protocol_with(headers: Mapping[str, str]) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, whose own answer to an unparsable request (a 400
    that never reaches the app) carries `headers` too."""
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]

    class PageH11Protocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            # uvicorn 0.54's send_400_response, plus the page's headers.
            response = h11.Response(
                status_code=400,
                reason=b"Bad Request",
                headers=[
                    (b"content-type", TEXT_PLAIN.encode()),
                    (b"connection", b"close"),
                    *extra,
                ],
            )
            for event in (response, h11.Data(data=msg.encode("ascii")), h11.EndOfMessage()):
                output = self.conn.send(event)
                if output:
                    self.transport.write(output)
            self.transport.close()

    return PageH11Protocol


class WebServer:
    """uvicorn serving an app on a socket that is bound and listening from the start, so
    port 0 names its free port at once (server_address). serve_forever() runs until
    shutdown() (from another thread) or SIGINT/SIGTERM (in the main thread)."""

    def __init__(self, app: ASGIApp, host: str, port: int, headers: Mapping[str, str]) -> None:
        self.config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http=h11_protocol_with(headers),
            lifespan="auto",
            log_config=None,  # main() configures logging; the tests leave it alone
            access_log=False,  # uvicorn's access log has the query string: PageHeaders logs
            proxy_headers=False,  # log the peer, not a header it may have made up
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(self.config)
        self.socket = self.config.bind_socket()
        self.socket.listen(self.config.backlog)
        self._running = threading.Event()
        self._stopped = threading.Event()

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        self._running.set()
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serve_forever() (running in another thread) and wait until it returns."""
        self.server.should_exit = True
        if self._running.is_set():
            self._stopped.wait()

    def server_close(self) -> None:
        self.socket.close()


def build_server(
    host: str,
    port: int,
    rasa_url: str,
    demo_login: DemoLoginService | None = None,
    session_secret: str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    shop: ShopService | None = None,
    history: HistoryService | None = None,
) -> WebServer:
    """A ready-to-serve server; port 0 picks a free port (see server.server_address).
    Without a session secret (argument or SESSION_SECRET) it issues no conversations."""
    if demo_login is not None and not is_loopback(host):
        raise ValueError("the demo login is only served on a loopback address")
    secret = session_secret or os.environ.get("SESSION_SECRET")
    sessions = SessionTokens(secret) if secret else None
    rasa_url = normalize_rasa_url(rasa_url)
    config = WebConfig(rasa_url, sessions, demo_login, list(extra_routes), shop, history)
    return WebServer(create_app(config), host, port, response_headers(rasa_url))


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
    # uvicorn shuts down gracefully on SIGTERM, then hands the signal on to this.
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
    from shopmate.log_redaction import install_redaction

    install_redaction()  # no phone, e-mail or token in any log line of the page server
    logging.basicConfig(level=logging.INFO, format="web: %(message)s", stream=sys.stderr)
    extra_routes: list[BaseRoute] = []
    from agent import AgentConsole, ConsoleConfig  # the agent console, when configured

    console = ConsoleConfig.from_env(os.environ, args.rasa_url)
    if console is not None:
        extra_routes.append(AgentConsole.from_config(console).mount())
        print(f"agent console: http://{args.host}:{args.port}/agent", flush=True)
    else:
        print("agent console: off (set AGENT_ACCOUNTS, see docs/handoff.md)", flush=True)
    from chat_history import ConversationHistory  # the project's code, as above
    from shop_pages import ShopPages

    # The conversation after a reload, read through Rasa's HTTP API: only with its token.
    rasa_token = os.environ.get("RASA_AUTH_TOKEN", "")
    history = None
    if rasa_token:
        api_url = normalize_rasa_url(os.environ.get("RASA_API_URL") or args.rasa_url)
        history = ConversationHistory(api_url, rasa_token)
    else:
        print("chat history after a reload: off (set RASA_AUTH_TOKEN)", flush=True)
    server = build_server(
        args.host,
        args.port,
        args.rasa_url,
        demo_login,
        extra_routes=extra_routes,
        shop=ShopPages.from_settings(),
        history=history,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    port = server.server_address[1]
    print(f"ShopMate web page: http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # SIGTERM, or SIGINT where it is not ignored: uvicorn has shut down
    finally:
        server.server_close()
    print("ShopMate web page: stopped", flush=True)


if __name__ == "__main__":
    main()
