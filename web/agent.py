"""The agent console: people take over conversations the bot handed to them.

Mounted at /agent by web/server.py when AGENT_ACCOUNTS is set (no accounts, no
console). Agents sign in with a password checked against its argon2 hash; the session
is a signed cookie (Starlette's SessionMiddleware); every POST needs the CSRF token of
the double-submit cookie (starlette-csrf). Everything is rendered by web/static/agent.js
with textContent, so nothing a shopper wrote is ever read as HTML.

While a conversation is handed over, Rasa is paused: it still runs NLU and keeps the
shopper's messages, but calls no action. The console reads them from Rasa's HTTP API
(`GET /conversations/{id}/tracker`) and streams new lines to the agent as server-sent
events; the agent's reply is appended as a bot event with `execute_side_effects`, so
Rasa's Socket.IO channel delivers it to the shopper's open widget and the tracker keeps
it; "hand back" appends `resume` and runs `utter_ask_rating` (1-5 quick replies).

    python web/agent.py hash-password     # prints an argon2 hash for AGENT_ACCOUNTS
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette_csrf.middleware import CSRFMiddleware

from shopmate.analytics.build import ReportSources, build_report
from shopmate.analytics.report import CSS as REPORT_CSS
from shopmate.db.session import Database
from shopmate.orders import OrderNotAccessible, OrderService, OrderSummary, Requester
from shopmate.support.tickets import QueueView, TicketDesk, TicketError, TicketView
from shopmate.support.transcript import AGENT_METADATA_KEY, transcript_from_events

logger = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parent
CONSOLE_PAGE = WEB_ROOT / "static" / "agent.html"
CANNED_REPLIES = WEB_ROOT.parent / "data" / "support" / "canned_replies.yml"
SESSION_COOKIE = "shopmate_agent"
SESSION_HOURS = 8
MAX_REPLY_CHARS = 2000
RATING_RESPONSE = "utter_ask_rating"
# The channel the shopper last wrote on (the widget, Telegram, WeCom...): a person's
# reply and the rating question reach them where they are.
REPLY_CHANNEL = "latest"


def _derived(secret: str, purpose: str) -> str:
    """One key per purpose from the page's SESSION_SECRET (no second secret to manage)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def parse_accounts(value: str) -> dict[str, str]:
    """AGENT_ACCOUNTS: whitespace-separated `name:argon2-hash` pairs."""
    accounts: dict[str, str] = {}
    for item in (value or "").split():
        name, _, hashed = item.partition(":")
        if name and hashed.startswith("$argon2"):
            accounts[name] = hashed
    return accounts


@dataclass(frozen=True)
class ConsoleConfig:
    accounts: dict[str, str]
    session_secret: str
    rasa_url: str
    rasa_token: str
    database_url: str
    cookie_secure: bool = False
    poll_s: float = 1.0
    canned: list[dict[str, str]] = field(default_factory=list)
    # Rasa's tracker store for /agent/insight (a database URL or an SQLite path);
    # None: the insight page says it is not configured.
    tracker_url: str | None = None
    # Keys the report's conversation hashes (REPORT_SECRET; else the session secret).
    report_secret: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str], rasa_url: str) -> ConsoleConfig | None:
        """None without accounts: there is no console without a configured password."""
        accounts = parse_accounts(env.get("AGENT_ACCOUNTS", ""))
        secret = env.get("SESSION_SECRET", "")
        if not accounts or not secret:
            return None
        from shopmate.settings import get_settings  # the database URL, as the actions read it

        return cls(
            accounts=accounts,
            session_secret=secret,
            rasa_url=(env.get("RASA_API_URL") or rasa_url).rstrip("/"),
            rasa_token=env.get("RASA_AUTH_TOKEN", ""),
            database_url=get_settings().database_url,
            cookie_secure=env.get("AGENT_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
            canned=load_canned_replies(),
            tracker_url=tracker_store(env),
            report_secret=env.get("REPORT_SECRET", ""),
        )


def tracker_store(env: Mapping[str, str]) -> str:
    """Rasa's tracker store as addons/settings.py configures it: TRACKER_DB_URL, else
    the SQLite file TRACKER_SQLITE_PATH (default var/tracker.db, from the project root)."""
    if env.get("TRACKER_DB_URL"):
        return env["TRACKER_DB_URL"]
    return str(WEB_ROOT.parent / (env.get("TRACKER_SQLITE_PATH") or "var/tracker.db"))


def load_canned_replies(path: Path = CANNED_REPLIES) -> list[dict[str, str]]:
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError):
        return []
    return [
        {"id": str(i["id"]), "zh": str(i["zh"]), "en": str(i["en"])}
        for i in items
        if isinstance(i, dict) and {"id", "zh", "en"} <= i.keys()
    ]


class RasaConversations:
    """The conversations in Rasa, through its HTTP API (--enable-api, --auth-token)."""

    def __init__(self, base_url: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.client = client or httpx.AsyncClient(timeout=10.0)

    def _url(self, conversation_id: str, tail: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{tail}"

    def _params(self, **extra: str) -> dict[str, str]:
        return {"token": self.token, **extra} if self.token else dict(extra)

    async def events(self, conversation_id: str) -> list[dict[str, Any]]:
        reply = await self.client.get(
            self._url(conversation_id, "tracker"), params=self._params(include_events="ALL")
        )
        reply.raise_for_status()
        events = reply.json().get("events") or []
        return [e for e in events if isinstance(e, dict)]

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = transcript_from_events(await self.events(conversation_id))
        return lines

    async def reply(self, conversation_id: str, text: str, agent: str) -> None:
        """The agent's words reach the shopper's widget (Socket.IO) and the tracker."""
        event = {"event": "bot", "text": text, "metadata": {AGENT_METADATA_KEY: agent}}
        await self._append(conversation_id, [event])

    async def hand_back(self, conversation_id: str) -> None:
        """The bot takes over again and asks for the rating."""
        await self._append(conversation_id, [{"event": "resume"}])
        # Then listen, as after any bot turn: the rating's answer starts a new turn the
        # rules recognise.
        for action in (RATING_RESPONSE, "action_listen"):
            reply = await self.client.post(
                self._url(conversation_id, "execute"),
                params=self._params(output_channel=REPLY_CHANNEL),
                json={"name": action},
            )
            reply.raise_for_status()

    async def _append(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        reply = await self.client.post(
            self._url(conversation_id, "tracker/events"),
            params=self._params(output_channel=REPLY_CHANNEL, execute_side_effects="true"),
            json=events,
        )
        reply.raise_for_status()


def ticket_json(ticket: TicketView, *, full: bool = False) -> dict[str, Any]:
    data = asdict(ticket)
    data["created_at"] = ticket.created_at.isoformat()
    data["closed_at"] = ticket.closed_at.isoformat() if ticket.closed_at else None
    data["notes"] = [
        {"agent": n.agent, "text": n.text, "at": n.at.isoformat()} for n in ticket.notes
    ]
    if not full:
        data.pop("transcript")
        data["notes"] = []
    return data


def order_json(summary: OrderSummary) -> dict[str, Any]:
    return {
        "order_number": summary.order_number,
        "status": summary.status.value,
        "placed_at": summary.placed_at.isoformat(),
        "total_cents": summary.total_cents,
        "carrier": summary.carrier,
        "tracking_number": summary.tracking_number,
        "items": [
            {
                "title_zh": i.title_zh,
                "title_en": i.title_en,
                "quantity": i.quantity,
                "color": i.color,
                "size": i.size,
            }
            for i in summary.items
        ],
    }


class AgentConsole:
    """The console's routes over the ticket desk, the orders and Rasa."""

    def __init__(
        self,
        config: ConsoleConfig,
        desk: TicketDesk,
        orders: OrderService,
        rasa: RasaConversations,
    ) -> None:
        self.config = config
        self.desk = desk
        self.orders = orders
        self.rasa = rasa
        self.hasher = PasswordHasher()
        self.insight = InsightPage(self)

    @classmethod
    def from_config(cls, config: ConsoleConfig) -> AgentConsole:
        database = Database(config.database_url)
        return cls(
            config,
            TicketDesk(database),
            OrderService(database),
            RasaConversations(config.rasa_url, config.rasa_token),
        )

    # -- the application

    def app(self) -> Starlette:
        secret = self.config.session_secret
        middleware = [
            Middleware(
                SessionMiddleware,
                secret_key=_derived(secret, "agent-session"),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_HOURS * 3600,
                same_site="strict",
                https_only=self.config.cookie_secure,
            ),
            Middleware(
                CSRFMiddleware,
                secret=_derived(secret, "agent-csrf"),
                cookie_name="agent_csrftoken",
                cookie_path="/agent",
                cookie_samesite="strict",
                cookie_secure=self.config.cookie_secure,
                header_name="x-csrftoken",
            ),
        ]
        api = [
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/me", self.me, methods=["GET"]),
            Route("/canned", self.canned, methods=["GET"]),
            Route("/queue", self.queue, methods=["GET"]),
            Route("/tickets/{ticket_id:int}", self.ticket, methods=["GET"]),
            Route("/tickets/{ticket_id:int}/claim", self.claim, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/reply", self.reply, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/notes", self.note, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/handback", self.hand_back, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/stream", self.stream, methods=["GET"]),
        ]
        pages = [
            Route("/", self.page, methods=["GET"]),
            Route("/insight", self.insight.page, methods=["GET"]),
            Route("/insight/report.css", self.insight.stylesheet, methods=["GET"]),
        ]
        return Starlette(
            routes=[*pages, Mount("/api", routes=api)],
            middleware=middleware,
        )

    def mount(self) -> Mount:
        return Mount("/agent", app=self.app())

    # -- helpers

    @staticmethod
    def agent(request: Request) -> str | None:
        name = request.session.get("agent")
        return str(name) if name else None

    def _signed_in(self, request: Request) -> str:
        name = self.agent(request)
        if name is None or name not in self.config.accounts:
            raise PermissionError
        return name

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return body if isinstance(body, dict) else {}

    @staticmethod
    def _error(status: int, reason: str) -> JSONResponse:
        return JSONResponse({"error": reason}, status_code=status)

    async def _guarded(self, request: Request, work: Any) -> Response:
        """Signed-in agents only; a desk, Rasa or database failure is a clear 4xx/5xx
        without details (they may quote a shopper's words)."""
        try:
            agent = self._signed_in(request)
        except PermissionError:
            return self._error(401, "sign in")
        try:
            result: Response = await work(agent)
            return result
        except TicketError as error:
            return self._error(409, str(error))
        except httpx.HTTPError as error:
            logger.warning("rasa unavailable: %s", type(error).__name__)
            return self._error(502, "the assistant is unavailable")

    # -- routes

    async def page(self, request: Request) -> Response:
        return FileResponse(CONSOLE_PAGE, media_type="text/html; charset=utf-8")

    async def login(self, request: Request) -> Response:
        body = await self._body(request)
        name, password = str(body.get("name") or ""), str(body.get("password") or "")
        hashed = self.config.accounts.get(name)
        if hashed is None or not await run_in_threadpool(self._verify, hashed, password):
            await asyncio.sleep(0.5)  # slows guessing; the same answer for both cases
            return self._error(401, "wrong name or password")
        request.session.clear()
        request.session["agent"] = name
        return JSONResponse({"agent": name})

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False

    async def logout(self, request: Request) -> Response:
        request.session.clear()
        return JSONResponse({"agent": None})

    async def me(self, request: Request) -> Response:
        name = self.agent(request)
        return JSONResponse({"agent": name if name in self.config.accounts else None})

    async def canned(self, request: Request) -> Response:
        async def work(agent: str) -> Response:
            return JSONResponse(self.config.canned)

        return await self._guarded(request, work)

    async def queue(self, request: Request) -> Response:
        async def work(agent: str) -> Response:
            raw = request.query_params.get("view", QueueView.WAITING.value)
            view = QueueView(raw) if raw in QueueView.__members__.values() else QueueView.WAITING
            tickets = await run_in_threadpool(self.desk.queue, view, agent)
            return JSONResponse([ticket_json(t) for t in tickets])

        return await self._guarded(request, work)

    async def ticket(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])

        async def work(agent: str) -> Response:
            ticket = await run_in_threadpool(self.desk.get, ticket_id)
            data = ticket_json(ticket, full=True)
            if ticket.status != "closed":
                data["transcript"] = await self.rasa.transcript(ticket.conversation_id)
            data["orders"] = await run_in_threadpool(self._orders_of, ticket)
            return JSONResponse(data)

        return await self._guarded(request, work)

    def _orders_of(self, ticket: TicketView) -> list[dict[str, Any]]:
        """The orders this conversation proved, as the shopper could see them."""
        numbers = list(dict.fromkeys([*ticket.orders_proved, *filter(None, [ticket.order_number])]))
        found = []
        for number in numbers:
            requester = (
                Requester(customer_id=ticket.customer_id)
                if ticket.customer_id is not None
                else Requester(verified_order=number)
            )
            try:
                found.append(order_json(self.orders.order_summary(requester, number)))
            except OrderNotAccessible:
                continue
        if ticket.customer_id is not None:
            shown = {o["order_number"] for o in found}
            found += [
                order_json(o)
                for o in self.orders.recent_orders(ticket.customer_id)
                if o.order_number not in shown
            ]
        return found

    async def claim(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])

        async def work(agent: str) -> Response:
            ticket = await run_in_threadpool(self.desk.claim, ticket_id, agent)
            return JSONResponse(ticket_json(ticket))

        return await self._guarded(request, work)

    async def _mine(self, ticket_id: int, agent: str) -> TicketView:
        ticket = await run_in_threadpool(self.desk.get, ticket_id)
        if ticket.status == "closed":
            raise TicketError("closed")
        if ticket.agent != agent:
            raise TicketError("claim the ticket first")
        return ticket

    async def reply(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])

        async def work(agent: str) -> Response:
            text = " ".join(str((await self._body(request)).get("text") or "").split())
            if not text or len(text) > MAX_REPLY_CHARS:
                return self._error(400, f"a reply is 1 to {MAX_REPLY_CHARS} characters")
            ticket = await self._mine(ticket_id, agent)
            await self.rasa.reply(ticket.conversation_id, text, agent)
            return JSONResponse({"sent": True})

        return await self._guarded(request, work)

    async def note(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])

        async def work(agent: str) -> Response:
            text = str((await self._body(request)).get("text") or "")
            await run_in_threadpool(self.desk.add_note, ticket_id, agent, text)
            return JSONResponse({"saved": True})

        return await self._guarded(request, work)

    async def hand_back(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])

        async def work(agent: str) -> Response:
            ticket = await self._mine(ticket_id, agent)
            await self.rasa.hand_back(ticket.conversation_id)
            transcript = await self.rasa.transcript(ticket.conversation_id)
            closed = await run_in_threadpool(self.desk.close, ticket_id, agent, transcript)
            return JSONResponse(ticket_json(closed))

        return await self._guarded(request, work)

    async def stream(self, request: Request) -> Response:
        """New transcript lines as they come (server-sent events, event "line")."""
        ticket_id = int(request.path_params["ticket_id"])
        try:
            self._signed_in(request)
            ticket = await run_in_threadpool(self.desk.get, ticket_id)
        except PermissionError:
            return self._error(401, "sign in")
        except TicketError as error:
            return self._error(404, str(error))
        seen = max(0, int(request.query_params.get("after", "0") or 0))

        async def lines() -> AsyncIterator[dict[str, str]]:
            nonlocal seen
            while True:
                try:
                    transcript = await self.rasa.transcript(ticket.conversation_id)
                except httpx.HTTPError:
                    transcript = []
                for line in transcript[seen:]:
                    yield {"event": "line", "data": json.dumps(line, ensure_ascii=False)}
                seen = max(seen, len(transcript))
                await asyncio.sleep(self.config.poll_s)

        return EventSourceResponse(lines(), ping=15)


class InsightPage:
    """/agent/insight: the store insight report (shopmate/analytics) for signed-in
    agents, over the console's order database and the tracker store. `?days=N` (default
    30, 0: everything); a report is reused for INSIGHT_CACHE_S unless `?refresh=1`."""

    CACHE_S = 300.0
    DEFAULT_DAYS = 30

    def __init__(self, console: AgentConsole) -> None:
        self.console = console
        self._cache: dict[int, tuple[float, str]] = {}
        self._building = asyncio.Lock()

    def _days(self, request: Request) -> int:
        raw = request.query_params.get("days", str(self.DEFAULT_DAYS))
        return min(int(raw), 3660) if raw.isdigit() else self.DEFAULT_DAYS

    def _build(self, tracker_url: str, days: int) -> str:
        config = self.console.config
        since = datetime.now(UTC) - timedelta(days=days) if days else None
        sources = ReportSources(
            tracker=tracker_url,
            database_url=config.database_url,
            secret=config.report_secret or config.session_secret,
            since=since,
        )
        return build_report(sources, stylesheet_href="insight/report.css")

    async def page(self, request: Request) -> Response:
        try:
            self.console._signed_in(request)
        except PermissionError:
            return RedirectResponse(request.scope.get("root_path", "") + "/", status_code=303)
        tracker_url = self.console.config.tracker_url
        if tracker_url is None:
            return PlainTextResponse("no tracker store configured\n", status_code=503)
        days = self._days(request)
        async with self._building:
            cached = self._cache.get(days)
            fresh = cached is not None and time.monotonic() - cached[0] < self.CACHE_S
            if cached is None or not fresh or request.query_params.get("refresh"):
                try:
                    report = await run_in_threadpool(self._build, tracker_url, days)
                except FileNotFoundError:
                    return PlainTextResponse("the tracker store is missing\n", status_code=503)
                except SQLAlchemyError as error:  # a database down: a clear 502, no details
                    logger.warning("insight failed: %s", type(error).__name__)
                    return PlainTextResponse("the stores are unavailable\n", status_code=502)
                cached = self._cache[days] = (time.monotonic(), report)
        return HTMLResponse(cached[1], headers={"Cache-Control": "no-store"})

    async def stylesheet(self, request: Request) -> Response:
        return Response(REPORT_CSS, media_type="text/css")


def hash_password() -> None:
    password = getpass.getpass("agent password: ") if sys.stdin.isatty() else sys.stdin.readline()
    password = password.rstrip("\n")
    if len(password) < 10:
        sys.exit("use at least 10 characters")
    print(PasswordHasher().hash(password))


if __name__ == "__main__":
    if sys.argv[1:] == ["hash-password"]:
        hash_password()
    else:
        sys.exit(__doc__)
