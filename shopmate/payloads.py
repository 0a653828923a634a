"""ShopMate's one rich-message schema, emitted by the actions, rendered by every channel.

An action sends the text line every channel can show (from the domain's responses,
both languages) and, beside it, a custom payload `{"shopmate": {...}}` that a channel
renders as well as it can: the web widget as cards with images and buttons, Telegram
as photos with inline keyboards, Slack as blocks, Messenger as generic templates, WeCom,
Feishu and DingTalk as cards or markdown, text-only channels (rasa shell) as the text
line alone. docs/channels.md shows what each one displays.

Types (`"v": 1` on every payload):

- ``product_card``: ``product`` (code, title, price, price_cents, rating, image_url,
  url, in_stock), ``position`` and ``count`` in the list it belongs to (a channel that
  shows carousels collects positions 1..count into one), ``buttons`` (add to cart).
- ``order_card``: ``order`` (number, status, status_label, placed_at, total, items:
  [{title, quantity}], carrier, tracking_number, ``timeline``: [{time, location,
  description}] oldest first).
- ``rating``: a 1..``scale`` satisfaction question; its ``buttons`` are the answers.
- ``carousel``: ``items`` (products as in product_card) with ``buttons`` per item; built
  by the channels from consecutive product cards (`Carousel`), never sent by actions.

Buttons are Rasa's own ``{"title", "payload"}``. Standard library only: the Rasa runtime
(Python 3.10) imports this module for its channels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
KEY = "shopmate"
TYPES = frozenset({"product_card", "order_card", "rating", "carousel"})

Button = dict[str, str]
Payload = dict[str, Any]

ADD_TO_CART = {"zh": "加入购物车", "en": "Add to cart"}
VIEW_IMAGE = {"zh": "查看图片", "en": "View image"}
SOLD_OUT = {"zh": "售罄", "en": "sold out"}
TIMELINE = {"zh": "物流", "en": "Tracking"}


def _lang(language: str | None) -> str:
    return "en" if language == "en" else "zh"


def add_to_cart_button(code: str, language: str) -> Button:
    """The button that puts this product in the cart, whatever was shown since."""
    return {
        "title": ADD_TO_CART[_lang(language)],
        "payload": "/add_to_cart" + json.dumps({"product_code": code}, separators=(",", ":")),
    }


def product_card(product: Mapping[str, Any], position: int, count: int, language: str) -> Payload:
    """One product of a list of `count`; sold-out products get no cart button."""
    buttons = (
        [add_to_cart_button(str(product["code"]), language)]
        if product.get("in_stock", True)
        else []
    )
    return {
        "v": VERSION,
        "type": "product_card",
        "language": _lang(language),
        "product": dict(product),
        "position": position,
        "count": count,
        "buttons": buttons,
    }


def order_card(order: Mapping[str, Any], language: str) -> Payload:
    return {"v": VERSION, "type": "order_card", "language": _lang(language), "order": dict(order)}


def rating(buttons: Sequence[Mapping[str, str]], language: str, scale: int = 5) -> Payload:
    return {
        "v": VERSION,
        "type": "rating",
        "language": _lang(language),
        "scale": scale,
        "buttons": [dict(button) for button in buttons],
    }


def custom(payload: Payload) -> dict[str, Any]:
    """What an action passes as `json_message`."""
    return {KEY: payload}


def extract(message_custom: Any) -> Payload | None:
    """The ShopMate payload in a bot message's `custom` (also inside Socket.IO's "data"
    wrapper), or None for anything else: channels then keep Rasa's own handling."""
    if not isinstance(message_custom, Mapping):
        return None
    inner = message_custom.get(KEY)
    if inner is None and isinstance(message_custom.get("data"), Mapping):
        inner = message_custom["data"].get(KEY)
    if not isinstance(inner, Mapping) or inner.get("type") not in TYPES:
        return None
    return dict(inner)


def button_id(payload: str) -> str:
    """A short, stable id for a button payload: platforms that bound a button's data
    (Telegram: 64 bytes; a Chinese title is 3 bytes a character) carry this instead,
    and the channel maps it back to the payload the bot offered."""
    return "sm:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def resolve_button_id(short: str, offered: Iterable[str]) -> str | None:
    """The offered payload whose `button_id` is `short`, or None (stale or forged)."""
    for payload in offered:
        if button_id(payload) == short:
            return payload
    return None


@dataclass
class Carousel:
    """Collects consecutive product cards of one reply into one carousel payload:
    `add` returns the carousel once the last position has arrived (or at once for a
    list of one), None while it is still filling."""

    items: list[Payload] = field(default_factory=list)

    def add(self, payload: Payload) -> Payload | None:
        if payload.get("type") != "product_card":
            return None
        if int(payload.get("position", 1)) == 1:
            self.items = []
        self.items.append(payload)
        if int(payload.get("position", 1)) < int(payload.get("count", 1)):
            return None
        items, self.items = self.items, []
        return {
            "v": VERSION,
            "type": "carousel",
            "language": items[-1].get("language", "zh"),
            "items": [dict(item["product"], buttons=item.get("buttons", [])) for item in items],
        }

    def pending(self) -> Payload | None:
        """What was collected but never completed (a reply cut short), as a carousel."""
        if not self.items:
            return None
        items, self.items = self.items, []
        return {
            "v": VERSION,
            "type": "carousel",
            "language": items[-1].get("language", "zh"),
            "items": [dict(item["product"], buttons=item.get("buttons", [])) for item in items],
        }


def product_line(product: Mapping[str, Any], language: str) -> str:
    lang = _lang(language)
    parts = [str(product.get("title", "")), str(product.get("price", ""))]
    if isinstance(product.get("rating"), (int, float)):
        parts.append(f"★ {float(product['rating']):.1f}")
    if product.get("in_stock") is False:
        parts.append(SOLD_OUT[lang])
    return " · ".join(part for part in parts if part)


def timeline_lines(order: Mapping[str, Any]) -> list[str]:
    lines = []
    for step in order.get("timeline") or []:
        where = f" {step.get('location')}" if step.get("location") else ""
        lines.append(f"{step.get('time', '')}{where} {step.get('description', '')}".strip())
    return lines


def as_text(payload: Payload, language: str | None = None) -> str:
    """Plain text for channels that show no cards (and for screen readers' summaries)."""
    lang = _lang(language or payload.get("language"))
    kind = payload.get("type")
    if kind == "product_card":
        return product_line(payload.get("product", {}), lang)
    if kind == "carousel":
        return "\n".join(
            f"{index}. {product_line(item, lang)}"
            for index, item in enumerate(payload.get("items", []), start=1)
        )
    if kind == "order_card":
        order = payload.get("order", {})
        head = f"{order.get('number', '')} · {order.get('status_label', '')}".strip(" ·")
        lines = [head]
        if order.get("total"):
            lines.append(str(order["total"]))
        steps = timeline_lines(order)
        if steps:
            lines.append(f"{TIMELINE[lang]}:")
            lines.extend(f"- {line}" for line in steps)
        return "\n".join(lines)
    if kind == "rating":
        return " / ".join(str(button.get("title", "")) for button in payload.get("buttons", []))
    return ""


# What makes links, emphasis, code, headings or HTML. "." and "-" stay as they are: prices
# ("¥100.00") and dates must read plainly, and some renderers (DingTalk) show the backslash.
MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()#!|<>~")


def markdown_escape(text: str) -> str:
    """Text safe inside markdown (DingTalk, Feishu, Slack mrkdwn): no links or markup
    the shopper or a product title could inject."""
    out = []
    for char in str(text):
        out.append("\\" + char if char in MARKDOWN_SPECIALS else char)
    return "".join(out)


def as_markdown(payload: Payload, language: str | None = None) -> str:
    """Markdown for platforms that render it (DingTalk, Feishu, WeCom markdown):
    titles bold, images as image links (only http(s)), lists as lines."""
    lang = _lang(language or payload.get("language"))
    kind = payload.get("type")

    def product_md(product: Mapping[str, Any], index: int | None = None) -> str:
        prefix = f"{index}. " if index else ""
        line = f"{prefix}**{markdown_escape(str(product.get('title', '')))}** " + markdown_escape(
            " · ".join(product_line(product, lang).split(" · ")[1:])
        )
        image = safe_url(product.get("image_url"))
        return line + (
            f"\n![{markdown_escape(str(product.get('title', '')))}]({image})" if image else ""
        )

    if kind == "product_card":
        return product_md(payload.get("product", {}))
    if kind == "carousel":
        return "\n\n".join(
            product_md(item, index) for index, item in enumerate(payload.get("items", []), start=1)
        )
    if kind == "order_card":
        order = payload.get("order", {})
        lines = [
            f"**{markdown_escape(str(order.get('number', '')))}** "
            + markdown_escape(str(order.get("status_label", "")))
        ]
        if order.get("total"):
            lines.append(markdown_escape(str(order["total"])))
        for step in timeline_lines(order):
            lines.append("- " + markdown_escape(step))
        return "\n".join(lines)
    return markdown_escape(as_text(payload, lang))


def safe_url(value: Any) -> str | None:
    """Only absolute http(s) URLs without spaces or quotes leave ShopMate in a card."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not (url.startswith("https://") or url.startswith("http://")):
        return None
    if any(char in url for char in " \"'<>\\`\n\r\t"):
        return None
    return url


def absolute(url: Any, base: str) -> Any:
    """`url` joined to the shop's public address when it is a path ("/img/P1.svg"),
    as the catalog stores images the shop serves itself; anything else unchanged."""
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//") and base:
        return base.rstrip("/") + url
    return url


def with_absolute_urls(payload: Payload, base: str) -> Payload:
    """A copy of `payload` whose product images and links are absolute (platforms
    fetch images from their own servers, so a path means nothing to them)."""

    def fix(product: Mapping[str, Any]) -> dict[str, Any]:
        fixed = dict(product)
        for key in ("image_url", "url"):
            if key in fixed:
                fixed[key] = absolute(fixed[key], base)
        return fixed

    copy = dict(payload)
    if "product" in copy:
        copy["product"] = fix(copy["product"])
    if "items" in copy:
        copy["items"] = [fix(item) for item in copy["items"]]
    return copy


RATING_INTENT = "/rate_service"


def rating_from_buttons(buttons: Any, language: str | None) -> Payload | None:
    """The satisfaction question (domain response utter_ask_rating: buttons whose
    payloads all rate the service) as a rating payload, so every channel can show it
    as stars or a score row; None for any other set of buttons."""
    if not isinstance(buttons, list) or not buttons:
        return None
    if not all(
        isinstance(b, Mapping) and str(b.get("payload", "")).startswith(RATING_INTENT)
        for b in buttons
    ):
        return None
    return rating(buttons, language or "zh", scale=len(buttons))


def buttons_of(payload: Payload) -> list[Button]:
    """Every button a payload offers (a carousel's per item, in order)."""
    if payload.get("type") == "carousel":
        return [
            dict(button) for item in payload.get("items", []) for button in item.get("buttons", [])
        ]
    return [dict(button) for button in payload.get("buttons", [])]
