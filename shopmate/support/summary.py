"""The few lines an agent reads before the transcript, from facts only."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shopmate.support.transcript import SHOPPER

LAST_MESSAGES = 3
MESSAGE_CHARS = 120


def template_summary(
    transcript: list[dict[str, Any]],
    *,
    trigger: str,
    language: str,
    orders: list[str],
    customer_id: int | None,
    sentiment: str,
) -> str:
    """ "Why, who, which orders, what they asked, what they said last": no model, so
    nothing in it can be invented."""
    said = [line for line in transcript if line.get("role") == SHOPPER]
    intents = Counter(str(line["intent"]) for line in said if line.get("intent"))
    last = [str(line["text"])[:MESSAGE_CHARS] for line in said[-LAST_MESSAGES:]]
    who = f"customer #{customer_id} (signed in)" if customer_id is not None else "guest"
    parts = [
        f"Trigger: {trigger}",
        f"Shopper: {who}, language {language}, mood {sentiment}",
        f"Orders proved: {', '.join(orders) if orders else 'none'}",
        "Asked about: "
        + (
            ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in intents.most_common(4))
            or "nothing yet"
        ),
        "Last messages: " + (" / ".join(f"“{text}”" for text in last) or "none"),
    ]
    return "\n".join(parts)
