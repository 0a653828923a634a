"""Telegram, Slack and Messenger end to end: callbacks in each platform's documented
format, posted to a running Rasa with the trained model; what the bot sent back is read
from the local fake of the platforms' APIs (tests/e2e/fake_platforms.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from shopmate import payloads
from tests.conftest import response_texts
from tests.e2e.conftest import ChannelsShopMate, ShopMate

pytestmark = pytest.mark.e2e

WAIT_S = 60.0
QUIET_S = 2.0  # how long "nothing more came" is watched after the expected replies


def fresh_id() -> int:
    return secrets.randbelow(10**9) + 10**8


def capability_buttons(domain: dict[str, Any], language: str) -> list[dict[str, str]]:
    (variation,) = [
        v
        for v in domain["responses"]["utter_capabilities"]
        if {"name": "language", "value": language, "type": "slot"} in v.get("condition", [])
    ]
    return list(variation["buttons"])


def fake_of(channels: ChannelsShopMate) -> Any:
    return channels.fake


# ================================================================ Telegram


def telegram_message(update_id: int, chat_id: int, text: str, language: str = "zh") -> dict:
    """An Update with a private text message (core.telegram.org/bots/api#update)."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": language}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": user,
            "chat": {"id": chat_id, "first_name": "Test", "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def telegram_click(update_id: int, chat_id: int, data: str) -> dict:
    """An Update with a callback_query: the shopper pressed an inline button."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "zh"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(fresh_id()),
            "from": user,
            "message": {
                "message_id": 1,
                "from": {"id": 123456, "is_bot": True, "first_name": "ShopMate"},
                "chat": {"id": chat_id, "type": "private"},
                "date": int(time.time()),
                "text": "…",
            },
            "chat_instance": "-1234567890",
            "data": data,
        },
    }


def post_telegram(
    channels: ChannelsShopMate,
    body: Any,
    secret: str | None = "right",  # noqa: S107 - "right": the fixture's secret
) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if secret == "right":
        secret = channels.secrets["TELEGRAM_SECRET_TOKEN"]
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{channels.shopmate.rasa_url}/webhooks/telegram/webhook",
        data=data,
        headers=headers,
        timeout=120,
    )


def telegram_sent(channels: ChannelsShopMate, chat_id: int) -> list[dict[str, Any]]:
    """sendMessage / sendPhoto calls to `chat_id`, in order (form fields as a dict)."""
    sent = []
    for request in fake_of(channels).received("/bot"):
        method = request.path.rsplit("/", 1)[-1]
        fields = request.json()
        if method in ("sendMessage", "sendPhoto") and str(fields.get("chat_id")) == str(chat_id):
            sent.append({"method": method, **fields})
    return sent


def keyboard(message: dict[str, Any]) -> list[dict[str, str]]:
    markup = json.loads(message.get("reply_markup") or "{}")
    return [key for row in markup.get("inline_keyboard", []) for key in row]


def telegram_says(
    channels: ChannelsShopMate, chat_id: int, text: str, language: str = "zh"
) -> list:
    before = len(telegram_sent(channels, chat_id))
    answer = post_telegram(channels, telegram_message(fresh_id(), chat_id, text, language))
    assert answer.status_code == 200, answer.text
    # The webhook answers once the turn is done: its messages have been sent.
    return telegram_sent(channels, chat_id)[before:]


def test_telegram_registers_its_webhook_with_the_secret(
    channels_shopmate: ChannelsShopMate,
) -> None:
    (registration, *_) = fake_of(channels_shopmate).wait_for("/setWebhook")
    fields = registration.json()
    assert fields["url"] == channels_shopmate.secrets["TELEGRAM_WEBHOOK_URL"]
    assert fields["secret_token"] == channels_shopmate.secrets["TELEGRAM_SECRET_TOKEN"]
    assert channels_shopmate.secrets["TELEGRAM_TOKEN"] in registration.path


def test_telegram_greets_in_the_shoppers_language(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    chat = fresh_id()
    assert [m["text"] for m in telegram_says(channels_shopmate, chat, "你好")] == response_texts(
        domain, "utter_greet", "zh"
    )
    other = fresh_id()
    replies = telegram_says(channels_shopmate, other, "hello", language="en")
    assert [m["text"] for m in replies] == response_texts(domain, "utter_greet", "en")
    # Telegram's own /start is a greeting in the app's language, never a Rasa command.
    started = telegram_says(channels_shopmate, fresh_id(), "/start", language="en")
    assert [m["text"] for m in started] == response_texts(domain, "utter_greet", "en")


def test_telegram_buttons_are_an_inline_keyboard_of_short_ids(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    chat = fresh_id()
    (message,) = telegram_says(channels_shopmate, chat, "你能做什么")
    assert message["text"] == response_texts(domain, "utter_capabilities", "zh")[0]
    buttons = capability_buttons(domain, "zh")
    keys = keyboard(message)
    assert [key["text"] for key in keys] == [b["title"] for b in buttons]
    assert [key["callback_data"] for key in keys] == [
        payloads.button_id(b["payload"]) for b in buttons
    ]
    assert all(len(key["callback_data"].encode()) <= 64 for key in keys)


def test_a_pressed_telegram_button_is_the_same_as_typing_it(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    button = next(
        b for b in capability_buttons(domain, "zh") if b["payload"] == "/check_order_status"
    )
    typed, clicked = fresh_id(), fresh_id()
    telegram_says(channels_shopmate, typed, "你能做什么")
    telegram_says(channels_shopmate, clicked, "你能做什么")
    by_typing = telegram_says(channels_shopmate, typed, button["payload"])
    before = len(telegram_sent(channels_shopmate, clicked))
    query = telegram_click(fresh_id(), clicked, payloads.button_id(button["payload"]))
    assert post_telegram(channels_shopmate, query).status_code == 200
    by_click = telegram_sent(channels_shopmate, clicked)[before:]
    assert by_typing, "the typed payload was answered"
    assert [m["text"] for m in by_click] == [m["text"] for m in by_typing]
    # The callback query is answered (the button's spinner stops), without a notice.
    (answered,) = [
        r.json()
        for r in fake_of(channels_shopmate).received("/answerCallbackQuery")
        if r.json().get("callback_query_id") == query["callback_query"]["id"]
    ]
    assert "text" not in answered


def test_a_stale_or_forged_telegram_button_does_nothing(
    channels_shopmate: ChannelsShopMate, shopmate_tracker: Any
) -> None:
    chat = fresh_id()
    telegram_says(channels_shopmate, chat, "你好")
    for data in (payloads.button_id("/restart"), "/restart", "sm:0123456789abcdef"):
        query = telegram_click(fresh_id(), chat, data)
        before = len(telegram_sent(channels_shopmate, chat))
        assert post_telegram(channels_shopmate, query).status_code == 200
        assert telegram_sent(channels_shopmate, chat)[before:] == []
        (answered,) = [
            r.json()
            for r in fake_of(channels_shopmate).received("/answerCallbackQuery")
            if r.json().get("callback_query_id") == query["callback_query"]["id"]
        ]
        assert "expired" in answered["text"], "a short notice instead"
    texts = [e.get("text") for e in shopmate_tracker(str(chat)) if e["event"] == "user"]
    assert texts == ["你好"], "nothing of the forged buttons reached Rasa"


def test_telegram_refuses_updates_without_the_secret(channels_shopmate: ChannelsShopMate) -> None:
    chat = fresh_id()
    for secret in (None, "", "wrong-" + secrets.token_hex(8)):
        answer = post_telegram(
            channels_shopmate, telegram_message(fresh_id(), chat, "你好"), secret
        )
        assert answer.status_code == 403
    time.sleep(QUIET_S)
    assert telegram_sent(channels_shopmate, chat) == []


def test_telegram_malformed_updates_are_a_400(channels_shopmate: ChannelsShopMate) -> None:
    for body in (b"not json", b"[1, 2]", b'{"message": {"text": "hi"}}', b"{" * 5000):
        answer = post_telegram(channels_shopmate, body)
        assert answer.status_code == 400, body[:20]
        assert "Traceback" not in answer.text
    broken = {"update_id": fresh_id(), "message": {"text": "你好", "chat": {"id": "x"}}}
    assert post_telegram(channels_shopmate, broken).status_code == 400


def test_a_replayed_telegram_update_is_answered_once(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    chat = fresh_id()
    update = telegram_message(fresh_id(), chat, "你好")
    for _ in range(3):
        assert post_telegram(channels_shopmate, update).status_code == 200
    time.sleep(QUIET_S)
    assert [m["text"] for m in telegram_sent(channels_shopmate, chat)] == response_texts(
        domain, "utter_greet", "zh"
    )


def test_telegram_over_long_text_is_answered_politely(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any], shopmate_tracker: Any
) -> None:
    chat = fresh_id()
    (reply,) = telegram_says(channels_shopmate, chat, "我想买" * 400)
    assert [reply["text"]] == response_texts(domain, "utter_message_too_long", "zh")
    assert [e for e in shopmate_tracker(str(chat)) if e["event"] == "user"] == []


# ================================================================ Slack


def slack_headers(
    channels: ChannelsShopMate, body: bytes, age_s: int = 0, secret: str = ""
) -> dict:
    stamp = str(int(time.time()) - age_s)
    key = (secret or channels.secrets["SLACK_SIGNING_SECRET"]).encode()
    signature = "v0=" + hmac.new(key, f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def slack_event(channel: str, user: str, text: str, event_id: str | None = None) -> dict:
    """An Events API event_callback for a direct message (api.slack.com/events/message.im)."""
    ts = f"{time.time():.6f}"
    return {
        "token": "one-long-verification-token",
        "team_id": "T061EG9R6",
        "api_app_id": "A0PNCHHK2",
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
        },
        "type": "event_callback",
        "authorizations": [{"team_id": "T061EG9R6", "user_id": "UBOT0001", "is_bot": True}],
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()),
    }


def post_slack(
    channels: ChannelsShopMate,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    return requests.post(
        f"{channels.shopmate.rasa_url}/webhooks/slack/webhook",
        data=body,
        headers={"Content-Type": content_type, **(headers or slack_headers(channels, body))},
        timeout=60,
    )


def slack_posts(channels: ChannelsShopMate, channel: str, count: int = 0) -> list[dict[str, Any]]:
    """chat.postMessage calls to `channel`; with `count`, waits for that many."""
    found = fake_of(channels).wait_for(
        "/chat.postMessage",
        count=count,
        timeout=WAIT_S if count else 0,
        where=lambda r: r.json().get("channel") == channel,
    )
    return [r.json() for r in found]


def slack_dm() -> tuple[str, str]:
    return f"D{secrets.token_hex(4).upper()}", f"U{secrets.token_hex(4).upper()}"


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_slack_answers_a_direct_message_in_its_channel(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    channel, user = slack_dm()
    body = json.dumps(slack_event(channel, user, "hello")).encode()
    assert post_slack(channels_shopmate, body).status_code == 200
    (post,) = slack_posts(channels_shopmate, channel, 1)
    assert post["text"] == escaped(response_texts(domain, "utter_greet", "en")[0])
    channel_zh, user_zh = slack_dm()
    body = json.dumps(slack_event(channel_zh, user_zh, "你好")).encode()
    assert post_slack(channels_shopmate, body).status_code == 200
    (post,) = slack_posts(channels_shopmate, channel_zh, 1)
    assert post["text"] == escaped(response_texts(domain, "utter_greet", "zh")[0])


def test_slack_buttons_are_an_actions_block_and_a_click_is_the_payload(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any], shopmate_tracker: Any
) -> None:
    channel, user = slack_dm()
    body = json.dumps(slack_event(channel, user, "what can you do")).encode()
    assert post_slack(channels_shopmate, body).status_code == 200
    (post,) = slack_posts(channels_shopmate, channel, 1)
    section, actions = post["blocks"]
    assert section["text"]["text"] == response_texts(domain, "utter_capabilities", "en")[0]
    assert actions["type"] == "actions"
    buttons = capability_buttons(domain, "en")
    assert [e["text"]["text"] for e in actions["elements"]] == [b["title"] for b in buttons]
    assert [e["value"] for e in actions["elements"]] == [b["payload"] for b in buttons]
    # The shopper clicks "Check an order" (an interaction payload, form-encoded).
    pressed = actions["elements"][1]
    click = {
        "type": "block_actions",
        "user": {"id": user, "username": "shopper", "team_id": "T061EG9R6"},
        "api_app_id": "A0PNCHHK2",
        "container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": channel},
        "trigger_id": f"{fresh_id()}.{fresh_id()}.{secrets.token_hex(16)}",
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "text": post["text"], "ts": "1548261231.000200"},
        "response_url": "https://hooks.slack.com/actions/T061EG9R6/1/x",
        "actions": [
            {
                "action_id": pressed["action_id"],
                "block_id": actions.get("block_id", "b"),
                "text": pressed["text"],
                "value": pressed["value"],
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    form = urlencode({"payload": json.dumps(click)}).encode()
    assert (
        post_slack(channels_shopmate, form, "application/x-www-form-urlencoded").status_code == 200
    )
    assert len(slack_posts(channels_shopmate, channel, 2)) >= 2
    users = [e for e in shopmate_tracker(user) if e["event"] == "user"]
    assert users[-1]["text"] == "/check_order_status"
    assert users[-1]["parse_data"]["intent"]["name"] == "check_order_status"


@pytest.mark.parametrize("problem", ["bad signature", "other secret", "stale", "no headers"])
def test_slack_refuses_unsigned_or_stale_requests(
    channels_shopmate: ChannelsShopMate, problem: str
) -> None:
    channel, user = slack_dm()
    body = json.dumps(slack_event(channel, user, "hello")).encode()
    headers = {
        "bad signature": {
            **slack_headers(channels_shopmate, body),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
        "other secret": slack_headers(channels_shopmate, body, secret="not-the-secret"),
        "stale": slack_headers(channels_shopmate, body, age_s=6 * 60),
        "no headers": {"X-Slack-Request-Timestamp": ""},
    }[problem]
    answer = post_slack(channels_shopmate, body, headers=headers)
    assert answer.status_code == 401
    time.sleep(QUIET_S)
    assert slack_posts(channels_shopmate, channel) == []


def test_a_retried_slack_event_is_answered_once(channels_shopmate: ChannelsShopMate) -> None:
    channel, user = slack_dm()
    event = slack_event(channel, user, "hello")
    body = json.dumps(event).encode()
    assert post_slack(channels_shopmate, body).status_code == 200
    retry = {
        **slack_headers(channels_shopmate, body),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    answer = post_slack(channels_shopmate, body, headers=retry)
    assert answer.status_code == 200
    assert len(slack_posts(channels_shopmate, channel, 1)) == 1
    time.sleep(QUIET_S)
    assert len(slack_posts(channels_shopmate, channel)) == 1
    # A retry of an event whose first delivery never arrived is still answered, once.
    lost_channel, lost_user = slack_dm()
    lost = json.dumps(slack_event(lost_channel, lost_user, "hello")).encode()
    retry = {
        **slack_headers(channels_shopmate, lost),
        "X-Slack-Retry-Num": "2",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    assert post_slack(channels_shopmate, lost, headers=retry).status_code == 200
    assert len(slack_posts(channels_shopmate, lost_channel, 1)) == 1


def test_slack_url_verification_and_malformed_bodies(channels_shopmate: ChannelsShopMate) -> None:
    challenge = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    body = json.dumps(challenge).encode()
    answer = post_slack(channels_shopmate, body)
    assert answer.status_code == 200
    assert answer.json() == {"challenge": challenge["challenge"]}
    for bad in (b"not json", b"[]", b'{"type": "event_callback"}'):
        answer = post_slack(channels_shopmate, bad)
        assert answer.status_code == 400
        assert "Traceback" not in answer.text
    for bad in (b"payload=not-json", b"%%%", b"payload=" + b"%7B" * 10):
        answer = post_slack(channels_shopmate, bad, "application/x-www-form-urlencoded")
        assert answer.status_code == 400
        assert "Traceback" not in answer.text


# ================================================================ Messenger


def messenger_callback(psid: str, message: dict[str, Any]) -> dict:
    """A page webhook with one messaging event
    (developers.facebook.com/docs/messenger-platform/webhooks)."""
    now = int(time.time() * 1000)
    return {
        "object": "page",
        "entry": [
            {
                "id": "682498171943165",
                "time": now,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": "682498171943165"},
                        "timestamp": now,
                        "message": {"mid": f"m_{secrets.token_urlsafe(16)}", **message},
                    }
                ],
            }
        ],
    }


def meta_signature(channels: ChannelsShopMate, body: bytes) -> str:
    key = channels.secrets["FACEBOOK_APP_SECRET"].encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def post_messenger(
    channels: ChannelsShopMate, body: Any, signature: str | None = "right"
) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "right":
        signature = meta_signature(channels, data)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return requests.post(
        f"{channels.shopmate.rasa_url}/webhooks/facebook/webhook",
        data=data,
        headers=headers,
        timeout=60,
    )


def messenger_sent(channels: ChannelsShopMate, psid: str, count: int = 0) -> list[dict[str, Any]]:
    """The Send API `message`s to `psid` (sender actions left out)."""
    found = fake_of(channels).wait_for(
        "/me/messages",
        count=count,
        timeout=WAIT_S if count else 0,
        where=lambda r: r.json().get("recipient", {}).get("id") == psid and "message" in r.json(),
    )
    for request in found:
        assert request.query["access_token"] == [channels.secrets["FACEBOOK_PAGE_ACCESS_TOKEN"]]
        assert request.json()["messaging_type"] == "RESPONSE"
    return [r.json()["message"] for r in found]


def psid() -> str:
    return str(10**15 + fresh_id())


def test_messenger_verifies_its_webhook(channels_shopmate: ChannelsShopMate) -> None:
    url = f"{channels_shopmate.shopmate.rasa_url}/webhooks/facebook/webhook"
    token = channels_shopmate.secrets["FACEBOOK_VERIFY_TOKEN"]
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    answer = requests.get(url, params=query, timeout=30)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    wrong = requests.get(url, params={**query, "hub.verify_token": "guess"}, timeout=30)
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text


def test_messenger_answers_with_text_and_quick_replies(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any], shopmate_tracker: Any
) -> None:
    shopper = psid()
    assert (
        post_messenger(channels_shopmate, messenger_callback(shopper, {"text": "你好"})).status_code
        == 200
    )
    (greeting,) = messenger_sent(channels_shopmate, shopper, 1)
    assert greeting == {"text": response_texts(domain, "utter_greet", "zh")[0]}
    callback = messenger_callback(shopper, {"text": "你能做什么"})
    assert post_messenger(channels_shopmate, callback).status_code == 200
    _, menu = messenger_sent(channels_shopmate, shopper, 2)
    assert menu["text"] == response_texts(domain, "utter_capabilities", "zh")[0]
    buttons = capability_buttons(domain, "zh")
    assert menu["quick_replies"] == [
        {"content_type": "text", "title": b["title"][:20], "payload": b["payload"]} for b in buttons
    ]
    # The shopper taps "查订单": Meta sends the title as text and the payload.
    reply = menu["quick_replies"][1]
    tapped = messenger_callback(
        shopper, {"text": reply["title"], "quick_reply": {"payload": reply["payload"]}}
    )
    assert post_messenger(channels_shopmate, tapped).status_code == 200
    assert len(messenger_sent(channels_shopmate, shopper, 3)) >= 3
    users = [e for e in shopmate_tracker(shopper) if e["event"] == "user"]
    assert users[-1]["text"] == "/check_order_status"
    assert users[-1]["parse_data"]["intent"]["name"] == "check_order_status"
    # A quick reply the bot never offered is the title typed, never a command.
    forged = messenger_callback(shopper, {"text": "好的", "quick_reply": {"payload": "/restart"}})
    assert post_messenger(channels_shopmate, forged).status_code == 200
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        users = [e for e in shopmate_tracker(shopper) if e["event"] == "user"]
        if users[-1]["text"] != "/check_order_status":
            break
        time.sleep(0.3)
    assert users[-1]["text"] == "好的"
    assert all(e["event"] != "restart" for e in shopmate_tracker(shopper)), "not obeyed"


@pytest.mark.parametrize(
    "signature", [None, "", "sha256=" + "0" * 64, "sha1=" + "0" * 40, "wrong secret"]
)
def test_messenger_refuses_unsigned_callbacks(
    channels_shopmate: ChannelsShopMate, signature: str | None
) -> None:
    shopper = psid()
    body = json.dumps(messenger_callback(shopper, {"text": "你好"})).encode()
    if signature == "wrong secret":
        signature = "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    assert post_messenger(channels_shopmate, body, signature).status_code == 401
    time.sleep(QUIET_S)
    assert messenger_sent(channels_shopmate, shopper) == []


def test_a_replayed_messenger_callback_is_answered_once(
    channels_shopmate: ChannelsShopMate,
) -> None:
    shopper = psid()
    body = json.dumps(messenger_callback(shopper, {"text": "你好"})).encode()
    for _ in range(3):
        assert post_messenger(channels_shopmate, body).status_code == 200
    assert len(messenger_sent(channels_shopmate, shopper, 1)) == 1
    time.sleep(QUIET_S)
    assert len(messenger_sent(channels_shopmate, shopper)) == 1


def test_messenger_malformed_callbacks_are_a_400(channels_shopmate: ChannelsShopMate) -> None:
    for body in (b"not json", b"[]", b'{"object": "page"}', b'{"object": "page", "entry": {}}'):
        answer = post_messenger(channels_shopmate, body)
        assert answer.status_code == 400
        assert "Traceback" not in answer.text


# ================================================================ all three


def push_bot_message(channels: ChannelsShopMate, sender_id: str, text: str) -> None:
    """A person's reply as the agent console sends one (web/agent.py), to the channel
    the shopper last wrote on: a bot event with output_channel=latest."""
    answer = requests.post(
        f"{channels.shopmate.rasa_url}/conversations/{sender_id}/tracker/events",
        params={
            "token": channels.shopmate.auth_token,
            "output_channel": "latest",
            "execute_side_effects": "true",
        },
        json=[{"event": "bot", "text": text}],
        timeout=60,
    )
    answer.raise_for_status()


def test_an_agents_reply_reaches_the_shopper_on_each_platform(
    channels_shopmate: ChannelsShopMate,
) -> None:
    note = f"人工客服：您好，我来帮您看看 {secrets.token_hex(3)}"
    chat = fresh_id()
    telegram_says(channels_shopmate, chat, "你好")
    push_bot_message(channels_shopmate, str(chat), note)
    assert [m["text"] for m in telegram_sent(channels_shopmate, chat)][-1] == note

    shopper = psid()
    callback = messenger_callback(shopper, {"text": "你好"})
    assert post_messenger(channels_shopmate, callback).status_code == 200
    messenger_sent(channels_shopmate, shopper, 1)
    tracker = channels_shopmate.shopmate.tracker(shopper)
    assert tracker["latest_input_channel"] == "facebook"
    push_bot_message(channels_shopmate, shopper, note)
    assert messenger_sent(channels_shopmate, shopper, 2)[-1] == {"text": note}

    channel, user = slack_dm()
    body = json.dumps(slack_event(channel, user, "你好")).encode()
    assert post_slack(channels_shopmate, body).status_code == 200
    slack_posts(channels_shopmate, channel, 1)
    push_bot_message(channels_shopmate, user, note)
    # No SLACK_CHANNEL: Slack opens the shopper's direct messages with the bot.
    (pushed,) = slack_posts(channels_shopmate, user, 1)
    assert pushed["text"] == note


def test_no_platform_secret_reaches_the_log(channels_shopmate: ChannelsShopMate) -> None:
    log = channels_shopmate.shopmate.logs[1].read_text(encoding="utf-8", errors="replace")
    for name in (
        "TELEGRAM_TOKEN",
        "TELEGRAM_SECRET_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "FACEBOOK_APP_SECRET",
        "FACEBOOK_PAGE_ACCESS_TOKEN",
    ):
        assert channels_shopmate.secrets[name] not in log, name
    assert "Traceback" not in log


def test_without_variables_the_webhooks_are_404(shopmate: ShopMate) -> None:
    """Rasa started with no platform variables: each webhook is there and answers 404."""
    for platform in ("telegram", "slack", "facebook"):
        answer = requests.post(
            f"{shopmate.rasa_url}/webhooks/{platform}/webhook", json={}, timeout=30
        )
        assert answer.status_code == 404, platform


@pytest.fixture
def shopmate_tracker(channels_shopmate: ChannelsShopMate) -> Any:
    """The stored events of a conversation of the channels' Rasa."""

    def events(sender_id: str) -> list[dict[str, Any]]:
        return list(channels_shopmate.shopmate.tracker(sender_id)["events"])

    return events
