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
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from actions.container import Container
from actions.support.services import Lazy
from shopmate.llm import GenerationRequest, Generator, TaskKind, TemplateGenerator
from shopmate.settings import Settings, get_settings

logger = logging.getLogger("actions.server")

MAX_REPHRASE_CHARS = 2000


def token_is_valid(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def generator_name(generator: Generator) -> str:
    return str(getattr(generator, "name", type(generator).__name__))


def can_rephrase(generator: Generator) -> bool:
    """Whether `generator` can rephrase at all: any model backend can; the template
    generator (LLM_BACKEND=template, or a misconfigured openai backend that fell back
    to it) returns the template it is given, so asking it is a wasted round trip."""
    return generator_name(generator) != TemplateGenerator.name


def action_executor(container: Container) -> ActionExecutor:
    """rasa-sdk's executor with every action the container builds, each instance
    holding its services (rasa-sdk accepts instances as well as classes)."""
    executor = ActionExecutor()
    for action in container.actions():
        executor.register_action(action)
    return executor


def build_app(
    settings: Settings | None = None,
    executor: ActionExecutor | None = None,
    container: Container | None = None,
    generator: Generator | None = None,
) -> Sanic[Any, Any]:
    """The action server: the composition root's actions (or a test's `executor`);
    /rephrase uses the container's generator (or a test's `generator`)."""
    settings = settings or get_settings()
    container = container or Container(settings)
    rephrasing = Lazy.of(generator) if generator is not None else container.generator
    if executor is None:
        executor = action_executor(container)
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

    @app.get("/rephrase")
    async def rephrase_capability(request: Request) -> HTTPResponse:
        # Whether a POST could return anything but the text it is given (no generation).
        generator = await rephrasing.ready()
        return json({"rephrases": can_rephrase(generator), "backend": generator_name(generator)})

    @app.post("/rephrase")
    async def rephrase(request: Request) -> HTTPResponse:
        # Rasa's NLG (addons/nlg.py) sends a rendered response marked rephrasable; the
        # answer is a grounded rephrasing or the same text, never an error for the shopper.
        # "rephrases": false tells the NLG to stop asking for a while (template backend).
        body = request.json if isinstance(request.json, dict) else {}
        text = str(body.get("text") or "")[:MAX_REPHRASE_CHARS]
        generator = await rephrasing.ready()
        if not text:
            return json({"text": "", "rephrases": can_rephrase(generator)}, status=400)
        generation = await generator.generate(
            GenerationRequest(
                task=TaskKind.REPHRASE,
                language="en" if body.get("language") == "en" else "zh",
                facts=[text],
                template=text,
                user_text=str(body.get("user_text") or ""),
            )
        )
        return json({"text": generation.text, "rephrases": can_rephrase(generator)})

    @app.after_server_start
    async def warm_up(app: Sanic[Any, Any]) -> None:
        # The heavy services (indexes, embedding model, recommender) are built in the
        # background so the first shopper does not wait for them; serving starts now.
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, container.warm_up)

        async def warm_generator() -> None:
            # The generator's model too (a no-op for the template backend).
            await (await rephrasing.ready()).warm_up()

        app.add_task(warm_generator())

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
    from shopmate.log_redaction import install_redaction

    install_redaction()  # every logger of the process, rasa-sdk's and Sanic's too
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    container = Container(settings)
    if settings.warm_before_serving:
        logger.info("warming up before taking connections")
        container.warm_up()
    app = build_app(settings, container=container)
    logger.info("action server on http://%s:%s", args.host, args.port)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
