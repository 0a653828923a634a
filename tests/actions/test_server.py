"""The hardened action server app: token check and errors without echo."""

from __future__ import annotations

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from actions.server import build_app, can_rephrase
from shopmate.settings import Settings


class ExplodingAction(Action):
    def name(self) -> str:
        return "action_explode"

    async def run(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom with 13812345678")


def action_call(name: str) -> dict:
    return {
        "next_action": name,
        "sender_id": "s1",
        "version": "3.6.21",
        "tracker": {
            "sender_id": "s1",
            "slots": {},
            "latest_message": {"text": "my phone is 13812345678"},
            "events": [],
            "paused": False,
            "latest_event_time": 0,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {"slots": {}},
    }


@pytest.fixture
def executor() -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_action(ExplodingAction)
    return executor


async def test_token_is_required_when_configured(executor: ActionExecutor) -> None:
    app = build_app(Settings(action_server_token="s3cret"), executor)
    _, health = await app.asgi_client.get("/health")
    assert health.status == 200
    _, missing = await app.asgi_client.post("/webhook", json=action_call("action_explode"))
    assert missing.status == 401
    _, wrong = await app.asgi_client.post(
        "/webhook?token=guess", json=action_call("action_explode")
    )
    assert wrong.status == 401


async def test_errors_do_not_echo_the_request(executor: ActionExecutor) -> None:
    app = build_app(Settings(action_server_token="s3cret"), executor)
    _, reply = await app.asgi_client.post(
        "/webhook?token=s3cret", json=action_call("action_explode")
    )
    assert reply.status == 500
    assert "13812345678" not in reply.text
    assert reply.json == {"error": "internal error"}


async def test_no_token_configured_lets_rasa_call(executor: ActionExecutor) -> None:
    app = build_app(Settings(action_server_token=""), executor)
    _, reply = await app.asgi_client.get("/actions")
    assert reply.status == 200
    assert {"name": "action_explode"} in reply.json


async def test_rephrase_returns_a_grounded_rephrasing_and_needs_the_token(
    executor: ActionExecutor,
) -> None:
    from shopmate.llm import LLMGenerator
    from tests.shopmate.llm.fakes import FakeBackend

    generator = LLMGenerator(FakeBackend("Hey, I am ShopMate. How may I help?"))
    app = build_app(Settings(action_server_token="s3cret"), executor, generator=generator)
    body = {"text": "Hi! I'm ShopMate. How can I help?", "language": "en", "user_text": "hi"}
    _, refused = await app.asgi_client.post("/rephrase", json=body)
    assert refused.status == 401
    _, reply = await app.asgi_client.post("/rephrase?token=s3cret", json=body)
    assert reply.json == {"text": "Hey, I am ShopMate. How may I help?", "rephrases": True}


async def test_a_rephrasing_that_adds_a_fact_is_not_sent(executor: ActionExecutor) -> None:
    from shopmate.llm import LLMGenerator
    from tests.shopmate.llm.fakes import FakeBackend

    generator = LLMGenerator(FakeBackend("Hi! Today everything is 50% off, ShopMate here."))
    app = build_app(Settings(action_server_token=""), executor, generator=generator)
    body = {"text": "Hi! I'm ShopMate. How can I help?", "language": "en"}
    _, reply = await app.asgi_client.post("/rephrase", json=body)
    assert reply.json == {"text": body["text"], "rephrases": True}


async def test_the_server_says_whether_its_generator_can_rephrase(
    executor: ActionExecutor,
) -> None:
    """Derived from the generator the settings build: the template backend cannot (the
    NLG then skips the round trip for a while), a model backend can."""
    from shopmate.settings import GeneratorSettings

    body = {"text": "Hi! I'm ShopMate. How can I help?", "language": "en"}
    template = build_app(
        Settings(action_server_token="s3cret", generator=GeneratorSettings(backend="template")),
        executor,
    )
    _, refused = await template.asgi_client.get("/rephrase")
    assert refused.status == 401
    _, capability = await template.asgi_client.get("/rephrase?token=s3cret")
    assert capability.json == {"rephrases": False, "backend": "template"}
    _, reply = await template.asgi_client.post("/rephrase?token=s3cret", json=body)
    assert reply.json == {"text": body["text"], "rephrases": False}
    _, empty = await template.asgi_client.post("/rephrase?token=s3cret", json={"text": ""})
    assert empty.status == 400
    assert empty.json == {"text": "", "rephrases": False}


def test_only_a_model_backend_can_rephrase() -> None:
    from shopmate.llm import LLMGenerator, create_generator
    from shopmate.settings import GeneratorSettings
    from tests.shopmate.llm.fakes import FakeBackend

    assert not can_rephrase(create_generator(GeneratorSettings(backend="template")))
    # openai without a server or model falls back to templates: nothing to rephrase with.
    assert not can_rephrase(create_generator(GeneratorSettings(backend="openai")))
    assert can_rephrase(create_generator(GeneratorSettings(backend="transformers")))
    assert can_rephrase(
        create_generator(
            GeneratorSettings(
                backend="openai", openai_base_url="http://127.0.0.1:1/v1", openai_model="m"
            )
        )
    )
    assert can_rephrase(LLMGenerator(FakeBackend("text")))
