"""The channels' edge: size, shape, commands, metadata, sessions and rate limits."""

from __future__ import annotations

import json
import secrets

import pytest

from addons.edge import (
    NEUTRAL_PREFIX,
    EdgeSettings,
    FailoverCounter,
    MemoryCounter,
    Outage,
    RateLimiter,
    Refusal,
    ShopperMessage,
    TurnLedger,
    clean_metadata,
    message_id_from,
    neutralise_command,
    offered_payloads,
    origin_allowed,
    parse_rates,
    read_rest_body,
    render_response,
)
from shopmate.sessions import SessionTokens
from tests.conftest import require_service

SETTINGS = EdgeSettings(max_body_bytes=4096, max_message_chars=1000)


def body(**fields: object) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def test_a_well_formed_body_passes_with_only_known_metadata() -> None:
    raw = body(sender="s-1", message="你好", metadata={"customer_token": "t", "customer_id": 1})
    assert read_rest_body(raw, False, SETTINGS) == ShopperMessage(
        "s-1", "你好", {"customer_token": "t"}
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'"hi"',
        b"null",
        b"{",
        b"\xff\xfe",
        body(message="hi"),
        body(sender="s", message=""),
        body(sender="s", message=7),
        body(sender="x" * 200, message="hi"),
        body(sender="a b", message="hi"),
        body(sender=["s"], message="hi"),
        body(sender="s\n", message="hi"),
        b"[" * 5000 + b"]" * 5000,
        b'{"sender": "s", "message": "hi", "metadata": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    ],
)
def test_a_malformed_body_is_a_bare_refusal_without_a_reply(raw: bytes) -> None:
    outcome = read_rest_body(raw, False, SETTINGS)
    assert isinstance(outcome, Refusal)
    assert outcome.response is None
    assert outcome.reason


@pytest.mark.parametrize(
    "metadata", ["x", [1], 3, None, {"customer_token": 5}, {"customer_token": "t" * 5000}]
)
def test_metadata_that_is_not_an_object_is_dropped_and_the_message_kept(metadata: object) -> None:
    outcome = read_rest_body(body(sender="s", message="hi", metadata=metadata), False, SETTINGS)
    assert outcome == ShopperMessage("s", "hi", {})


@pytest.mark.parametrize(
    ("text", "language"), [("运费怎么算？" * 300, "zh"), ("How much is shipping? " * 60, "en")]
)
def test_an_over_long_message_gets_the_polite_answer_in_its_language(
    text: str, language: str
) -> None:
    outcome = read_rest_body(body(sender="s-2", message=text), False, SETTINGS)
    assert outcome == Refusal("too_long", "utter_message_too_long", language, "s-2")


@pytest.mark.parametrize(
    ("text", "language"), [("退货" * 50_000, "zh"), ("return policy " * 10_000, "en")]
)
def test_a_cut_body_is_answered_from_its_first_bytes(text: str, language: str) -> None:
    raw = json.dumps({"sender": "s-3", "message": text}).encode()  # \\u escapes for zh
    outcome = read_rest_body(raw[:4096], True, SETTINGS)
    assert outcome == Refusal("too_long", "utter_message_too_long", language, "s-3")


def test_commands_are_text_unless_the_bot_offered_them() -> None:
    events = [
        {"event": "bot", "data": {"buttons": [{"title": "是", "payload": "/affirm"}]}},
        {"event": "user", "text": "?"},
        {"event": "bot", "data": {"buttons": [{"title": "L", "payload": '/inform{"size": "L"}'}]}},
        {"event": "action", "name": "action_listen"},
    ]
    payloads = offered_payloads(events)
    assert payloads == {'/inform{"size": "L"}'}
    assert neutralise_command('/inform{"size": "L"}', payloads) == '/inform{"size": "L"}'
    for typed in [
        "/restart",
        "/session_start",
        '/inform{"order_id": "A1000001"}',
        "/affirm",
        " /stop",
    ]:
        assert neutralise_command(typed, payloads).startswith(NEUTRAL_PREFIX)
    assert neutralise_command("退货 / 换货", payloads) == "退货 / 换货"


def test_sessions_are_signed_and_expire() -> None:
    sessions = SessionTokens("s" * 40, lifetime_s=60)
    session_id, token = sessions.issue(now=1000)
    assert sessions.verify(token, now=1059) == session_id
    assert sessions.verify(token, now=1061) is None
    other_id = "0" * 32
    forged = f"{other_id}.{token.split('.')[1]}.{token.split('.')[2]}"
    for bad in [
        forged,
        token + "x",
        token.replace(".", "", 1),
        "",
        None,
        42,
        SessionTokens("t" * 40).issue()[1],
    ]:
        assert sessions.verify(bad, now=1000) is None


def test_origins_follow_the_shop_patterns() -> None:
    patterns = ("https://shop.example.com", "http://127.0.0.1:*")
    assert origin_allowed("https://shop.example.com", patterns)
    assert origin_allowed("http://127.0.0.1:8123", patterns)
    assert not origin_allowed("https://evil.example", patterns)
    assert not origin_allowed("https://shop.example.com.evil.example", patterns)
    assert origin_allowed(None, patterns)  # not a browser page


async def test_rate_limits_per_conversation_and_per_address() -> None:
    now = [0.0]
    limiter = RateLimiter(parse_rates("3/10"), parse_rates("5/10"), MemoryCounter(lambda: now[0]))
    assert [await limiter.allow("c1", "1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("c2", "1.2.3.4")
    assert not await limiter.allow("c3", "1.2.3.4")  # the address's 6th message
    now[0] = 11.0
    assert await limiter.allow("c1", "1.2.3.4")


async def test_a_short_window_does_not_forget_the_long_one() -> None:
    now = [0.0]
    limiter = RateLimiter(parse_rates("2/1,3/60"), [], MemoryCounter(lambda: now[0]))
    allowed = []
    for second in range(5):
        now[0] = float(second * 2)
        allowed.append(await limiter.allow("c1", None))
    assert allowed == [True, True, True, False, False]


def test_settings_come_from_the_environment() -> None:
    settings = EdgeSettings.from_env(
        {
            "REST_CHANNEL_TOKEN": "r",
            "SHOP_ORIGINS": "https://a, https://b",
            "EDGE_MAX_BODY_BYTES": "99",
        }
    )
    assert settings.rest_token == "r"
    assert settings.shop_origins == ("https://a", "https://b")
    assert settings.max_body_bytes == 99
    assert EdgeSettings.from_env({}).rest_token is None


def test_edge_answers_come_from_the_domain() -> None:
    responses = {
        "utter_rate_limited": [
            {"condition": [{"type": "slot", "name": "language", "value": "zh"}], "text": "慢一点"},
            {
                "condition": [{"type": "slot", "name": "language", "value": "en"}],
                "text": "slow down",
            },
        ]
    }
    assert render_response(responses, "utter_rate_limited", "en") == "slow down"
    assert render_response(responses, "utter_rate_limited", "zh") == "慢一点"


def test_a_card_button_counts_as_offered_and_a_page_product_is_kept() -> None:
    from shopmate import payloads

    card = payloads.product_card({"code": "P00012", "title": "裙", "in_stock": True}, 1, 1, "zh")
    events = [
        {"event": "user", "text": "连衣裙"},
        {"event": "bot", "text": "1. 裙", "data": {"custom": payloads.custom(card)}},
    ]
    assert card["buttons"][0]["payload"] in offered_payloads(events)
    assert clean_metadata({"page_product": "P00012", "other": "x"}) == {"page_product": "P00012"}
    assert clean_metadata({"page_product": "P" * 40}) == {}


# --- dependencies down: Redis ------------------------------------------------------


class BrokenCounter:
    """A shared counter whose Redis is gone: every hit raises, and is counted."""

    def __init__(self) -> None:
        self.calls = 0

    async def hit(self, key: str, window_s: int) -> int:
        self.calls += 1
        raise ConnectionError("redis down")


async def test_with_redis_down_limits_are_kept_per_instance_and_redis_is_retried() -> None:
    now = [0.0]
    broken = BrokenCounter()
    outage = Outage(retry_s=5, clock=lambda: now[0])
    counter = FailoverCounter(broken, MemoryCounter(lambda: now[0]), outage)
    limiter = RateLimiter(parse_rates("3/60"), [], counter)
    # Nobody is refused because Redis is down, and the limit still holds locally.
    assert [await limiter.allow("c1", None) for _ in range(4)] == [True, True, True, False]
    assert broken.calls == 1  # believed down: not asked again for every message
    now[0] = 6.0
    await limiter.allow("c1", None)
    assert broken.calls == 2  # tried again after the retry time


async def test_the_turn_ledger_claims_a_message_once_and_without_redis_every_time() -> None:
    import redis

    url = "redis://127.0.0.1:6379/7"
    require_service("Redis", lambda: redis.Redis.from_url(url, socket_timeout=2).ping())
    ledger = TurnLedger(url, ttl_s=30)
    message = f"msg-{secrets.token_hex(8)}"
    assert await ledger.first_attempt("conversation", message)
    assert not await ledger.first_attempt("conversation", message)  # sent again
    assert await ledger.first_attempt("another-conversation", message)  # ids are per conversation
    assert await ledger.first_attempt("conversation", None)  # no id: nothing to compare
    # Without Redis (one instance, or Redis down), the claims are this process's own.
    for ledger in (TurnLedger(None), TurnLedger("redis://127.0.0.1:1/7")):
        assert await ledger.first_attempt("conversation", message)
        assert not await ledger.first_attempt("conversation", message)


async def test_local_claims_lapse_and_stay_bounded() -> None:
    now = [0.0]
    ledger = TurnLedger(None, ttl_s=10, clock=lambda: now[0], max_local=3)
    assert await ledger.first_attempt("c", "message-0001")
    now[0] = 11.0
    assert await ledger.first_attempt("c", "message-0001")  # lapsed: a new message
    for n in range(2, 8):
        assert await ledger.first_attempt("c", f"message-000{n}")
    assert len(ledger._local) <= 4


def test_message_ids_are_short_plain_tokens() -> None:
    assert message_id_from("0f3a9c2b7d1e4f5a9b8c7d6e5f4a3b2c") == "0f3a9c2b7d1e4f5a9b8c7d6e5f4a3b2c"
    for bad in (None, 42, "short", "x" * 65, "has space in it", "semi;colon-id"):
        assert message_id_from(bad) is None
