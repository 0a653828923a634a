"""Customer tokens and guest proof of an order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shopmate.identity import (
    CustomerTokens,
    IdentityError,
    normalize_order_number,
    phone_matches,
)

SECRET = "s" * 40
SESSION = "conversation-1"


@pytest.fixture
def tokens() -> CustomerTokens:
    return CustomerTokens(SECRET)


def test_a_signed_token_names_its_customer(tokens: CustomerTokens) -> None:
    assert tokens.verify(tokens.sign(42, SESSION), SESSION) == 42


def test_a_token_proves_nothing_in_another_conversation(tokens: CustomerTokens) -> None:
    token = tokens.sign(42, SESSION)
    with pytest.raises(IdentityError, match="another conversation"):
        tokens.verify(token, "conversation-2")


def test_a_token_without_a_conversation_is_refused(tokens: CustomerTokens) -> None:
    unbound = jwt.encode({"sub": "42", "aud": "shopmate", "iat": 0, "exp": 2**40}, SECRET)
    with pytest.raises(IdentityError):
        tokens.verify(unbound, SESSION)


def test_an_expired_token_is_refused(tokens: CustomerTokens) -> None:
    old = tokens.sign(42, SESSION, now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(IdentityError):
        tokens.verify(old, SESSION)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: jwt.encode({"sub": "7", "aud": "shopmate", "iat": 0, "exp": 2**40}, "x" * 40),
        lambda t: jwt.encode(
            {"sub": "7", "aud": "shopmate", "iat": 0, "exp": 2**40}, None, algorithm="none"
        ),
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.split(".")[0] + "." + t.split(".")[1][::-1] + "." + t.split(".")[2],
        lambda t: jwt.encode({"sub": "7", "iat": 0, "exp": 2**40}, SECRET),
        lambda t: jwt.encode({"sub": "7", "aud": "other", "iat": 0, "exp": 2**40}, SECRET),
        lambda t: jwt.encode({"sub": "7", "aud": "shopmate", "iat": 0}, SECRET),
        lambda t: "",
        lambda t: None,
        lambda t: 42,
        lambda t: "a" * 5000,
    ],
)
def test_forged_tampered_or_incomplete_tokens_are_refused(tokens: CustomerTokens, forge) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdentityError):
        tokens.verify(forge(tokens.sign(42, SESSION)), SESSION)


def test_a_short_secret_is_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="32"):
        CustomerTokens("short")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A1234567", "A1234567"),
        ("a1234567", "A1234567"),
        (" A-123 4567 ", "A1234567"),
        ("#A1234567", "A1234567"),
        ("A123456", None),
        ("A12345678", None),
        ("1234567", None),
        ("A1234567' OR '1'='1", None),
        ("", None),
    ],
)
def test_order_numbers_are_normalised_or_rejected(text: str, expected: str | None) -> None:
    assert normalize_order_number(text) == expected


@pytest.mark.parametrize(
    ("given", "on_file", "ok"),
    [
        ("5678", "13812345678", True),
        ("13812345678", "13812345678", True),
        ("+86 138-1234-5678", "13812345678", True),
        ("138 1234 5678", "13812345678", True),
        ("5679", "13812345678", False),
        ("678", "13812345678", False),
        ("12345678", "13812345678", False),
        ("", "13812345678", False),
        ("5678", "", False),
    ],
)
def test_phone_matches_full_number_or_last_four(given: str, on_file: str, ok: bool) -> None:
    assert phone_matches(given, on_file) is ok
