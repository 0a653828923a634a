"""The Telegram, Slack and Messenger connectors (addons/platforms/), checked in the Rasa
runtime by tests/addons/test_platforms_global.py: signatures and secrets, button ids
and their limits, what each platform is sent for every ShopMate payload, Messenger's
limits, callback dedupe and the edge in front of a turn. No network: the platform
clients' request methods are replaced by recorders."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from addons.channels import offered_in_last_turn
from addons.edge import EdgeSettings
from addons.platforms import gate, messenger, slack, telegram
from addons.settings import platform_settings
from shopmate import payloads

ENV = {
    "TELEGRAM_TOKEN": "123456:AAE-test-token",
    "TELEGRAM_BOT_NAME": "shopmate_test_bot",
    "TELEGRAM_SECRET_TOKEN": "s3cret-Token_1",
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
    "FACEBOOK_VERIFY_TOKEN": "verify-me",
    "FACEBOOK_APP_SECRET": "app-secret",
    "FACEBOOK_PAGE_ACCESS_TOKEN": "page-token",
}
ADD = payloads.add_to_cart_button("P000123", "zh")
LONG_ZH = {
    "title": "我想要一件红色的真丝长款连衣裙",
    "payload": '/inform{"product_category": "连衣裙' + "长" * 40 + '"}',
}
PRODUCT = {
    "code": "P000123",
    "title": "红色真丝连衣裙 <@U999> *限时*",
    "price": "¥399.00",
    "price_cents": 39900,
    "rating": 4.6,
    "image_url": "https://shop.example/img/P000123.jpg",
    "in_stock": True,
}
ORDER = payloads.order_card(
    {
        "number": "SM20261201001",
        "status": "shipped",
        "status_label": "已发货",
        "total": "¥399.00",
        "timeline": [
            {"time": "12-01 10:00", "location": "杭州", "description": "已揽收"},
            {"time": "12-02 08:30", "location": "上海", "description": "派送中"},
        ],
    },
    "zh",
)
RATING = payloads.rating(
    [{"title": str(n), "payload": f'/rate_service{{"satisfaction": "{n}"}}'} for n in range(1, 6)],
    "zh",
)


def carousel(count: int, image: str | None = PRODUCT["image_url"]) -> dict[str, Any]:
    items = [
        dict(PRODUCT, code=f"P{n:06d}", title=f"商品{n}", image_url=image, buttons=[ADD])
        for n in range(1, count + 1)
    ]
    return {"v": 1, "type": "carousel", "language": "zh", "items": items}


# ---------------------------------------------------------------- signatures


def check_slack_signature() -> None:
    secret, body, now = ENV["SLACK_SIGNING_SECRET"], b'{"type":"event_callback"}', time.time()
    stamp = str(int(now))
    good = (
        "v0="
        + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    )
    assert slack.signature_ok(secret, stamp, body, good, 300, now)
    assert not slack.signature_ok(secret, stamp, body + b" ", good, 300, now), "body changed"
    assert not slack.signature_ok("other", stamp, body, good, 300, now), "other secret"
    assert not slack.signature_ok(secret, stamp, body, good, 300, now + 301), "stale"
    assert not slack.signature_ok(secret, stamp, body, good, 300, now - 301), "from the future"
    assert not slack.signature_ok(secret, "abc", body, good, 300, now)
    assert not slack.signature_ok(secret, None, body, good, 300, now)
    assert not slack.signature_ok(secret, stamp, body, None, 300, now)
    assert not slack.signature_ok("", stamp, body, good, 300, now), "no secret: nothing passes"
    # Slack's own documented example (api.slack.com/authentication/verifying-requests-from-slack).
    example = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect"
        b"&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
        b"%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack.signature_ok(secret, "1531420618", example, expected, 300, 1531420618 + 10)


def check_messenger_signature() -> None:
    secret, body = ENV["FACEBOOK_APP_SECRET"], b'{"object":"page","entry":[]}'
    sha256 = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    assert messenger.signature_ok(secret, body, sha256)
    assert messenger.signature_ok(secret, body, sha256.upper().replace("SHA256=", "sha256="))
    assert messenger.signature_ok(secret, body, None, sha1), "the older header alone"
    assert not messenger.signature_ok(secret, body, "sha256=" + "0" * 64, sha1), "256 decides"
    assert not messenger.signature_ok(secret, body + b"x", sha256)
    assert not messenger.signature_ok(secret, body, sha256.replace("sha256", "md5"))
    assert not messenger.signature_ok(secret, body, "md5=" + hashlib.md5(body).hexdigest())  # noqa: S324
    assert not messenger.signature_ok(secret, body, None, None)
    assert not messenger.signature_ok("", body, sha256)


def check_telegram_secret() -> None:
    channel = telegram.ShopMateTelegramInput(platform_settings("telegram", ENV))
    assert channel.enabled
    assert channel.secret_ok(ENV["TELEGRAM_SECRET_TOKEN"])
    assert not channel.secret_ok(ENV["TELEGRAM_SECRET_TOKEN"] + "x")
    assert not channel.secret_ok("")
    assert not channel.secret_ok(None)


def check_off_without_variables() -> None:
    """No variables: each registers a 404 blueprint, calls nothing, raises nothing."""
    for channel in (
        telegram.ShopMateTelegramInput(platform_settings("telegram", {})),
        slack.ShopMateSlackInput(platform_settings("slack", {})),
        messenger.ShopMateFacebookInput(platform_settings("messenger", {})),
    ):
        assert not channel.enabled
        assert channel.get_output_channel() is None
        blueprint = channel.blueprint(lambda _: asyncio.sleep(0))
        assert blueprint.name in ("telegram_webhook", "slack_webhook", "fb_webhook")
    assert telegram.ShopMateTelegramInput.name() == "telegram"
    assert slack.ShopMateSlackInput.name() == "slack"
    assert messenger.ShopMateFacebookInput.name() == "facebook"
    # A token aiogram refuses turns Telegram off instead of stopping Rasa.
    broken = telegram.ShopMateTelegramInput(
        platform_settings("telegram", {**ENV, "TELEGRAM_TOKEN": "not a token"})
    )
    assert not broken.enabled


# ---------------------------------------------------------------- button ids


def check_button_ids() -> None:
    for button in (ADD, LONG_ZH, *RATING["buttons"]):
        short = payloads.button_id(button["payload"])
        assert len(short.encode()) <= 64
        offered = {button["payload"], "/deny"}
        assert gate.chosen_payload(short, offered) == button["payload"]
        assert gate.chosen_payload(button["payload"], offered) == button["payload"]
    assert len(LONG_ZH["payload"].encode()) > 64, "the payload itself would not fit"
    assert gate.chosen_payload(payloads.button_id("/restart"), {"/deny"}) is None, "forged"
    assert gate.chosen_payload("sm:0000000000000000", {"/deny"}) is None
    assert gate.chosen_payload("/restart", {"/deny"}) is None
    keyboard = telegram.inline_keyboard([ADD, LONG_ZH, {"title": "no payload"}])
    assert keyboard is not None
    keys = [key for row in keyboard.inline_keyboard for key in row]
    assert [key.text for key in keys] == ["加入购物车", LONG_ZH["title"]]
    assert all(len(key.callback_data.encode()) <= 64 for key in keys)
    # Short titles share a row; long ones get their own.
    rating_rows = telegram.inline_keyboard(RATING["buttons"]).inline_keyboard
    assert [len(row) for row in rating_rows] == [5]
    wide = [{"title": f"很长的按钮标题第{n}个选项", "payload": f"/x{n}"} for n in range(3)]
    assert [len(row) for row in telegram.inline_keyboard(wide).inline_keyboard] == [1, 1, 1]


def check_telegram_words() -> None:
    assert telegram.bot_command("/start", "shopmate_test_bot", "zh") == "你好"
    assert telegram.bot_command("/start@shopmate_test_bot", "shopmate_test_bot", "en") == "hello"
    assert telegram.bot_command("/start campaign42", "shopmate_test_bot", "en") == "hello"
    assert telegram.bot_command("/help", "shopmate_test_bot", "zh") == "你能做什么"
    assert telegram.bot_command("/start@other_bot", "shopmate_test_bot", "zh") == "/start@other_bot"
    assert telegram.bot_command("/restart", "shopmate_test_bot", "zh") == "/restart"
    assert telegram.without_mention("@shopmate_test_bot 你好", "shopmate_test_bot") == "你好"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 2,
            "from": {"id": 42, "is_bot": False, "language_code": "en"},
            "chat": {"id": 42, "type": "private"},
            "date": 0,
            "text": "/start",
        },
    }
    inbound = telegram.read_update(update, "shopmate_test_bot")
    assert inbound == telegram.TelegramInbound("42", "hello", "en")
    sticker = {"update_id": 3, "message": {**update["message"], "text": None, "sticker": {}}}
    assert telegram.read_update(sticker, "x") == telegram.TelegramInbound("42", None, "en")
    assert telegram.read_update({"update_id": 4, "message": {"chat": "x"}}, "x") == (
        "message without a chat"
    )
    assert telegram.read_update({"update_id": 5, "poll": {}}, "x") is None
    query = {
        "update_id": 6,
        "callback_query": {
            "id": "cb1",
            "from": {"id": 42, "language_code": "zh-hans"},
            "message": {"message_id": 9, "chat": {"id": -100, "type": "group"}, "date": 0},
            "data": "sm:abc",
        },
    }
    assert telegram.read_update(query, "x") == telegram.TelegramInbound(
        "-100", "sm:abc", "zh", "cb1"
    )


# ---------------------------------------------------------------- rendering


class TelegramRecorder(telegram.ShopMateTelegramOutput):
    def __init__(self) -> None:
        super().__init__(ENV["TELEGRAM_TOKEN"], "http://127.0.0.1:9")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse_photos = False

    async def request(self, method: str, data: Any = None, files: Any = None, **_: Any) -> Any:
        self.calls.append((method, dict(data or {})))
        if method == "sendPhoto" and self.refuse_photos:
            from aiogram.utils.exceptions import BadRequest

            raise BadRequest("Wrong file identifier/http url specified")
        if method == "answerCallbackQuery":
            return True
        return {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}


def keyboard_of(call: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return json.loads(call["reply_markup"])["inline_keyboard"]


def check_telegram_rendering() -> None:
    async def run() -> None:
        out = TelegramRecorder()
        await out.send_text_with_buttons(
            "42", "我能帮您：", [ADD, {"title": "转人工", "payload": "/request_human"}]
        )
        (method, call), *_ = out.calls
        assert method == "sendMessage"
        assert call["chat_id"] == "42"
        assert call["text"] == "我能帮您："
        ids = [key["callback_data"] for row in keyboard_of(call) for key in row]
        assert ids == [payloads.button_id(ADD["payload"]), payloads.button_id("/request_human")]

        out = TelegramRecorder()
        await out.send_shopmate("42", carousel(2), "")
        assert [m for m, _ in out.calls] == ["sendPhoto", "sendPhoto"]
        first = out.calls[0][1]
        assert first["photo"] == PRODUCT["image_url"]
        assert first["caption"].startswith("1. 商品1")
        assert "¥399.00" in first["caption"]
        assert keyboard_of(first) == [
            [{"text": "加入购物车", "callback_data": payloads.button_id(ADD["payload"])}]
        ]
        # No safe image, or Telegram refuses the image: text with the same button.
        out = TelegramRecorder()
        await out.send_shopmate("42", carousel(1, image="javascript:alert(1)"), "")
        assert [m for m, _ in out.calls] == ["sendMessage"]
        out = TelegramRecorder()
        out.refuse_photos = True
        await out.send_shopmate("42", carousel(1), "")
        assert [m for m, _ in out.calls] == ["sendPhoto", "sendMessage"]
        assert keyboard_of(out.calls[1][1])[0][0]["text"] == "加入购物车"
        # At most 10 products a carousel.
        out = TelegramRecorder()
        await out.send_shopmate("42", carousel(12), "")
        assert len(out.calls) == telegram.MAX_CAROUSEL

        out = TelegramRecorder()
        await out.send_shopmate("42", ORDER, "您的订单已发货")
        ((method, call),) = out.calls
        assert method == "sendMessage"
        assert "SM20261201001" in call["text"]
        assert "12-02 08:30 上海 派送中" in call["text"]
        assert "物流" in call["text"]
        assert "reply_markup" not in call

        out = TelegramRecorder()
        await out.send_shopmate("42", RATING, "请为这次服务打个分吧")
        ((method, call),) = out.calls
        assert call["text"] == "请为这次服务打个分吧"
        assert [key["text"] for key in keyboard_of(call)[0]] == ["1", "2", "3", "4", "5"]

        # A product card arriving through send_response is collected into a carousel.
        out = TelegramRecorder()
        for position in (1, 2):
            card = payloads.product_card(dict(PRODUCT, title=f"商品{position}"), position, 2, "zh")
            await out.send_response(
                "42", {"text": f"{position}. 商品", "custom": payloads.custom(card)}
            )
        assert [m for m, _ in out.calls] == ["sendPhoto", "sendPhoto"]
        # A card list cut short is sent at the end of the turn.
        out = TelegramRecorder()
        card = payloads.product_card(PRODUCT, 1, 3, "zh")
        await out.send_response("42", {"text": "1.", "custom": payloads.custom(card)})
        assert out.calls == []
        await out.flush_shopmate("42")
        assert [m for m, _ in out.calls] == ["sendPhoto"]

    asyncio.run(run())


class SlackRecorder(slack.ShopMateSlackOutput):
    def __init__(self, channel: str | None = "D024BE91L") -> None:
        super().__init__(ENV["SLACK_BOT_TOKEN"], channel, None, "http://127.0.0.1:9")
        self.posts: list[dict[str, Any]] = []

        async def post(**kwargs: Any) -> dict[str, Any]:
            self.posts.append(kwargs)
            return {"ok": True}

        self.client.chat_postMessage = post  # type: ignore[method-assign]


def check_slack_rendering() -> None:
    assert slack.api_url("https://slack.com") == "https://slack.com/api/"
    assert slack.api_url("https://slack.com/api/") == "https://slack.com/api/"
    assert slack.api_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000/api/"
    assert slack.slack_escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"

    async def run() -> None:
        out = SlackRecorder()
        await out.send_text_message("U1", "你好 <!channel>\n\n第二段")
        assert [p["text"] for p in out.posts] == ["你好 &lt;!channel&gt;", "第二段"]
        assert all(p["channel"] == "D024BE91L" and "as_user" not in p for p in out.posts)

        out = SlackRecorder()
        await out.send_text_with_buttons(
            "U1", "What can I do?", [ADD, {"title": "Returns", "payload": "/request_return"}]
        )
        (post,) = out.posts
        section, actions = post["blocks"]
        assert section["text"] == {"type": "plain_text", "text": "What can I do?", "emoji": True}
        assert actions["type"] == "actions"
        assert [e["value"] for e in actions["elements"]] == [ADD["payload"], "/request_return"]
        assert len({e["action_id"] for e in actions["elements"]}) == 2

        out = SlackRecorder()
        await out.send_shopmate("U1", carousel(2), "")
        (post,) = out.posts
        kinds = [block["type"] for block in post["blocks"]]
        assert kinds == ["section", "actions", "divider", "section", "actions"]
        section = post["blocks"][0]
        assert section["accessory"]["image_url"] == PRODUCT["image_url"]
        assert section["text"]["text"].startswith("1. *商品1*")
        assert post["blocks"][1]["elements"][0]["value"] == ADD["payload"]
        assert "商品1" in post["text"], "the notification's fallback text"
        # Unsafe image: no accessory. A title's markup cannot ping or link.
        item = dict(PRODUCT, image_url="http://x/a b.jpg", buttons=[])
        blocks = slack.shopmate_blocks({"type": "carousel", "items": [item]}, "")
        assert "accessory" not in blocks[0]
        assert len(blocks) == 1
        assert "&lt;@U999&gt;" in blocks[0]["text"]["text"]
        assert "<@" not in blocks[0]["text"]["text"]
        # At most 10 products (Slack: 50 blocks a message).
        assert (
            len([b for b in slack.shopmate_blocks(carousel(30), "") if b["type"] == "section"])
            == 10
        )

        out = SlackRecorder()
        await out.send_shopmate("U1", ORDER, "")
        (post,) = out.posts
        text = "\n".join(block["text"]["text"] for block in post["blocks"])
        assert "*SM20261201001* 已发货" in text
        assert "• 12-01 10:00 杭州 已揽收" in text

        out = SlackRecorder()
        await out.send_shopmate("U1", RATING, "请打分")
        (post,) = out.posts
        assert post["blocks"][0]["text"]["text"] == "请打分"
        assert [e["text"]["text"] for e in post["blocks"][1]["elements"]] == [
            "1",
            "2",
            "3",
            "4",
            "5",
        ]

    asyncio.run(run())


class MessengerRecorder(messenger.GraphSender):
    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", ENV["FACEBOOK_PAGE_ACCESS_TOKEN"])
        self.bodies: list[dict[str, Any]] = []

    async def post(self, body: dict[str, Any]) -> bool:
        self.bodies.append(body)
        return True


def check_messenger_limits_and_rendering() -> None:
    assert messenger.GraphSender("https://graph.facebook.com/", "t").url == (
        f"https://graph.facebook.com/{messenger.GRAPH_VERSION}/me/messages"
    )
    many = [
        {"title": f"选项标题很长很长很长很长很长很长很长很长{n}", "payload": f'/choose{{"n": {n}}}'}
        for n in range(15)
    ]
    (message,) = messenger.messages_with_buttons("请选择", many[:13])
    assert len(message["quick_replies"]) == 13
    assert all(len(q["title"]) <= 20 for q in message["quick_replies"])
    assert message["quick_replies"][0]["title"].endswith("…")
    assert message["quick_replies"][0]["payload"] == many[0]["payload"]
    # More than 13: button templates of 3 (later quick replies would hide earlier ones).
    templates = messenger.messages_with_buttons("请选择", many)
    assert len(templates) == 5
    assert all(len(t["attachment"]["payload"]["buttons"]) <= 3 for t in templates)
    assert templates[0]["attachment"]["payload"]["text"] == "请选择"
    # A payload longer than Messenger's 1000 characters travels as its short id.
    huge = {"title": "x", "payload": "/inform" + "x" * 1200}
    (message,) = messenger.messages_with_buttons("t", [huge])
    assert message["quick_replies"][0]["payload"] == payloads.button_id(huge["payload"])
    assert messenger.messages_with_buttons("t" * 3000, [])[0]["text"].endswith("…")
    assert len(messenger.messages_with_buttons("t" * 3000, [])[0]["text"]) == 2000

    long_title = dict(PRODUCT, title="长" * 120, image_url="ftp://x/y.jpg", buttons=[ADD] * 5)
    element = messenger.generic_element(long_title, "zh")
    assert len(element["title"]) == 80
    assert "image_url" not in element
    assert len(element["subtitle"]) <= 80
    assert "¥399.00" in element["subtitle"]
    assert len(element["buttons"]) == 3
    assert element["buttons"][0]["type"] == "postback"
    generic = messenger.shopmate_messages(carousel(12), "")
    assert [len(m["attachment"]["payload"]["elements"]) for m in generic] == [10, 2]
    first = generic[0]["attachment"]["payload"]["elements"][0]
    assert first["image_url"] == PRODUCT["image_url"]
    assert first["buttons"] == [
        {"type": "postback", "title": "加入购物车", "payload": ADD["payload"]}
    ]
    (order,) = messenger.shopmate_messages(ORDER, "")
    assert "SM20261201001" in order["text"]
    assert "- 12-02 08:30 上海 派送中" in order["text"]
    (rating,) = messenger.shopmate_messages(RATING, "请打分")
    assert rating["text"] == "请打分"
    assert [q["title"] for q in rating["quick_replies"]] == list("12345")

    async def run() -> None:
        sender = MessengerRecorder()
        out = messenger.ShopMateMessengerOutput(sender)
        await out.send_text_with_buttons("1254459154682919", "你好", [ADD])
        (body,) = sender.bodies
        assert body["recipient"] == {"id": "1254459154682919"}
        assert body["messaging_type"] == "RESPONSE"
        assert body["message"]["quick_replies"][0]["title"] == "加入购物车"
        sender.bodies.clear()
        await out.send_image_url("1", "javascript:alert(1)")
        assert sender.bodies == []

    asyncio.run(run())

    event = {
        "sender": {"id": "1254459154682919"},
        "recipient": {"id": "682498171943165"},
        "timestamp": 1502905976963,
        "message": {"mid": "m_1", "text": "你好"},
    }
    assert messenger.read_event(event) == ("1254459154682919", "m_1", None, "你好", True)
    quick = {
        **event,
        "message": {"mid": "m_2", "text": "加入购物车", "quick_reply": {"payload": "/x"}},
    }
    assert messenger.read_event(quick) == ("1254459154682919", "m_2", "/x", "加入购物车", True)
    picture = {**event, "message": {"mid": "m_3", "attachments": [{"type": "image"}]}}
    assert messenger.read_event(picture) == ("1254459154682919", "m_3", None, None, False)
    assert messenger.read_event({**event, "message": {"mid": "m_4", "is_echo": True}}) is None
    assert messenger.read_event({**event, "sender": {"id": "../../x"}}) is None
    postback = {**event, "postback": {"mid": "m_5", "title": "加入购物车", "payload": "/y"}}
    del postback["message"]
    assert messenger.read_event(postback) == ("1254459154682919", "m_5", "/y", "加入购物车", True)


# ---------------------------------------------------------------- dedupe and the edge


class Store:
    def __init__(self) -> None:
        self.trackers: dict[str, DialogueStateTracker] = {}

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return self.trackers.get(sender_id)


class Sent:
    """An output channel that records what the edge itself said."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send_text_message(self, recipient_id: str, text: str, **_: Any) -> None:
        self.texts.append(text)


def check_gate() -> None:
    async def run() -> None:
        settings = platform_settings("telegram", ENV)
        telegram_gate = gate.PlatformGate(settings, EdgeSettings(rate_per_conversation="3/60"))
        assert await telegram_gate.first_time("100")
        assert not await telegram_gate.first_time("100"), "a retried callback"
        assert await telegram_gate.first_time("101")
        facebook = messenger.ShopMateFacebookInput(platform_settings("messenger", ENV))
        assert facebook.gate.channel == "facebook", "Rasa's channel name, for replies"
        other = gate.PlatformGate(platform_settings("slack", ENV), EdgeSettings())
        assert await other.first_time("100"), "ids are per platform"

        store = Store()
        responses = {
            "utter_message_too_long": [
                {"text": "太长了", "condition": [{"name": "language", "value": "zh"}]}
            ],
            "utter_rate_limited": [
                {"text": "太快了", "condition": [{"name": "language", "value": "zh"}]}
            ],
        }
        app = SimpleNamespace(
            ctx=SimpleNamespace(
                agent=SimpleNamespace(
                    tracker_store=store, domain=SimpleNamespace(responses=responses)
                )
            )
        )
        store.trackers["42"] = DialogueStateTracker.from_events(
            "42",
            [
                ActionExecuted("action_listen"),
                UserUttered("你能做什么"),
                BotUttered(
                    "我能帮您",
                    data={"buttons": [{"title": "查订单", "payload": "/check_order_status"}]},
                ),
                BotUttered(
                    "", data={"custom": payloads.custom(payloads.product_card(PRODUCT, 1, 1, "zh"))}
                ),
            ],
        )
        got: list[UserMessage] = []

        async def on_new_message(message: UserMessage) -> None:
            got.append(message)

        sent = Sent()
        await telegram_gate.handle(app, on_new_message, sent, "42", "/restart")
        await telegram_gate.handle(app, on_new_message, sent, "42", "/check_order_status")
        await telegram_gate.handle(app, on_new_message, sent, "42", ADD["payload"])
        assert [m.text for m in got] == ["／restart", "/check_order_status", ADD["payload"]]
        assert all(m.metadata is None and m.input_channel == "telegram" for m in got), "guests"
        assert await offered_in_last_turn(app, "42") == {"/check_order_status", ADD["payload"]}
        # Over-long text is answered by the edge and never reaches Rasa; so is a 4th
        # message inside the limit's minute.
        got.clear()
        await telegram_gate.handle(app, on_new_message, sent, "7", "好" * 1001)
        assert got == []
        assert sent.texts == ["太长了"]
        for _ in range(4):
            await telegram_gate.handle(app, on_new_message, sent, "8", "你好")
        assert len(got) == 3
        assert sent.texts[-1] == "太快了"

    asyncio.run(run())


def main() -> None:
    check_slack_signature()
    check_messenger_signature()
    check_telegram_secret()
    check_off_without_variables()
    check_button_ids()
    check_telegram_words()
    check_telegram_rendering()
    check_slack_rendering()
    check_messenger_limits_and_rendering()
    check_gate()
    print("platforms global: ok")


if __name__ == "__main__":
    main()
