"""WeCom, Feishu and DingTalk end to end: callbacks encrypted and signed the way each
platform does it, posted to a running Rasa with the trained model; what the bot sent
back is read from the local fake of the platforms' APIs (tests/e2e/fake_platforms.py).

The platforms' side is written here from their documents, not from the connectors'
code; only the AES block cipher is borrowed, from the Rasa runtime's `cryptography`
(tests/addons/rasa_runtime/check_platforms_china.py aes-cbc), which this runtime lacks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import subprocess
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from tests.conftest import PROJECT_ROOT, response_texts
from tests.e2e.conftest import ChannelsShopMate

pytestmark = pytest.mark.e2e

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
TURN_S = 60.0
QUIET_S = 2.0  # how long "nothing more came" is watched
SEARCH = "我想买一件红色的连衣裙"  # the scenario's 真丝连衣裙 (tests/factories.py)
DRESS = "真丝连衣裙"


# ---------------------------------------------------------------- the platforms' side


def aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC of already padded `data`, computed in the Rasa runtime."""
    request = [
        {
            "key": base64.b64encode(key).decode(),
            "iv": base64.b64encode(iv).decode(),
            "data": base64.b64encode(data).decode(),
        }
    ]
    done = subprocess.run(
        [str(RASA_PYTHON), "-m", "tests.addons.rasa_runtime.check_platforms_china", "aes-cbc"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=True,
    )
    return base64.b64decode(json.loads(done.stdout)[0])


def pkcs7(data: bytes, block: int) -> bytes:
    size = block - len(data) % block
    return data + bytes([size]) * size


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(5)}"


def wait_turn(channels: ChannelsShopMate, sender: str, users_before: int = 0) -> list[dict]:
    """The conversation's events once Rasa has answered a new user message (its
    messages were sent before the tracker was saved), then a moment for the carousel
    flush that follows the turn."""
    deadline = time.monotonic() + TURN_S
    while time.monotonic() < deadline:
        events = channels.shopmate.tracker(sender)["events"]
        users = [e for e in events if e["event"] == "user"]
        last = events[-1] if events else {}
        if len(users) > users_before and last.get("name") == "action_listen":
            time.sleep(0.5)
            return events
        time.sleep(0.2)
    pytest.fail(f"no answer to {sender} within {TURN_S}s")


def user_events(channels: ChannelsShopMate, sender: str) -> list[dict]:
    return [e for e in channels.shopmate.tracker(sender)["events"] if e["event"] == "user"]


def no_traceback(answer: requests.Response) -> None:
    assert "Traceback" not in answer.text
    assert 'File "' not in answer.text


# ================================================================ WeCom

WECOM_PATH = "/cgi-bin/message/send"


def wecom_url(channels: ChannelsShopMate) -> str:
    return f"{channels.shopmate.rasa_url}/webhooks/wecom/webhook"


def wecom_encrypt(channels: ChannelsShopMate, message: bytes, corp_id: str | None = None) -> str:
    """WeCom's ciphertext: 16 random bytes, the length (4 bytes, big-endian), the
    message, the CorpID; PKCS#7 to 32 bytes; AES-256-CBC, IV = key[:16]; base64."""
    key = base64.b64decode(channels.secrets["WECOM_AES_KEY"] + "=")
    corp = corp_id or channels.secrets["WECOM_CORP_ID"]
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + corp.encode()
    return base64.b64encode(aes_cbc(key, key[:16], pkcs7(plain, 32))).decode()


def wecom_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's signature


def wecom_query(
    channels: ChannelsShopMate, encrypted: str, age_s: int = 0, token: str | None = None
) -> dict[str, str]:
    timestamp, nonce = str(int(time.time()) - age_s), str(secrets.randbelow(10**9))
    token = token or channels.secrets["WECOM_TOKEN"]
    signature = wecom_signature(token, timestamp, nonce, encrypted)
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


def wecom_text(channels: ChannelsShopMate, user: str, text: str, msg_id: str) -> bytes:
    corp = channels.secrets["WECOM_CORP_ID"]
    agent = channels.secrets["WECOM_AGENT_ID"]
    return (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{agent}</AgentID></xml>"
    ).encode()


def wecom_post(
    channels: ChannelsShopMate,
    message: bytes,
    corp_id: str | None = None,
    age_s: int = 0,
    token: str | None = None,
) -> requests.Response:
    encrypted = wecom_encrypt(channels, message, corp_id)
    body = (
        f"<xml><ToUserName><![CDATA[{channels.secrets['WECOM_CORP_ID']}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<AgentID><![CDATA[{channels.secrets['WECOM_AGENT_ID']}]]></AgentID></xml>"
    )
    return requests.post(
        wecom_url(channels),
        params=wecom_query(channels, encrypted, age_s, token),
        data=body.encode(),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )


def wecom_sent(channels: ChannelsShopMate, user: str) -> list[dict[str, Any]]:
    sent = []
    for request in channels.fake.received(WECOM_PATH):
        body = request.json()
        if body.get("touser") == user:
            assert request.query["access_token"] == ["wecom-access-token"]
            assert body["agentid"] == int(channels.secrets["WECOM_AGENT_ID"])
            sent.append(body)
    return sent


def wecom_says(channels: ChannelsShopMate, user: str, text: str) -> list[dict[str, Any]]:
    sender = f"wecom:{channels.secrets['WECOM_CORP_ID']}:{user}"
    before, users = len(wecom_sent(channels, user)), len(user_events(channels, sender))
    answer = wecom_post(channels, wecom_text(channels, user, text, str(secrets.randbelow(10**15))))
    assert answer.status_code == 200, answer.text
    assert answer.text in ("", "success")
    wait_turn(channels, sender, users)
    return wecom_sent(channels, user)[before:]


def test_wecom_verifies_its_callback_url(channels_shopmate: ChannelsShopMate) -> None:
    echo = secrets.token_hex(8)
    encrypted = wecom_encrypt(channels_shopmate, echo.encode())
    query = {**wecom_query(channels_shopmate, encrypted), "echostr": encrypted}
    answer = requests.get(wecom_url(channels_shopmate), params=query, timeout=30)
    assert (answer.status_code, answer.text) == (200, echo)
    forged = {**query, "msg_signature": "0" * 40}
    assert requests.get(wecom_url(channels_shopmate), params=forged, timeout=30).status_code == 401
    other = wecom_encrypt(channels_shopmate, echo.encode(), corp_id="wwsomeoneelse")
    query = {**wecom_query(channels_shopmate, other), "echostr": other}
    answer = requests.get(wecom_url(channels_shopmate), params=query, timeout=30)
    assert answer.status_code == 403


def test_wecom_greets_in_the_shoppers_language(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    user = new_id("zhang")
    (greeting,) = wecom_says(channels_shopmate, user, "你好")
    assert greeting["msgtype"] == "text"
    assert [greeting["text"]["content"]] == response_texts(domain, "utter_greet", "zh")
    (english,) = wecom_says(channels_shopmate, new_id("li"), "hello")
    assert [english["text"]["content"]] == response_texts(domain, "utter_greet", "en")


def test_wecom_products_are_news_with_numbered_choices_a_number_answers(
    channels_shopmate: ChannelsShopMate,
) -> None:
    user = new_id("wang")
    sent = wecom_says(channels_shopmate, user, SEARCH)
    news = [m for m in sent if m["msgtype"] == "news"]
    assert news, sent
    articles = news[0]["news"]["articles"]
    assert any(DRESS in a["title"] for a in articles), articles
    assert all(a["url"].startswith("http") for a in articles)
    choices = [m["text"]["content"] for m in sent if m["msgtype"] == "text"]
    lines = [line for c in choices if "回复数字选择" in c for line in c.splitlines()]
    dress = [line for line in lines if "加入购物车" in line and DRESS in line]
    assert dress, choices
    # The shopper answers with the dress's number: its button's payload.
    wecom_says(channels_shopmate, user, dress[0].split(".", 1)[0])
    sender = f"wecom:{channels_shopmate.secrets['WECOM_CORP_ID']}:{user}"
    last = user_events(channels_shopmate, sender)[-1]
    assert last["text"].startswith("/add_to_cart"), last["text"]
    assert last["parse_data"]["intent"]["name"] == "add_to_cart"


def test_wecom_refuses_forged_expired_and_foreign_callbacks(
    channels_shopmate: ChannelsShopMate,
) -> None:
    user = new_id("mallory")
    message = wecom_text(channels_shopmate, user, "你好", str(secrets.randbelow(10**15)))
    assert wecom_post(channels_shopmate, message, token="not-the-token").status_code == 401
    assert wecom_post(channels_shopmate, message, age_s=3600).status_code == 403
    assert wecom_post(channels_shopmate, message, corp_id="wwsomeoneelse").status_code == 403
    for body in (b"not xml", b"<xml><Encrypt></Encrypt></xml>", b"<!DOCTYPE x []><xml/>"):
        answer = requests.post(
            wecom_url(channels_shopmate),
            params=wecom_query(channels_shopmate, "x"),
            data=body,
            timeout=30,
        )
        assert answer.status_code == 400, body
        no_traceback(answer)
    time.sleep(QUIET_S)
    assert wecom_sent(channels_shopmate, user) == []
    assert (
        user_events(channels_shopmate, f"wecom:{channels_shopmate.secrets['WECOM_CORP_ID']}:{user}")
        == []
    )


def test_a_retried_wecom_callback_is_answered_once(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    user = new_id("retry")
    message = wecom_text(channels_shopmate, user, "你好", str(secrets.randbelow(10**15)))
    for _ in range(3):  # WeCom retries a callback it thinks failed, with the same MsgId
        assert wecom_post(channels_shopmate, message).status_code == 200
    wait_turn(channels_shopmate, f"wecom:{channels_shopmate.secrets['WECOM_CORP_ID']}:{user}")
    time.sleep(QUIET_S)
    sent = wecom_sent(channels_shopmate, user)
    assert [m["text"]["content"] for m in sent] == response_texts(domain, "utter_greet", "zh")


# ================================================================ Feishu

FEISHU_PATH = "/open-apis/im/v1/messages"


def feishu_post(
    channels: ChannelsShopMate,
    data: dict[str, Any],
    age_s: int = 0,
    sign_key: str | None = None,
    raw: bytes | None = None,
) -> requests.Response:
    """A Feishu callback: the JSON encrypted (key = SHA256(encrypt key), a random IV in
    front, PKCS#7, base64) and signed (sha256 of timestamp + nonce + key + body)."""
    encrypt_key = channels.secrets["FEISHU_ENCRYPT_KEY"]
    if raw is None:
        key, iv = hashlib.sha256(encrypt_key.encode()).digest(), os.urandom(16)
        plain = json.dumps(data, ensure_ascii=False).encode()
        sealed = base64.b64encode(iv + aes_cbc(key, iv, pkcs7(plain, 16))).decode()
        raw = json.dumps({"encrypt": sealed}).encode()
    timestamp, nonce = str(int(time.time()) - age_s), secrets.token_hex(8)
    signed = (timestamp + nonce + (sign_key or encrypt_key)).encode() + raw
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": hashlib.sha256(signed).hexdigest(),
    }
    return requests.post(
        f"{channels.shopmate.rasa_url}/webhooks/feishu/webhook",
        data=raw,
        headers=headers,
        timeout=30,
    )


def feishu_header(channels: ChannelsShopMate, event_type: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "token": channels.secrets["FEISHU_VERIFICATION_TOKEN"],
        "create_time": str(int(time.time() * 1000)),
        "event_type": event_type,
        "tenant_key": "tenant-e2e",
        "app_id": channels.secrets["FEISHU_APP_ID"],
    }


def feishu_message(
    channels: ChannelsShopMate, open_id: str, text: str, chat_type: str = "p2p", chat_id: str = ""
) -> dict[str, Any]:
    """im.message.receive_v1 (schema 2.0); in a group the bot is @mentioned."""
    mentions = []
    if chat_type == "group":
        text = f"@_user_1 {text}"
        mentions = [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "ShopMate"}]
    return {
        "schema": "2.0",
        "header": feishu_header(channels, "im.message.receive_v1", new_id("ev_")),
        "event": {
            "sender": {
                "sender_id": {"open_id": open_id, "union_id": "on_e2e", "user_id": "u_e2e"},
                "sender_type": "user",
                "tenant_key": "tenant-e2e",
            },
            "message": {
                "message_id": new_id("om_"),
                "create_time": str(int(time.time() * 1000)),
                "chat_id": chat_id or new_id("oc_"),
                "chat_type": chat_type,
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
                "mentions": mentions,
            },
        },
    }


def feishu_sent(channels: ChannelsShopMate, receive_id: str) -> list[dict[str, Any]]:
    sent = []
    for request in channels.fake.received(FEISHU_PATH):
        body = request.json()
        if body.get("receive_id") == receive_id:
            assert request.headers["authorization"] == "Bearer feishu-tenant-token"
            content = json.loads(body["content"])
            sent.append({"type": request.query["receive_id_type"][0], **body, "content": content})
    return sent


def feishu_says(
    channels: ChannelsShopMate, open_id: str, data: dict[str, Any], receive_id: str
) -> list[dict[str, Any]]:
    sender = f"feishu:{open_id}"
    before, users = len(feishu_sent(channels, receive_id)), len(user_events(channels, sender))
    answer = feishu_post(channels, data)
    assert answer.status_code == 200, answer.text
    wait_turn(channels, sender, users)
    return feishu_sent(channels, receive_id)[before:]


def card_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for e in card.get("elements", []) if e.get("tag") == "action" for b in e["actions"]]


def test_feishu_answers_its_url_verification(channels_shopmate: ChannelsShopMate) -> None:
    challenge = {
        "challenge": secrets.token_hex(8),
        "token": channels_shopmate.secrets["FEISHU_VERIFICATION_TOKEN"],
        "type": "url_verification",
    }
    answer = feishu_post(channels_shopmate, challenge)
    assert answer.status_code == 200
    assert answer.json() == {"challenge": challenge["challenge"]}
    assert feishu_post(channels_shopmate, {**challenge, "token": "guess"}).status_code == 401


def test_feishu_greets_in_private_and_in_a_group(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    open_id = new_id("ou_")
    data = feishu_message(channels_shopmate, open_id, "你好")
    (greeting,) = feishu_says(channels_shopmate, open_id, data, open_id)
    assert (greeting["type"], greeting["msg_type"]) == ("open_id", "text")
    assert [greeting["content"]["text"]] == response_texts(domain, "utter_greet", "zh")
    other, group = new_id("ou_"), new_id("oc_")
    data = feishu_message(channels_shopmate, other, "hello", chat_type="group", chat_id=group)
    (reply,) = feishu_says(channels_shopmate, other, data, group)
    assert reply["type"] == "chat_id"
    assert [reply["content"]["text"]] == response_texts(domain, "utter_greet", "en")


def test_feishu_products_are_a_card_whose_button_click_is_the_payload(
    channels_shopmate: ChannelsShopMate,
) -> None:
    open_id = new_id("ou_")
    data = feishu_message(channels_shopmate, open_id, SEARCH)
    sent = feishu_says(channels_shopmate, open_id, data, open_id)
    cards = [m["content"] for m in sent if m["msg_type"] == "interactive"]
    assert cards, sent
    products = cards[0]
    lines = [e["text"]["content"] for e in products["elements"] if e["tag"] == "div"]
    assert any(DRESS in line for line in lines), lines
    cart = [b for b in card_buttons(products) if "value" in b]
    assert cart, products
    assert cart[0]["text"]["content"] == "加入购物车"
    payload = cart[0]["value"]["payload"]
    assert payload.startswith("/add_to_cart")
    # The shopper clicks it: Feishu calls back with card.action.trigger.
    click = {
        "schema": "2.0",
        "header": feishu_header(channels_shopmate, "card.action.trigger", new_id("ev_")),
        "event": {
            "operator": {"open_id": open_id, "user_id": "u_e2e"},
            "token": new_id("c-"),
            "action": {"tag": "button", "value": cart[0]["value"]},
            "host": "im_message",
            "context": {"open_message_id": new_id("om_"), "open_chat_id": new_id("oc_")},
        },
    }
    users = len(user_events(channels_shopmate, f"feishu:{open_id}"))
    assert feishu_post(channels_shopmate, click).status_code == 200
    wait_turn(channels_shopmate, f"feishu:{open_id}", users)
    last = user_events(channels_shopmate, f"feishu:{open_id}")[-1]
    assert last["text"] == payload
    assert last["parse_data"]["intent"]["name"] == "add_to_cart"


def test_feishu_refuses_forged_stale_replayed_and_malformed_callbacks(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    open_id = new_id("ou_")
    data = feishu_message(channels_shopmate, open_id, "你好")
    assert feishu_post(channels_shopmate, data, sign_key="not-the-key").status_code == 401
    assert feishu_post(channels_shopmate, data, age_s=3600).status_code == 403
    stolen = {**data, "header": {**data["header"], "token": "guess"}}
    assert feishu_post(channels_shopmate, stolen).status_code == 401
    for raw in (b"{not json", b'{"encrypt": "AAAA"}', b"[]"):
        answer = feishu_post(channels_shopmate, {}, raw=raw)
        assert answer.status_code == 400, raw
        no_traceback(answer)
    time.sleep(QUIET_S)
    assert feishu_sent(channels_shopmate, open_id) == []
    # Feishu retries an event it thinks failed, with the same event_id: one answer.
    for _ in range(3):
        assert feishu_post(channels_shopmate, data).status_code == 200
    wait_turn(channels_shopmate, f"feishu:{open_id}")
    time.sleep(QUIET_S)
    sent = feishu_sent(channels_shopmate, open_id)
    assert [m["content"]["text"] for m in sent] == response_texts(domain, "utter_greet", "zh")


# ================================================================ DingTalk

DINGTALK_PATH = "/robot/sendBySession"


def dingtalk_message(
    channels: ChannelsShopMate, conversation: str, staff: str, text: str, webhook: str = ""
) -> dict[str, Any]:
    """The robot's HTTP callback body (企业内部机器人, one-to-one chat)."""
    now_ms = int(time.time() * 1000)
    return {
        "conversationId": conversation,
        "chatbotCorpId": "ding-corp",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "msgId": new_id("msg"),
        "senderNick": "测试",
        "isAdmin": False,
        "senderStaffId": staff,
        "sessionWebhookExpiredTime": now_ms + 5_400_000,
        "createAt": now_ms,
        "senderCorpId": "ding-corp",
        "conversationType": "1",
        "senderId": "$:LWCP_v1:$" + staff,
        "sessionWebhook": webhook or f"{channels.fake.url}{DINGTALK_PATH}?session={conversation}",
        "text": {"content": f" {text}"},
        "robotCode": "ding-robot",
        "msgtype": "text",
    }


def dingtalk_post(
    channels: ChannelsShopMate, data: Any, age_ms: int = 0, secret: str | None = None
) -> requests.Response:
    secret = secret or channels.secrets["DINGTALK_APP_SECRET"]
    timestamp = str(int(time.time() * 1000) - age_ms)
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "timestamp": timestamp,
        "sign": base64.b64encode(mac.digest()).decode(),
    }
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    return requests.post(
        f"{channels.shopmate.rasa_url}/webhooks/dingtalk/webhook",
        data=raw,
        headers=headers,
        timeout=30,
    )


def dingtalk_sent(
    channels: ChannelsShopMate, session: str, path: str = DINGTALK_PATH
) -> list[dict[str, Any]]:
    return [
        request.json()
        for request in channels.fake.received(path)
        if request.query.get("session") == [session]
    ]


def dingtalk_says(
    channels: ChannelsShopMate, conversation: str, staff: str, text: str
) -> list[dict[str, Any]]:
    sender = f"dingtalk:{conversation}:{staff}"
    before, users = len(dingtalk_sent(channels, conversation)), len(user_events(channels, sender))
    answer = dingtalk_post(channels, dingtalk_message(channels, conversation, staff, text))
    assert answer.status_code == 200, answer.text
    wait_turn(channels, sender, users)
    return dingtalk_sent(channels, conversation)[before:]


def sent_by_button(url: str) -> str:
    """What DingTalk sends as the shopper's message when a dtmd button is pressed."""
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("dtmd", "dingtalkclient", "/sendMessage")
    return unquote(parse_qs(parts.query)["content"][0])


def test_dingtalk_greets_through_the_session_webhook(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    conversation = new_id("cid")
    (greeting,) = dingtalk_says(channels_shopmate, conversation, "staff1", "你好")
    assert greeting == {
        "msgtype": "text",
        "text": {"content": response_texts(domain, "utter_greet", "zh")[0]},
    }
    other = new_id("cid")
    (english,) = dingtalk_says(channels_shopmate, other, "staff2", "hello")
    assert [english["text"]["content"]] == response_texts(domain, "utter_greet", "en")


def test_dingtalk_buttons_are_an_action_card_whose_buttons_send_the_payload(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    conversation = new_id("cid")
    sent = dingtalk_says(channels_shopmate, conversation, "staff3", SEARCH)
    cards = [m["actionCard"] for m in sent if m["msgtype"] == "actionCard"]
    assert cards, sent
    assert DRESS in cards[0]["text"]
    payload = sent_by_button(cards[0]["btns"][0]["actionURL"])
    assert payload.startswith("/add_to_cart"), payload
    # Pressing it sends the payload as the shopper's message.
    dingtalk_says(channels_shopmate, conversation, "staff3", payload)
    last = user_events(channels_shopmate, f"dingtalk:{conversation}:staff3")[-1]
    assert last["parse_data"]["intent"]["name"] == "add_to_cart"
    # Rasa's own buttons (the capabilities) the same way.
    (capabilities,) = dingtalk_says(channels_shopmate, new_id("cid"), "staff4", "你能做什么")
    titles = [b["title"] for b in capabilities["actionCard"]["btns"]]
    buttons = next(
        v["buttons"]
        for v in domain["responses"]["utter_capabilities"]
        if {"type": "slot", "name": "language", "value": "zh"} in v.get("condition", [])
    )
    assert titles == [b["title"] for b in buttons]
    pressed = [sent_by_button(b["actionURL"]) for b in capabilities["actionCard"]["btns"]]
    assert pressed == [b["payload"] for b in buttons]


def test_dingtalk_refuses_forged_stale_foreign_replayed_and_malformed_callbacks(
    channels_shopmate: ChannelsShopMate, domain: dict[str, Any]
) -> None:
    conversation = new_id("cid")
    data = dingtalk_message(channels_shopmate, conversation, "staff5", "你好")
    assert dingtalk_post(channels_shopmate, data, secret="not-the-secret").status_code == 401
    assert dingtalk_post(channels_shopmate, data, age_ms=2 * 3_600_000).status_code == 403
    # A sessionWebhook on a host outside DINGTALK_WEBHOOK_HOSTS (SSRF): refused, never called.
    port = urlsplit(channels_shopmate.fake.url).port
    elsewhere = f"http://localhost:{port}/robot/elsewhere?session={conversation}"
    foreign = dingtalk_message(channels_shopmate, conversation, "staff5", "你好", webhook=elsewhere)
    assert dingtalk_post(channels_shopmate, foreign).status_code == 403
    for raw in (b"{not json", b"[]", b'{"msgId": "x"}'):
        answer = dingtalk_post(channels_shopmate, raw)
        assert answer.status_code == 400, raw
        no_traceback(answer)
    time.sleep(QUIET_S)
    assert dingtalk_sent(channels_shopmate, conversation) == []
    assert channels_shopmate.fake.received("/robot/elsewhere") == []
    for _ in range(3):  # the same msgId again and again: one answer
        assert dingtalk_post(channels_shopmate, data).status_code == 200
    wait_turn(channels_shopmate, f"dingtalk:{conversation}:staff5")
    time.sleep(QUIET_S)
    sent = dingtalk_sent(channels_shopmate, conversation)
    assert [m["text"]["content"] for m in sent] == response_texts(domain, "utter_greet", "zh")


# ================================================================ a person's reply


def push_bot_message(channels: ChannelsShopMate, sender_id: str, text: str) -> None:
    """A person's reply as the agent console sends one (web/agent.py), to the channel
    the shopper last wrote on: a bot event with output_channel=latest. Rasa sends it
    before it answers."""
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


def agent_note() -> str:
    return f"人工客服：您好，我来帮您看看 {secrets.token_hex(3)}"


def test_an_agents_reply_reaches_the_wecom_user(channels_shopmate: ChannelsShopMate) -> None:
    user = new_id("agent")
    wecom_says(channels_shopmate, user, "你好")
    sender = f"wecom:{channels_shopmate.secrets['WECOM_CORP_ID']}:{user}"
    assert channels_shopmate.shopmate.tracker(sender)["latest_input_channel"] == "wecom"
    note = agent_note()
    push_bot_message(channels_shopmate, sender, note)
    last = wecom_sent(channels_shopmate, user)[-1]
    assert last == {
        "touser": user,
        "msgtype": "text",
        "agentid": int(channels_shopmate.secrets["WECOM_AGENT_ID"]),
        "text": {"content": note},
    }


def test_an_agents_reply_reaches_the_feishu_chat_the_shopper_last_wrote_in(
    channels_shopmate: ChannelsShopMate,
) -> None:
    open_id, group = new_id("ou_"), new_id("oc_")
    data = feishu_message(channels_shopmate, open_id, "你好", chat_type="group", chat_id=group)
    feishu_says(channels_shopmate, open_id, data, group)
    note = agent_note()
    push_bot_message(channels_shopmate, f"feishu:{open_id}", note)
    last = feishu_sent(channels_shopmate, group)[-1]
    assert (last["type"], last["msg_type"], last["content"]) == ("chat_id", "text", {"text": note})
    assert feishu_sent(channels_shopmate, open_id) == [], "not in private: the group asked"
    # The shopper then writes in private: the next reply goes there.
    feishu_says(
        channels_shopmate, open_id, feishu_message(channels_shopmate, open_id, "在吗"), open_id
    )
    note = agent_note()
    push_bot_message(channels_shopmate, f"feishu:{open_id}", note)
    last = feishu_sent(channels_shopmate, open_id)[-1]
    assert (last["type"], last["content"]) == ("open_id", {"text": note})


def test_an_agents_reply_reaches_dingtalk_while_the_session_webhook_is_valid(
    channels_shopmate: ChannelsShopMate,
) -> None:
    conversation = new_id("cid")
    dingtalk_says(channels_shopmate, conversation, "staff6", "你好")
    note = agent_note()
    push_bot_message(channels_shopmate, f"dingtalk:{conversation}:staff6", note)
    last = dingtalk_sent(channels_shopmate, conversation)[-1]
    assert last == {"msgtype": "text", "text": {"content": note}}
    # A conversation whose sessionWebhook has since expired: nothing is sent.
    expiring = new_id("cid")
    data = dingtalk_message(channels_shopmate, expiring, "staff7", "你好")
    data["sessionWebhookExpiredTime"] = int(time.time() * 1000) + 4000
    users = len(user_events(channels_shopmate, f"dingtalk:{expiring}:staff7"))
    assert dingtalk_post(channels_shopmate, data).status_code == 200
    wait_turn(channels_shopmate, f"dingtalk:{expiring}:staff7", users)
    answered = len(dingtalk_sent(channels_shopmate, expiring))
    assert answered >= 1, "the message itself was answered"
    time.sleep(max(0.0, data["sessionWebhookExpiredTime"] / 1000 - time.time()) + 0.5)
    push_bot_message(channels_shopmate, f"dingtalk:{expiring}:staff7", agent_note())
    time.sleep(QUIET_S)
    assert len(dingtalk_sent(channels_shopmate, expiring)) == answered
    log = channels_shopmate.shopmate.logs[1].read_text(encoding="utf-8", errors="replace")
    line = next(
        line for line in log.splitlines() if "no valid sessionWebhook for this conversation" in line
    )
    assert expiring not in line
    assert "staff7" not in line


# ================================================================ all three


def test_no_china_platform_secret_reaches_the_log(channels_shopmate: ChannelsShopMate) -> None:
    log = channels_shopmate.shopmate.logs[1].read_text(encoding="utf-8", errors="replace")
    for name in (
        "WECOM_SECRET",
        "WECOM_AES_KEY",
        "FEISHU_APP_SECRET",
        "FEISHU_ENCRYPT_KEY",
        "FEISHU_VERIFICATION_TOKEN",
        "DINGTALK_APP_SECRET",
    ):
        assert channels_shopmate.secrets[name] not in log, name
    assert "wecom-access-token" not in log
    assert "feishu-tenant-token" not in log
    assert "Traceback" not in log
