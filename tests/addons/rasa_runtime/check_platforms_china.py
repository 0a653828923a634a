"""The WeCom, Feishu and DingTalk connectors (addons/platforms/), checked in the Rasa
runtime by tests/addons/test_platforms_china.py: signatures and decryption against
the platforms' published examples, callbacks built the way each platform builds them
(by the helpers below, written from the platforms' documents, not from the
connectors' code), refusals, dedupe, access tokens and what each platform shows.

`python -m tests.addons.rasa_runtime.check_platforms_china aes-cbc` is the platforms'
side of the e2e tests (tests/e2e/test_channels_china.py): it encrypts what they send,
with the `cryptography` package the test runtime does not have. The connectors are
imported only by the checks, so that mode starts fast.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import struct
import sys
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# ---------------------------------------------------------------- the platforms' side


def aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC of `data`, already padded by the caller as its platform pads."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def pkcs7(data: bytes, block: int) -> bytes:
    size = block - len(data) % block
    return data + bytes([size]) * size


def wecom_seal(message: bytes, encoding_aes_key: str, receive_id: str) -> str:
    """WeCom's ciphertext: random(16) + length(4, big-endian) + msg + receiveid,
    PKCS#7-padded to 32 bytes, AES-256-CBC with IV = key[:16], base64."""
    key = base64.b64decode(encoding_aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + receive_id.encode()
    return base64.b64encode(aes_cbc(key, key[:16], pkcs7(plain, 32))).decode()


def wecom_sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    parts = sorted([token, timestamp, nonce, encrypted])
    return hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 - WeCom's


def feishu_seal(plain: bytes, encrypt_key: str) -> str:
    """Feishu's {"encrypt": ...}: base64(iv + AES-256-CBC(PKCS#7)) with key = SHA256(key)."""
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    return base64.b64encode(iv + aes_cbc(key, iv, pkcs7(plain, 16))).decode()


def feishu_sign(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def dingtalk_sign(secret: str, timestamp: str) -> str:
    mac = hmac.new(secret.encode(), (timestamp + "\n" + secret).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# ---------------------------------------------------------------- fakes


class FakeHttp:
    """Stands in for china_common.HttpClient: records requests, answers as the
    platforms do (or from `queued`, first)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.queued: list[dict[str, Any]] = []

    def answer(self, url: str) -> dict[str, Any]:
        if self.queued:
            return self.queued.pop(0)
        if url.endswith("/cgi-bin/gettoken"):
            return {"errcode": 0, "access_token": f"wecom-{len(self.calls)}", "expires_in": 7200}
        if url.endswith("/tenant_access_token/internal"):
            return {"code": 0, "tenant_access_token": f"feishu-{len(self.calls)}", "expire": 7200}
        if "/open-apis/" in url:
            return {"code": 0, "data": {"message_id": "om_1"}}
        return {"errcode": 0, "errmsg": "ok"}

    async def request_json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any] | None:
        self.calls.append({"method": method, "url": url, **kwargs})
        return self.answer(url)

    async def get_json(self, url: str, **kwargs: Any) -> dict[str, Any] | None:
        return await self.request_json("GET", url, **kwargs)

    async def post_json(self, url: str, **kwargs: Any) -> dict[str, Any] | None:
        return await self.request_json("POST", url, **kwargs)

    async def close(self) -> None:
        pass

    def sent(self, part: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if part in call["url"]]


WECOM_ENV = {
    "WECOM_CORP_ID": "ww1234567890abcdef",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "wecom-secret",
    "WECOM_TOKEN": "QDG6eK",
    "WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "WECOM_API_BASE": "http://wecom.test",
}
FEISHU_ENV = {
    "FEISHU_APP_ID": "cli_test",
    "FEISHU_APP_SECRET": "feishu-secret",
    "FEISHU_VERIFICATION_TOKEN": "verify-me",
    "FEISHU_ENCRYPT_KEY": "encrypt-me",
    "FEISHU_API_BASE": "http://feishu.test",
}
DINGTALK_ENV = {"DINGTALK_APP_SECRET": "dingtalk-secret"}


def connector(cls: Any, env: dict[str, str], clock: Any = time.time) -> Any:
    from addons.platforms.china_common import HttpClient  # noqa: F401 - the real one exists
    from addons.settings import EdgeSettings, platform_settings

    return cls(
        settings=platform_settings(cls.platform, env),
        edge=EdgeSettings(),
        http=FakeHttp(),
        clock=clock,
    )


# ---------------------------------------------------------------- WeCom

WECOM_VECTOR = {  # WeCom's published sample (WXBizMsgCrypt samples, every language)
    "token": "QDG6eK",
    "corp_id": "wx5823bf96d3bd56c7",
    "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "verify": {
        "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        "timestamp": "1409659589",
        "nonce": "263014780",
        "echostr": (
            "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
        ),
    },
    "message": {
        "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
        "timestamp": "1409659813",
        "nonce": "1372623149",
    },
    "body": (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA["
        "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3"
        "QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48"
        "kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izo"
        "un1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUa"
        "x5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl"
        "/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>"
        "<AgentID><![CDATA[218]]></AgentID></xml>"
    ),
}


def wecom_message(
    text: str,
    user: str = "zhangsan",
    kind: str = "text",
    msg_id: str = "1001",
    agent: str = "1000002",
) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[ww1234567890abcdef]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{kind}]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>{agent}</AgentID></xml>"
    ).encode()


def wecom_callback(
    plain: bytes,
    corp_id: str = "ww1234567890abcdef",
    age_s: int = 0,
    token: str = WECOM_ENV["WECOM_TOKEN"],
) -> tuple[dict[str, str], bytes]:
    encrypted = wecom_seal(plain, WECOM_ENV["WECOM_AES_KEY"], corp_id)
    timestamp, nonce = str(int(time.time()) - age_s), "1372623149"
    args = {
        "msg_signature": wecom_sign(token, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    body = (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    return args, body.encode()


def check_wecom_vectors() -> None:
    from addons.platforms import wecom

    vector = WECOM_VECTOR
    verify = vector["verify"]
    assert (
        wecom.signature(vector["token"], verify["timestamp"], verify["nonce"], verify["echostr"])
        == verify["msg_signature"]
    )
    key = wecom.aes_key(vector["aes_key"])
    assert wecom.decrypt(verify["echostr"], key) == (b"1616140317555161061", vector["corp_id"])
    env = {
        **WECOM_ENV,
        "WECOM_CORP_ID": vector["corp_id"],
        "WECOM_AGENT_ID": "218",
        "WECOM_MAX_AGE_S": "300",
    }
    at_the_time = connector(wecom.WeComInput, env, clock=lambda: 1409659589.0)
    assert at_the_time.check_verification(verify).body == "1616140317555161061"
    assert at_the_time.check_verification(verify).status == 200
    # A query string's "+" may arrive decoded as a space.
    spaced = {**verify, "echostr": verify["echostr"].replace("+", " ")}
    assert at_the_time.check_verification(spaced).body == "1616140317555161061"
    tampered = {**verify, "msg_signature": "0" * 40}
    assert at_the_time.check_verification(tampered).status == 401
    assert connector(wecom.WeComInput, env).check_verification(verify).status == 403, "expired"
    other_corp = connector(
        wecom.WeComInput, {**env, "WECOM_CORP_ID": "wwother"}, lambda: 1409659589.0
    )
    assert other_corp.check_verification(verify).status == 403, "a callback for another CorpID"

    body = vector["body"].encode()
    at_the_time = connector(wecom.WeComInput, env, clock=lambda: 1409659813.0)
    verdict = at_the_time.check_message(vector["message"], body)
    assert verdict.status == 200, verdict
    assert verdict.body == "", verdict
    assert verdict.message.sender_id == "wecom:wx5823bf96d3bd56c7:mycreate", verdict
    assert verdict.message.text == "hello"
    assert verdict.message.message_id == "4561255354251345929"
    assert verdict.message.target == "mycreate"
    wrong_agent = connector(
        wecom.WeComInput, {**env, "WECOM_AGENT_ID": "219"}, lambda: 1409659813.0
    )
    assert wrong_agent.check_message(vector["message"], body).status == 403


def check_wecom_callbacks() -> None:
    from addons.platforms import wecom

    channel = connector(wecom.WeComInput, WECOM_ENV)
    args, body = wecom_callback(wecom_message("我想买连衣裙"))
    verdict = channel.check_message(args, body)
    assert verdict.status == 200, verdict
    assert verdict.message is not None, verdict
    assert verdict.message.text == "我想买连衣裙"
    assert verdict.message.sender_id == "wecom:ww1234567890abcdef:zhangsan"
    assert verdict.message.message_id == "1001"
    # A picture: answered with "I can only read text"; an event: nothing to answer.
    args, body = wecom_callback(wecom_message("", kind="image"))
    assert channel.check_message(args, body).message.text is None
    event = (
        b"<xml><FromUserName>zhangsan</FromUserName><MsgType>event</MsgType>"
        b"<Event>enter_agent</Event></xml>"
    )
    args, body = wecom_callback(event)
    assert channel.check_message(args, body) == wecom.Verdict(200, "")
    # Refusals.
    args, body = wecom_callback(wecom_message("hi"), corp_id="wwsomeoneelse")
    assert channel.check_message(args, body).status == 403, "wrong CorpID"
    args, body = wecom_callback(wecom_message("hi"), age_s=3600)
    assert channel.check_message(args, body).status == 403, "expired"
    args, body = wecom_callback(wecom_message("hi"), token="not-the-token")
    assert channel.check_message(args, body).status == 401, "bad signature"
    args, body = wecom_callback(wecom_message("hi", agent="999"))
    assert channel.check_message(args, body).status == 403, "another application"
    assert channel.check_message(args, b"not xml").status == 400
    assert channel.check_message(args, b"<xml><ToUserName>x</ToUserName></xml>").status == 400
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert channel.check_message(args, bomb).status == 400
    garbage = "bm90IGEgY2lwaGVydGV4dA=="
    signed = {
        **args,
        "msg_signature": wecom_sign("QDG6eK", args["timestamp"], args["nonce"], garbage),
    }
    assert (
        channel.check_message(signed, f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode()).status
        == 400
    )
    args, body = wecom_callback(b"plain words, not XML")
    assert channel.check_message(args, body).status == 400
    try:
        wecom.aes_key("tooshort")
    except wecom.WeComCryptoError:
        pass
    else:
        raise AssertionError("a short EncodingAESKey was accepted")


# ---------------------------------------------------------------- Feishu


def feishu_event(
    text: str,
    chat_type: str = "p2p",
    event_id: str = "ev-1",
    token: str = FEISHU_ENV["FEISHU_VERIFICATION_TOKEN"],
) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "token": token,
            "create_time": str(int(time.time() * 1000)),
            "event_type": "im.message.receive_v1",
            "tenant_key": "tenant",
            "app_id": "cli_test",
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": "ou_abc123", "union_id": "on_1", "user_id": "u1"},
                "sender_type": "user",
            },
            "message": {
                "message_id": "om_1",
                "chat_id": "oc_group1",
                "chat_type": chat_type,
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
                "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "ShopMate"}],
            },
        },
    }


def feishu_callback(
    data: dict[str, Any], key: str = "encrypt-me", age_s: int = 0, sign_key: str | None = None
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {"encrypt": feishu_seal(json.dumps(data, ensure_ascii=False).encode(), key)}
    ).encode()
    timestamp, nonce = str(int(time.time()) - age_s), "n0nce"
    headers = {
        "x-lark-request-timestamp": timestamp,
        "x-lark-request-nonce": nonce,
        "x-lark-signature": feishu_sign(timestamp, nonce, sign_key or key, body),
    }
    return headers, body


def check_feishu() -> None:
    from addons.platforms import feishu

    # Feishu's documented example: "test key" decrypts it to "hello world".
    assert (
        feishu.decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "test key") == b"hello world"
    )
    channel = connector(feishu.FeishuInput, FEISHU_ENV)
    challenge = {"challenge": "ch-42", "token": "verify-me", "type": "url_verification"}
    headers, body = feishu_callback(challenge)
    assert channel.check_callback(headers, body) == feishu.Verdict(200, {"challenge": "ch-42"})
    headers, body = feishu_callback({**challenge, "token": "wrong"})
    assert channel.check_callback(headers, body).status == 401

    headers, body = feishu_callback(feishu_event("@_user_1 我想买连衣裙"))
    verdict = channel.check_callback(headers, body)
    assert verdict.status == 200, verdict
    assert verdict.message is not None, verdict
    assert verdict.message.text == "我想买连衣裙", verdict.message
    assert verdict.message.sender_id == "feishu:ou_abc123"
    assert verdict.message.message_id == "ev-1"
    assert verdict.message.target == ("open_id", "ou_abc123")
    headers, body = feishu_callback(feishu_event("@_user_1 hello", chat_type="group"))
    assert channel.check_callback(headers, body).message.target == ("chat_id", "oc_group1")
    chatter = feishu_event("大家好", chat_type="group")
    chatter["event"]["message"]["mentions"] = []
    headers, body = feishu_callback(chatter)
    assert channel.check_callback(headers, body).message is None, "not addressed to the bot"
    # Refusals: signature, age, token, shape.
    headers, body = feishu_callback(feishu_event("hi"), sign_key="not-the-key")
    assert channel.check_callback(headers, body).status == 401
    headers, body = feishu_callback(feishu_event("hi"))
    unsigned = {key: value for key, value in headers.items() if key != "x-lark-signature"}
    assert channel.check_callback(unsigned, body).status == 401
    headers, body = feishu_callback(feishu_event("hi"), age_s=3600)
    assert channel.check_callback(headers, body).status == 403
    headers, body = feishu_callback(feishu_event("hi", token="stolen?"))
    assert channel.check_callback(headers, body).status == 401
    assert channel.check_callback({}, b"{not json").status == 400
    headers, body = feishu_callback(feishu_event("hi"))
    junk = json.dumps({"encrypt": "AAAA"}).encode()
    timestamp, nonce = headers["x-lark-request-timestamp"], headers["x-lark-request-nonce"]
    junk_headers = {
        **headers,
        "x-lark-signature": feishu_sign(timestamp, nonce, "encrypt-me", junk),
    }
    assert channel.check_callback(junk_headers, junk).status == 400
    v1 = {"uuid": "1", "token": "verify-me", "type": "event_callback", "event": {}}
    headers, body = feishu_callback(v1)
    assert channel.check_callback(headers, body).status == 400
    picture = feishu_event("")
    picture["event"]["message"]["message_type"] = "image"
    headers, body = feishu_callback(picture)
    assert channel.check_callback(headers, body).message.text is None
    # A click on a card's button: the payload it carries, from the operator.
    click = {
        "schema": "2.0",
        "header": {
            "event_id": "ev-click",
            "token": "verify-me",
            "event_type": "card.action.trigger",
        },
        "event": {
            "operator": {"open_id": "ou_abc123"},
            "token": "c-token",
            "action": {
                "tag": "button",
                "value": {"payload": '/add_to_cart{"product_code":"P00001"}'},
            },
            "context": {"open_message_id": "om_1", "open_chat_id": "oc_p2p"},
        },
    }
    headers, body = feishu_callback(click)
    verdict = channel.check_callback(headers, body)
    assert verdict.message.text == '/add_to_cart{"product_code":"P00001"}', verdict
    assert verdict.message.target == ("chat_id", "oc_p2p")

    # Without an encrypt key: plain bodies, the verification token is the proof.
    plain_env = {key: value for key, value in FEISHU_ENV.items() if key != "FEISHU_ENCRYPT_KEY"}
    plain_channel = connector(feishu.FeishuInput, plain_env)
    body = json.dumps(challenge).encode()
    assert plain_channel.check_callback({}, body).body == {"challenge": "ch-42"}
    body = json.dumps(feishu_event("hello")).encode()
    assert plain_channel.check_callback({}, body).message.text == "hello"
    body = json.dumps(feishu_event("hello", token="guess")).encode()
    assert plain_channel.check_callback({}, body).status == 401
    assert feishu.defuse('<at user_id="all">所有人</at>') == '＜at user_id="all">所有人＜/at>'


# ---------------------------------------------------------------- DingTalk


def dingtalk_body(
    text: str,
    webhook: str = "https://oapi.dingtalk.com/robot/sendBySession?session=abc",
    msg_id: str = "msgA1",
) -> dict[str, Any]:
    return {
        "conversationId": "cidQm/Ta+SgA==",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": msg_id,
        "senderNick": "张三",
        "isAdmin": False,
        "senderStaffId": "manager7",
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
        "createAt": int(time.time() * 1000),
        "conversationType": "1",
        "senderId": "$:LWCP_v1:$abc",
        "sessionWebhook": webhook,
        "text": {"content": f" {text}"},
        "msgtype": "text",
    }


def dingtalk_headers(
    secret: str = DINGTALK_ENV["DINGTALK_APP_SECRET"], age_ms: int = 0
) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000) - age_ms)
    return {"timestamp": timestamp, "sign": dingtalk_sign(secret, timestamp)}


def check_dingtalk() -> None:
    from addons.platforms import dingtalk

    channel = connector(dingtalk.DingTalkInput, DINGTALK_ENV)
    body = json.dumps(dingtalk_body("你好")).encode()
    verdict = channel.check_callback(dingtalk_headers(), body)
    assert verdict.status == 200, verdict
    assert verdict.message is not None, verdict
    assert verdict.message.text == "你好"
    assert verdict.message.message_id == "msgA1"
    assert verdict.message.target.webhook.startswith(
        "https://oapi.dingtalk.com/robot/sendBySession"
    )
    assert verdict.message.target.expires_ms > time.time() * 1000
    conversation = verdict.message.sender_id.split(":")
    assert conversation[0] == "dingtalk", conversation
    assert conversation[2] == "manager7", conversation
    assert conversation[1].startswith("h")
    assert "/" not in verdict.message.sender_id
    assert channel.check_callback(dingtalk_headers(age_ms=1_800_000), body).status == 200
    assert channel.check_callback(dingtalk_headers(age_ms=7_200_000), body).status == 403
    assert channel.check_callback(dingtalk_headers("wrong-secret"), body).status == 401
    assert channel.check_callback({}, body).status == 401
    assert channel.check_callback(dingtalk_headers(), b"[1, 2").status == 400
    assert channel.check_callback(dingtalk_headers(), b"[]").status == 400
    for evil in [
        "https://evil.example/robot",
        "http://oapi.dingtalk.com/robot/sendBySession?session=1",
        "https://oapi.dingtalk.com@evil.example/robot",
        "https://oapi.dingtalk.com.evil.example/robot",
        "https://evil.example/?host=oapi.dingtalk.com",
        "https://oapi.dingtalk.com:8443/robot",
        "file:///etc/passwd",
        None,
    ]:
        body = json.dumps(dingtalk_body("hi", webhook=evil)).encode()  # type: ignore[arg-type]
        assert channel.check_callback(dingtalk_headers(), body).status == 403, evil
    assert dingtalk.webhook_allowed("https://api.dingtalk.com/v1.0/robot/x", [])
    assert dingtalk.webhook_allowed("http://127.0.0.1:8123/robot", ["127.0.0.1"])
    assert not dingtalk.webhook_allowed("https://oapi.dingtalk.com/robot", ["127.0.0.1"])
    stale = dingtalk_body("hi")
    stale["sessionWebhookExpiredTime"] = int(time.time() * 1000) - 1000
    verdict = channel.check_callback(dingtalk_headers(), json.dumps(stale).encode())
    assert verdict.status == 200
    assert verdict.message is None
    picture = {**dingtalk_body(""), "msgtype": "picture", "content": {"downloadCode": "x"}}
    picture.pop("text")
    assert (
        channel.check_callback(dingtalk_headers(), json.dumps(picture).encode()).message.text
        is None
    )


# ---------------------------------------------------------------- turns, dedupe, tokens


class FakeStore:
    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker

    async def retrieve(self, sender_id: str) -> Any:
        return self.tracker


def fake_request(tracker: Any = None) -> Any:
    agent = SimpleNamespace(tracker_store=FakeStore(tracker), domain=None)
    return SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(agent=agent)))


async def check_turns_and_dedupe() -> None:
    from addons.platforms import wecom
    from addons.platforms.china_common import Inbound, Verdict
    from addons.settings import platform_settings

    channel = connector(wecom.WeComInput, WECOM_ENV)
    received: list[Any] = []

    async def on_new_message(message: Any) -> None:
        received.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "您好！"})

    message = Inbound("wecom:ww1234567890abcdef:zhangsan", "你好", "m-1", "zhangsan")
    for _ in range(3):  # WeCom retries a slow callback: one turn, one reply
        answered = await channel.answer(fake_request(), Verdict(200, "", message), on_new_message)
        assert answered.status == 200
    await channel.drain()
    assert len(received) == 1, received
    assert received[0].metadata is None, "no metadata: a platform user is a guest"
    assert received[0].input_channel == "wecom"
    assert received[0].sender_id == "wecom:ww1234567890abcdef:zhangsan"
    sent = channel.http.sent("/cgi-bin/message/send")
    assert len(sent) == 1, sent
    assert sent[0]["json_body"]["touser"] == "zhangsan", sent
    assert sent[0]["json_body"]["text"] == {"content": "您好！"}
    assert sent[0]["json_body"]["agentid"] == 1000002
    # A command the bot did not offer is plain text; an over-long message is not parsed.
    other = Inbound("wecom:ww1234567890abcdef:lisi", "/restart", "m-2", "lisi")
    await channel.answer(fake_request(), Verdict(200, "", other), on_new_message)
    await channel.drain()
    assert received[-1].text == "／restart", received[-1].text
    long = Inbound("wecom:ww1234567890abcdef:lisi", "长" * 1001, "m-3", "lisi")
    await channel.answer(fake_request(), Verdict(200, "", long), on_new_message)
    await channel.drain()
    assert len(received) == 2
    assert (
        channel.http.sent("/message/send")[-1]["json_body"]["text"]["content"]
        == "utter_message_too_long"
    )
    # Off without its variables: it registers, answers 404, and Rasa starts.
    off = wecom.WeComInput(settings=platform_settings("wecom", {}), http=FakeHttp())
    assert not off.enabled
    assert off.key is None
    off.blueprint(on_new_message)


class FakeStream:
    def __init__(self, body: bytes) -> None:
        self.chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]

    async def read(self) -> bytes | None:
        return self.chunks.pop(0) if self.chunks else None


class FakeArgs(dict):
    def get(self, key: str, default: Any = None) -> Any:  # Sanic's: the first value
        return super().get(key, default)


def route(channel: Any, on_new_message: Any, uri: str = "/webhook") -> Any:
    """The handler of the connector's route `uri` (called without a server)."""
    blueprint = channel.blueprint(on_new_message)
    (found,) = [r.handler for r in blueprint._future_routes if r.uri == uri]
    return found


def call(
    handler: Any, method: str = "POST", args: Any = None, headers: Any = None, body: bytes = b""
) -> Any:
    request = fake_request()
    request.method = method
    request.args = FakeArgs(args or {})
    request.headers = dict(headers or {})
    request.stream = FakeStream(body)
    return handler(request)


async def check_routes() -> None:
    from addons.platforms import dingtalk, feishu, wecom
    from addons.settings import platform_settings

    received: list[Any] = []

    async def on_new_message(message: Any) -> None:
        received.append(message)

    # Off without their variables (or with a broken key): registered, 404 to everything.
    for cls in (wecom.WeComInput, feishu.FeishuInput, dingtalk.DingTalkInput):
        off = cls(settings=platform_settings(cls.platform, {}), http=FakeHttp())
        assert not off.enabled
        for method in ("GET", "POST"):
            answer = await call(route(off, on_new_message), method, body=b"{}")
            assert answer.status == 404, (cls, method)
        assert (await call(route(off, on_new_message, "/"), "GET")).status == 404
    broken = {**WECOM_ENV, "WECOM_AES_KEY": "short"}
    assert not wecom.WeComInput(
        settings=platform_settings("wecom", broken), http=FakeHttp()
    ).enabled

    # On: the routes verify, refuse and answer at once; the turn runs afterwards.
    channel = connector(wecom.WeComInput, WECOM_ENV)
    handler = route(channel, on_new_message)
    echo = wecom_seal(b"echo-123", WECOM_ENV["WECOM_AES_KEY"], WECOM_ENV["WECOM_CORP_ID"])
    timestamp = str(int(time.time()))
    query = {
        "msg_signature": wecom_sign("QDG6eK", timestamp, "n1", echo),
        "timestamp": timestamp,
        "nonce": "n1",
        "echostr": echo,
    }
    answer = await call(handler, "GET", query)
    assert (answer.status, answer.body) == (200, b"echo-123"), answer.body
    args, body = wecom_callback(wecom_message("你好", msg_id="route-1"))
    answer = await call(handler, "POST", args, body=body)
    assert (answer.status, answer.body) == (200, b"")
    answer = await call(handler, "POST", args, body=body)  # WeCom's retry
    assert answer.status == 200
    await channel.drain()
    assert [m.text for m in received] == ["你好"]
    answer = await call(handler, "POST", args, body=b"<xml>" + b"x" * 70_000 + b"</xml>")
    assert answer.status == 413
    lark = connector(feishu.FeishuInput, FEISHU_ENV)
    headers, body = feishu_callback(
        {"challenge": "c1", "token": "verify-me", "type": "url_verification"}
    )
    answer = await call(route(lark, on_new_message), "POST", headers=headers, body=body)
    assert answer.status == 200
    assert json.loads(answer.body) == {"challenge": "c1"}
    ding = connector(dingtalk.DingTalkInput, DINGTALK_ENV)
    answer = await call(
        route(ding, on_new_message), "POST", headers=dingtalk_headers("bad"), body=b"{}"
    )
    assert answer.status == 401
    assert (await call(route(ding, on_new_message, "/"), "GET")).status == 200


async def check_tokens() -> None:
    from addons.platforms import feishu, wecom

    channel = connector(wecom.WeComInput, WECOM_ENV)
    now = [1000.0]
    channel.api.tokens.clock = lambda: now[0]
    await channel.api.send("u1", "text", {"content": "a"})
    await channel.api.send("u1", "text", {"content": "b"})
    assert len(channel.http.sent("/gettoken")) == 1, "the token is cached"
    token_call = channel.http.sent("/gettoken")[0]
    assert token_call["params"] == {"corpid": "ww1234567890abcdef", "corpsecret": "wecom-secret"}
    now[0] += 7200 - 200  # shortly before it expires: a new one
    await channel.api.send("u1", "text", {"content": "c"})
    assert len(channel.http.sent("/gettoken")) == 2
    channel.http.queued = [{"errcode": 42001, "errmsg": "access_token expired"}]
    assert await channel.api.send("u1", "text", {"content": "d"})
    assert len(channel.http.sent("/gettoken")) == 3, "an expired token is fetched again"
    sends = channel.http.sent("/message/send")
    assert sends[-1]["params"]["access_token"] != sends[-2]["params"]["access_token"]

    lark = connector(feishu.FeishuInput, FEISHU_ENV)
    await lark.api.send(("open_id", "ou_1"), "text", {"text": "a"})
    await lark.api.send(("open_id", "ou_1"), "text", {"text": "b"})
    assert len(lark.http.sent("/tenant_access_token/internal")) == 1
    lark.http.queued = [{"code": 99991663, "msg": "invalid token"}]
    assert await lark.api.send(("chat_id", "oc_1"), "text", {"text": "c"})
    assert len(lark.http.sent("/tenant_access_token/internal")) == 2
    last = lark.http.sent("/im/v1/messages")[-1]
    assert last["params"] == {"receive_id_type": "chat_id"}
    assert last["headers"]["Authorization"].startswith("Bearer feishu-")
    assert json.loads(last["json_body"]["content"]) == {"text": "c"}


# ---------------------------------------------------------------- Rasa sending on its own


class FakeRedis:
    """redis.asyncio's get/set (SET EX) in a dict; `down` makes every call fail."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.expiries: dict[str, int] = {}
        self.down = False

    async def set(self, key: str, value: str, ex: int | None = None, **_: Any) -> bool:
        if self.down:
            raise ConnectionError("redis down")
        self.values[key] = value.encode()
        self.expiries[key] = int(ex or 0)
        return True

    async def get(self, key: str) -> bytes | None:
        if self.down:
            raise ConnectionError("redis down")
        return self.values.get(key)


class Records(list):
    """The log records of one logger, INFO and up, while it is attached
    (`with Records(name) as records`)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.logger = logging.getLogger(name)
        self.handler = logging.Handler(logging.INFO)
        self.handler.emit = self.append  # type: ignore[method-assign]
        self.level = self.logger.level

    def __enter__(self) -> Records:
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *_: Any) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def latest_output(channel: Any, sender_id: str) -> Any:
    """The output Rasa picks for output_channel=latest (rasa/server.py), for a tracker
    whose latest message came in on `channel`."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.server import _get_output_channel
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events(
        sender_id, [UserUttered("你好", input_channel=channel.name())]
    )
    request = SimpleNamespace(
        args={"output_channel": "latest"},
        app=SimpleNamespace(ctx=SimpleNamespace(input_channels=[channel])),
    )
    output = _get_output_channel(request, tracker)
    assert not isinstance(output, CollectingOutputChannel), "collected, not delivered"
    return output


async def ignore(_: Any) -> None:
    pass


async def check_latest_wecom() -> None:
    from addons.platforms import wecom
    from addons.platforms.china_common import id_part

    channel = connector(wecom.WeComInput, WECOM_ENV)
    handler = route(channel, ignore)
    # A userid with characters a sender id cannot carry: hashed, so only the
    # callback's record of it reaches the user.
    user = "张三.li"
    sender = f"wecom:ww1234567890abcdef:{id_part(user)}"
    assert user not in sender
    args, body = wecom_callback(wecom_message("你好", user=user, msg_id="latest-1"))
    assert (await call(handler, "POST", args, body=body)).status == 200
    await channel.drain()
    output = latest_output(channel, sender)
    assert isinstance(output, wecom.WeComOutput)
    before = len(channel.http.sent("/message/send"))
    await output.send_response(sender, {"text": "人工客服：您好"})
    rating = [{"title": str(n), "payload": f"/rate_service{{{n}}}"} for n in range(1, 6)]
    await output.send_response(sender, {"text": "请打分", "buttons": rating, "language": "zh"})
    sent = [c["json_body"] for c in channel.http.sent("/message/send")[before:]]
    assert [b["touser"] for b in sent] == [user, user], sent
    assert sent[0]["text"] == {"content": "人工客服：您好"}
    assert sent[1]["text"]["content"].endswith("请回复数字 1-5"), sent[1]
    # Another process (no record): a plain userid is its own sender id part.
    other = connector(wecom.WeComInput, WECOM_ENV)
    output = other.get_output_channel()
    await output.send_response("wecom:ww1234567890abcdef:lisi", {"text": "a"})
    assert other.http.sent("/message/send")[-1]["json_body"]["touser"] == "lisi"
    # A hashed part nobody recorded, another CorpID, another platform: nothing sent.
    with Records("addons.platforms.wecom") as records:
        for unknown in (sender, "wecom:wwother:lisi", "feishu:lisi"):
            output = other.get_output_channel()
            await output.send_response(unknown, {"text": "b"})
            await output.send_response(unknown, {"text": "c"})
    assert len(other.http.sent("/message/send")) == 1
    assert len(records) == 3, [r.getMessage() for r in records]  # one line per output
    assert all("lisi" not in r.getMessage() and "wwother" not in r.getMessage() for r in records)


async def check_latest_feishu() -> None:
    from addons.platforms import feishu

    channel = connector(feishu.FeishuInput, FEISHU_ENV)
    handler = route(channel, ignore)
    # The shopper last wrote in a group: Rasa's messages go to that group.
    headers, body = feishu_callback(feishu_event("@_user_1 你好", "group", "ev-latest-1"))
    assert (await call(handler, "POST", headers=headers, body=body)).status == 200
    await channel.drain()
    output = latest_output(channel, "feishu:ou_abc123")
    assert isinstance(output, feishu.FeishuOutput)
    await output.send_response("feishu:ou_abc123", {"text": "人工客服：您好"})
    last = channel.http.sent("/im/v1/messages")[-1]
    assert last["params"] == {"receive_id_type": "chat_id"}
    assert last["json_body"]["receive_id"] == "oc_group1"
    assert json.loads(last["json_body"]["content"]) == {"text": "人工客服：您好"}
    # Then in private: there.
    headers, body = feishu_callback(feishu_event("你好", "p2p", "ev-latest-2"))
    assert (await call(handler, "POST", headers=headers, body=body)).status == 200
    await channel.drain()
    rating = [{"title": str(n), "payload": f"/rate_service{{{n}}}"} for n in range(1, 6)]
    output = channel.get_output_channel()
    await output.send_response("feishu:ou_abc123", {"text": "请打分", "buttons": rating})
    last = channel.http.sent("/im/v1/messages")[-1]
    assert (last["params"]["receive_id_type"], last["json_body"]["receive_id"]) == (
        "open_id",
        "ou_abc123",
    )
    assert last["json_body"]["msg_type"] == "interactive"
    # Another process, no record: the open_id in the sender id, its private chat.
    other = connector(feishu.FeishuInput, FEISHU_ENV)
    await other.get_output_channel().send_response("feishu:ou_zzz", {"text": "a"})
    assert other.http.sent("/im/v1/messages")[-1]["json_body"]["receive_id"] == "ou_zzz"
    with Records("addons.platforms.feishu") as records:
        await other.get_output_channel().send_response("feishu:h" + "0" * 32, {"text": "b"})
    assert len(other.http.sent("/im/v1/messages")) == 1
    assert len(records) == 1


async def check_latest_dingtalk() -> None:
    from addons.platforms import dingtalk
    from addons.platforms.china_common import RECIPIENT_TTL_S, RecipientBook

    now = [time.time()]
    redis = FakeRedis()
    channel = connector(dingtalk.DingTalkInput, DINGTALK_ENV, clock=lambda: now[0])
    channel.recipients._redis = redis
    handler = route(channel, ignore)
    data = dingtalk_body("你好", msg_id="latest-1")
    expires_ms = data["sessionWebhookExpiredTime"]
    answer = await call(handler, "POST", headers=dingtalk_headers(), body=json.dumps(data).encode())
    assert answer.status == 200
    await channel.drain()
    sender = channel.check_callback(dingtalk_headers(), json.dumps(data).encode()).message.sender_id
    output = latest_output(channel, sender)
    assert isinstance(output, dingtalk.DingTalkOutput)
    await output.send_response(sender, {"text": "人工客服：您好"})
    assert channel.http.calls[-1]["url"] == data["sessionWebhook"]
    assert channel.http.calls[-1]["json_body"] == {
        "msgtype": "text",
        "text": {"content": "人工客服：您好"},
    }
    # In Redis until the webhook expires: another Rasa instance sends there too.
    (key,) = redis.values
    assert key == f"shopmate:recipient:dingtalk:{sender}"
    assert 3590 <= redis.expiries[key] <= 3600, redis.expiries
    other = connector(dingtalk.DingTalkInput, DINGTALK_ENV, clock=lambda: now[0])
    other.recipients._redis = redis
    await other.get_output_channel().send_response(sender, {"text": "b"})
    assert other.http.calls[-1]["url"] == data["sessionWebhook"]
    # Redis down: what this process remembers.
    redis.down = True
    await channel.get_output_channel().send_response(sender, {"text": "c"})
    assert channel.http.calls[-1]["json_body"]["text"]["content"] == "c"
    redis.down = False
    # Expired, unknown, or a webhook that was never allowed: one line, nothing sent.
    calls = len(channel.http.calls)
    now[0] = expires_ms / 1000 + 1
    with Records("addons.platforms.dingtalk") as records:
        output = channel.get_output_channel()
        await output.send_response(sender, {"text": "d"})
        await output.send_response(sender, {"text": "e"})
        await channel.get_output_channel().send_response("dingtalk:cid1:nobody", {"text": "f"})
        redis.values[key] = json.dumps(
            {"webhook": "https://evil.example/robot", "expires_ms": expires_ms * 2}
        ).encode()
        await channel.get_output_channel().send_response(sender, {"text": "g"})
    assert len(channel.http.calls) == calls
    messages = [r.getMessage() for r in records]
    assert len(messages) == 3, messages
    assert all("no valid sessionWebhook" in m for m in messages), messages
    assert all("cid" not in m and "http" not in m and "manager7" not in m for m in messages)
    # A message without an expiry is answered, its webhook not kept for later.
    now[0] = time.time()
    fresh_channel = connector(dingtalk.DingTalkInput, DINGTALK_ENV)
    undated = {**dingtalk_body("你好", msg_id="latest-2")}
    undated.pop("sessionWebhookExpiredTime")
    verdict = fresh_channel.check_callback(dingtalk_headers(), json.dumps(undated).encode())
    assert verdict.message is not None
    assert verdict.message.target.expires_ms is None
    await fresh_channel.answer(fake_request(), verdict, ignore)
    await fresh_channel.drain()
    assert await fresh_channel.recipients.recall(verdict.message.sender_id) is None
    # The book is bounded: the oldest conversation goes first.
    moment = [0.0]
    book = RecipientBook("dingtalk", limit=2, clock=lambda: moment[0])
    for name in ("a", "b", "c"):
        await book.remember(name, name)
    assert [await book.recall(name) for name in ("a", "b", "c")] == [None, "b", "c"]
    await book.remember("d", ["chat_id", "d"], ttl_s=0.001)
    assert await book.recall("d") == ["chat_id", "d"], "kept at least a second"
    moment[0] += 1
    assert await book.recall("d") is None, "then forgotten"
    await book.remember("e", "e")
    moment[0] += RECIPIENT_TTL_S
    assert await book.recall("e") is None


async def check_latest_outputs() -> None:
    from addons.platforms import dingtalk, feishu, wecom
    from addons.settings import platform_settings

    for cls in (wecom.WeComInput, feishu.FeishuInput, dingtalk.DingTalkInput):
        off = cls(settings=platform_settings(cls.platform, {}), http=FakeHttp())
        assert off.get_output_channel() is None, cls
    broken = {**WECOM_ENV, "WECOM_AES_KEY": "short"}
    assert (
        wecom.WeComInput(
            settings=platform_settings("wecom", broken), http=FakeHttp()
        ).get_output_channel()
        is None
    )
    await check_latest_wecom()
    await check_latest_feishu()
    await check_latest_dingtalk()


# ---------------------------------------------------------------- what shoppers see


def sample_messages(language: str = "zh") -> list[dict[str, Any]]:
    """One turn as Rasa hands it to an output channel: two product cards (the second
    sold out), an order with its tracking, the satisfaction question, a question with
    buttons."""
    from shopmate import payloads

    products = [
        {
            "code": "P00001",
            "title": "红色连衣裙",
            "price": "¥199.00",
            "price_cents": 19900,
            "rating": 4.6,
            "image_url": "/img/P00001.svg",
            "url": "/product/P00001",
            "in_stock": True,
        },
        {
            "code": "P00002",
            "title": "黑色连衣裙",
            "price": "¥259.00",
            "price_cents": 25900,
            "rating": 4.2,
            "image_url": "/img/P00002.svg",
            "url": "/product/P00002",
            "in_stock": False,
        },
    ]
    order = {
        "number": "A1000003",
        "status": "shipped",
        "status_label": "已发货",
        "total": "¥299.00",
        "items": [{"title": "红色连衣裙", "quantity": 1}],
        "carrier": "顺丰",
        "tracking_number": "SF1",
        "timeline": [
            {"time": "06-01 10:00", "location": "上海", "description": "已揽收"},
            {"time": "06-02 08:00", "location": "北京", "description": "派送中"},
        ],
    }
    rating_buttons = [
        {"title": str(n), "payload": f'/rate_service{{"satisfaction": "{n}"}}'} for n in range(1, 6)
    ]
    return [
        {
            "text": "1. 红色连衣裙",
            "custom": payloads.custom(payloads.product_card(products[0], 1, 2, language)),
        },
        {
            "text": "2. 黑色连衣裙",
            "custom": payloads.custom(payloads.product_card(products[1], 2, 2, language)),
        },
        {
            "text": "订单 A1000003 已发货",
            "custom": payloads.custom(payloads.order_card(order, language)),
        },
        {"text": "请为这次服务打个分吧", "buttons": rating_buttons, "language": language},
        {
            "text": "还需要别的吗？",
            "buttons": [
                {"title": "是的", "payload": "/affirm"},
                {"title": "不用了", "payload": "/deny"},
            ],
        },
    ]


async def send_turn(output: Any) -> None:
    output.shop_url = "https://shop.example"
    for message in sample_messages():
        await output.send_response("sender", dict(message))
    await output.flush_shopmate("sender")


async def check_wecom_rendering() -> None:
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from addons.edge import offered_buttons
    from addons.platforms import wecom

    http = FakeHttp()
    api = wecom.WeComApi(connector(wecom.WeComInput, WECOM_ENV).settings, http)
    output = wecom.WeComOutput(api, "zhangsan")
    await send_turn(output)
    sent = [call["json_body"] for call in http.sent("/message/send")]
    assert all(body["touser"] == "zhangsan" and body["agentid"] == 1000002 for body in sent)
    news, choices, order, rating, question = sent
    assert news["msgtype"] == "news", news
    articles = news["news"]["articles"]
    assert [a["title"] for a in articles] == ["红色连衣裙", "黑色连衣裙"], articles
    assert articles[0]["url"] == "https://shop.example/product/P00001"
    assert articles[0]["picurl"] == "https://shop.example/img/P00001.svg"
    assert "¥199.00" in articles[0]["description"]
    assert "售罄" in articles[1]["description"]
    assert choices["text"]["content"] == "回复数字选择：\n1. 加入购物车 · 红色连衣裙", choices
    assert order["msgtype"] == "text"
    assert "订单 A1000003 已发货" in order["text"]["content"]
    assert "06-02 08:00 北京 派送中" in order["text"]["content"], order
    assert (
        rating["text"]["content"]
        == "请为这次服务打个分吧\n\n回复数字选择：\n2. 1\n3. 2\n4. 3\n5. 4\n6. 5"
    ), rating
    assert question["text"]["content"].endswith("7. 是的\n8. 不用了"), question
    # The numbers are the order WeComInput reads the offered buttons back in.
    events = [UserUttered("找连衣裙")]
    events += [
        BotUttered(m.get("text"), {"custom": m.get("custom"), "buttons": m.get("buttons")})
        for m in sample_messages()
    ]
    tracker = DialogueStateTracker.from_events("wecom:ww1234567890abcdef:zhangsan", events)
    offered = offered_buttons([event.as_dict() for event in tracker.events])
    assert next(b["payload"] for b in offered) == '/add_to_cart{"product_code":"P00001"}'
    assert offered[6]["payload"] == "/affirm", offered
    assert len(offered) == 8, offered
    channel = connector(wecom.WeComInput, WECOM_ENV)
    app = fake_request(tracker).app
    assert await channel.resolve_choice(app, tracker.sender_id, "1") == offered[0]["payload"]
    assert await channel.resolve_choice(app, tracker.sender_id, " 7 ") == "/affirm"
    assert await channel.resolve_choice(app, tracker.sender_id, "9") == "9"
    assert await channel.resolve_choice(app, tracker.sender_id, "1件") == "1件"
    # A score row alone reads as one line; long text is cut under WeCom's 2048 bytes.
    fresh_output = wecom.WeComOutput(api, "zhangsan")
    await fresh_output.send_response("s", dict(sample_messages()[3]))
    assert http.sent("/message/send")[-1]["json_body"]["text"]["content"].endswith("请回复数字 1-5")
    before = len(http.sent("/message/send"))
    await fresh_output.send_text_message("s", "很长的一段话。" * 400)
    pieces = [c["json_body"]["text"]["content"] for c in http.sent("/message/send")[before:]]
    assert len(pieces) == 5, [len(p.encode()) for p in pieces]
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "".join(pieces) == "很长的一段话。" * 400
    await fresh_output.send_image_url("s", "https://shop.example/a.png")
    assert (
        http.sent("/message/send")[-1]["json_body"]["news"]["articles"][0]["picurl"]
        == "https://shop.example/a.png"
    )


async def check_feishu_rendering() -> None:
    from addons.platforms import feishu

    http = FakeHttp()
    api = feishu.FeishuApi(connector(feishu.FeishuInput, FEISHU_ENV).settings, http)
    output = feishu.FeishuOutput(api, ("open_id", "ou_abc123"))
    await send_turn(output)
    sent = http.sent("/im/v1/messages")
    assert all(call["params"] == {"receive_id_type": "open_id"} for call in sent)
    assert all(call["json_body"]["receive_id"] == "ou_abc123" for call in sent)
    assert [call["json_body"]["msg_type"] for call in sent] == ["interactive"] * 4
    cards = [json.loads(call["json_body"]["content"]) for call in sent]
    products, order, rating, question = cards
    assert products["header"]["title"]["content"] == "为您找到这些商品"
    texts = [e["text"]["content"] for e in products["elements"] if e["tag"] == "div"]
    assert texts[0].startswith("1. 红色连衣裙 · ¥199.00"), texts
    assert "售罄" in texts[1], texts
    buttons = [b for e in products["elements"] if e["tag"] == "action" for b in e["actions"]]
    assert buttons[0]["value"] == {"payload": '/add_to_cart{"product_code":"P00001"}'}, buttons
    assert buttons[0]["text"]["content"] == "加入购物车"
    assert buttons[1]["url"] == "https://shop.example/product/P00001"
    assert "value" not in buttons[2], "a sold-out product has no cart button"
    assert len(buttons) == 3, buttons
    assert "订单 A1000003" in order["header"]["title"]["content"]
    order_text = "\n".join(e["text"]["content"] for e in order["elements"] if e["tag"] == "div")
    assert "06-01 10:00 上海 已揽收" in order_text
    assert "订单 A1000003 已发货" in order_text
    scores = [
        b["value"]["payload"]
        for e in rating["elements"]
        if e["tag"] == "action"
        for b in e["actions"]
    ]
    assert scores[0] == '/rate_service{"satisfaction": "1"}'
    assert len(scores) == 5
    assert [b["text"]["content"] for b in question["elements"][1]["actions"]] == ["是的", "不用了"]
    await output.send_text_message("s", 'hi <at user_id="all"></at>')
    assert json.loads(http.sent("/im/v1/messages")[-1]["json_body"]["content"])["text"].startswith(
        "hi ＜at"
    )


async def check_dingtalk_rendering() -> None:
    from addons.platforms import dingtalk

    http = FakeHttp()
    webhook = "https://oapi.dingtalk.com/robot/sendBySession?session=abc"
    api = dingtalk.DingTalkApi(connector(dingtalk.DingTalkInput, DINGTALK_ENV).settings, http)
    output = dingtalk.DingTalkOutput(api, webhook)
    await send_turn(output)
    sent = [call["json_body"] for call in http.calls]
    assert all(call["url"] == webhook for call in http.calls)
    products, order, rating, question = sent
    assert products["msgtype"] == "actionCard", products
    card = products["actionCard"]
    assert "红色连衣裙" in card["text"]
    assert "![" in card["text"]
    assert "https://shop.example/img/P00001.svg" in card["text"]
    payload = '/add_to_cart{"product_code":"P00001"}'
    assert card["btns"] == [
        {
            "title": "1. 加入购物车",
            "actionURL": "dtmd://dingtalkclient/sendMessage?content=" + quote(payload, safe=""),
        }
    ], card["btns"]
    assert order["msgtype"] == "markdown"
    assert "A1000003" in order["markdown"]["title"]
    assert "派送中" in order["markdown"]["text"]
    assert "已揽收" in order["markdown"]["text"]
    assert rating["msgtype"] == "actionCard"
    assert rating["actionCard"]["btnOrientation"] == "1"
    assert len(rating["actionCard"]["btns"]) == 5
    assert [b["title"] for b in question["actionCard"]["btns"]] == ["是的", "不用了"]
    assert question["actionCard"]["btns"][0]["actionURL"].endswith(quote("/affirm", safe=""))


def check_split() -> None:
    from addons.platforms.china_common import id_part, split_utf8

    assert split_utf8("短", 10) == ["短"]
    pieces = split_utf8("第一行\n第二行\n第三行", 20)
    assert pieces == ["第一行\n第二行", "第三行"], pieces
    assert id_part("ou_abc") == "ou_abc"
    assert id_part("$:LWCP_v1:$x").startswith("h")


def aes_cbc_cli() -> None:
    """stdin: [{"key", "iv", "data"} base64 each, data padded]; stdout: [ciphertext b64]."""
    requests = json.load(sys.stdin)
    out = [
        base64.b64encode(
            aes_cbc(
                base64.b64decode(r["key"]), base64.b64decode(r["iv"]), base64.b64decode(r["data"])
            )
        ).decode()
        for r in requests
    ]
    json.dump(out, sys.stdout)


def main() -> None:
    check_wecom_vectors()
    check_wecom_callbacks()
    check_feishu()
    check_dingtalk()
    check_split()
    asyncio.run(check_turns_and_dedupe())
    asyncio.run(check_routes())
    asyncio.run(check_tokens())
    asyncio.run(check_wecom_rendering())
    asyncio.run(check_feishu_rendering())
    asyncio.run(check_dingtalk_rendering())
    asyncio.run(check_latest_outputs())
    print("platforms china: ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["aes-cbc"]:
        aes_cbc_cli()
    else:
        main()
