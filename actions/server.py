"""Run the action server: rasa-sdk's app, hardened for a shop.

Compared with ``python -m rasa_sdk`` this binds to 127.0.0.1 by default, checks the
shared token Rasa sends (``?token=`` from endpoints.yml) when ACTION_SERVER_TOKEN is
set, and answers errors without echoing the request (rasa-sdk's own 500 handler
returns the whole tracker, personal data included).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from shopmate.llm import GenerationRequest, Generator, TaskKind, get_generator
from shopmate.settings import Settings, get_settings

logger = logging.getLogger("actions.server")

ACTIONS_PACKAGE = "actions"
MAX_REPHRASE_CHARS = 2000


def token_is_valid(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def build_app(
    settings: Settings | None = None,
    executor: ActionExecutor | None = None,
    generator_factory: Callable[[], Generator] = get_generator,
) -> Sanic[Any, Any]:
    settings = settings or get_settings()
    if executor is None:
        executor = ActionExecutor()
        executor.register_package(ACTIONS_PACKAGE)
    # Rasa calls the action server server-to-server: no browser origin needs CORS.
    app = create_app(executor, cors_origins=None)
    app.config.ACCESS_LOG = False  # access lines would carry the token query string

    @app.on_response
    async def hide_error_details(request: Request, response: HTTPResponse) -> HTTPResponse | None:
        # rasa-sdk's own 500 handler echoes the request body (the whole tracker,
        # personal data included): replace it with a bare message.
        if response.status >= 500:
            logger.error("action server error %s on %s", response.status, request.path)
            return json({"error": "internal error"}, status=response.status)
        return None

    @app.post("/rephrase")
    async def rephrase(request: Request) -> HTTPResponse:
        # Rasa's NLG (addons/nlg.py) sends a rendered response marked rephrasable; the
        # answer is a grounded rephrasing or the same text, never an error for the shopper.
        body = request.json if isinstance(request.json, dict) else {}
        text = str(body.get("text") or "")[:MAX_REPHRASE_CHARS]
        if not text:
            return json({"text": ""}, status=400)
        generation = await generator_factory().generate(
            GenerationRequest(
                task=TaskKind.REPHRASE,
                language="en" if body.get("language") == "en" else "zh",
                facts=[text],
                template=text,
                user_text=str(body.get("user_text") or ""),
            )
        )
        return json({"text": generation.text})

    @app.after_server_start
    async def warm_up(app: Sanic[Any, Any]) -> None:
        # Load the knowledge base's indexes (and embedding model) in the background
        # so the first policy question does not wait for them; serving starts now.
        from actions.faq import default_knowledge_base
        from actions.marketing import default_catalog
        from actions.recommendations import default_recommender
        from shopmate.search.products import default_product_search

        def load() -> None:
            for name, warm in (
                ("knowledge base", default_knowledge_base().warm_up),
                ("product catalog", default_catalog().warm_up),
                ("product search", lambda: default_product_search().parser.warm_up()),
                ("recommender", default_recommender),
            ):
                try:
                    warm()
                except Exception as error:  # noqa: BLE001 - a failed warm-up retries on first use
                    logger.warning("%s warm-up failed: %s", name, type(error).__name__)

        asyncio.get_running_loop().run_in_executor(None, load)
        # The generator's model too (a no-op for the template backend).
        app.add_task(generator_factory().warm_up())

    if settings.action_server_token:

        @app.on_request
        async def require_token(request: Request) -> HTTPResponse | None:
            if request.path == "/health":
                return None
            if not token_is_valid(settings.action_server_token, request.args.get("token")):
                return json({"error": "unauthorized"}, status=401)
            return None

    return app


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="ShopMate action server")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = build_app(settings)
    logger.info("action server on http://%s:%s", args.host, args.port)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
