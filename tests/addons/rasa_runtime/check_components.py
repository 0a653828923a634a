"""The Rasa-side components of addons/, checked in the Rasa runtime by
tests/addons/test_components.py: the message guard, the tokenizer and the NLG."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import EndpointConfig

from addons.message_guard import MessageGuard
from addons.nlg import RephrasingNaturalLanguageGenerator
from addons.normalise import ORDER_PLACEHOLDER
from addons.tokenizer import MixedTextJiebaTokenizer


def check_message_guard() -> None:
    guard = MessageGuard({"max_chars": 10})
    language = {"entity": "language", "value": "zh", "extractor": "LanguageDetector"}
    guessed = {"entity": "order_id", "value": "A1000003", "extractor": "CRFEntityExtractor"}
    long = Message({TEXT: "退货" * 20, INTENT: {"name": "request_return", "confidence": 0.9}})
    long.set(ENTITIES, [language, guessed])
    short = Message({TEXT: "退货", INTENT: {"name": "request_return", "confidence": 0.9}})
    guard.process([long, short])
    assert long.get(INTENT)["name"] == "nlu_fallback"
    entities = long.get(ENTITIES)
    assert language in entities
    assert guessed not in entities, "a guess from an unreadable text must not fill a slot"
    assert {"entity": "input_problem", "value": "too_long"}.items() <= entities[-1].items()
    assert short.get(INTENT)["name"] == "request_return"


def check_tokenizer() -> None:
    tokenizer = MixedTextJiebaTokenizer(MixedTextJiebaTokenizer.get_default_config(), None, None)  # type: ignore[arg-type]
    tokens = tokenizer.tokenize(Message({TEXT: "iPhone 15 的手机壳 订单 A1000003"}), TEXT)
    assert all(token.text.strip() for token in tokens), [t.text for t in tokens]
    assert "iPhone" in [t.text for t in tokens]
    order = next(t for t in tokens if t.text == "A1000003")
    assert order.lemma == ORDER_PLACEHOLDER
    # Entity offsets still point into the text.
    assert all("iPhone 15 的手机壳 订单 A1000003"[t.start : t.end] == t.text for t in tokens)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DOMAIN = Domain.from_dict(
    {
        "slots": {"language": {"type": "text", "mappings": [{"type": "custom"}]}},
        "responses": {
            "utter_greet": [{"text": "您好！", "metadata": {"rephrase": True}}],
            "utter_order_status": [{"text": "订单 {order_id} 已发货"}],
        },
    }
)


async def check_nlg() -> None:
    calls: list[dict] = []

    async def rephrase(request: web.Request) -> web.Response:
        calls.append(await request.json())
        return web.json_response({"text": "您好呀，有什么可以帮您？"})

    app = web.Application()
    app.router.add_post("/rephrase", rephrase)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    tracker = DialogueStateTracker.from_events(
        "nlg-check", [SlotSet("language", "zh"), UserUttered("你好")], DOMAIN.slots
    )
    try:
        nlg = RephrasingNaturalLanguageGenerator(
            EndpointConfig(f"http://127.0.0.1:{port}/rephrase"), DOMAIN
        )
        marked = await nlg.generate("utter_greet", tracker, "rest")
        assert marked is not None
        assert marked["text"] == "您好呀，有什么可以帮您？"
        assert calls[-1]["text"] == "您好！"
        assert calls[-1]["user_text"] == "你好"
        plain = await nlg.generate("utter_order_status", tracker, "rest", order_id="A1000003")
        assert plain is not None
        assert plain["text"] == "订单 A1000003 已发货"
        assert len(calls) == 1, "a response not marked rephrase is never sent"
    finally:
        await runner.cleanup()
    # The action server down: the domain's text, no error.
    down = RephrasingNaturalLanguageGenerator(
        EndpointConfig(f"http://127.0.0.1:{free_port()}/rephrase"), DOMAIN
    )
    reply = await down.generate("utter_greet", tracker, "rest")
    assert reply is not None
    assert reply["text"] == "您好！"


check_message_guard()
check_tokenizer()
asyncio.run(check_nlg())
print("components: ok")
