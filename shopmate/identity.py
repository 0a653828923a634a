"""Who is asking: a signed customer token, or an order number plus phone digits.

Identity never comes from the conversation id or from what the shopper types about
themselves. A logged-in shopper's page passes a short-lived HS256 JWT (signed by the
shop's server with CUSTOMER_TOKEN_SECRET) in the message metadata; a guest proves an
order by its number and the phone on it. A token names the conversation it was
issued for (`sid`): copied into another conversation it proves nothing.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

AUDIENCE = "shopmate"
ALGORITHM = "HS256"
ORDER_NUMBER = re.compile(r"^[A-Z]\d{7}$")


class IdentityError(Exception):
    """A token that is missing, forged, tampered with or expired."""


@dataclass(frozen=True)
class CustomerTokens:
    """Signs (for the demo page's server) and verifies customer tokens."""

    secret: str
    lifetime: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ValueError("CUSTOMER_TOKEN_SECRET must be at least 32 characters")

    def sign(self, customer_id: int, session: str, now: datetime | None = None) -> str:
        """A token for `customer_id` in the conversation `session` only."""
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(customer_id),
            "sid": session,
            "aud": AUDIENCE,
            "iat": int(issued.timestamp()),
            "exp": int((issued + self.lifetime).timestamp()),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: object, session: str) -> int:
        """The customer id the token names for conversation `session`; IdentityError
        for anything else (forged, tampered, expired, or issued for another one)."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise IdentityError("no token")
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],  # never "none", never a key-confusion algorithm
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "iat", "aud", "sid"]},
            )
            if not hmac.compare_digest(str(claims["sid"]).encode(), session.encode()):
                raise IdentityError("issued for another conversation")
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError) as error:
            raise IdentityError(type(error).__name__) from error


def normalize_order_number(text: str) -> str | None:
    """'a1234567', ' A-1234567 ' → 'A1234567'; None when it cannot be an order number."""
    candidate = re.sub(r"[\s\-#]", "", text or "").upper()
    return candidate if ORDER_NUMBER.match(candidate) else None


def phone_digits(text: str) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def phone_matches(given: str, on_file: str) -> bool:
    """The full number or its last 4 digits, compared in constant time."""
    given_digits, file_digits = phone_digits(given), phone_digits(on_file)
    if len(given_digits) < 4 or not file_digits:
        return False
    expected = file_digits[-4:] if len(given_digits) == 4 else file_digits
    if len(given_digits) > 4:
        # Accept a country prefix the shopper adds or leaves out (+86 138...).
        given_digits = given_digits[-len(file_digits) :]
    return hmac.compare_digest(given_digits.encode(), expected.encode())
