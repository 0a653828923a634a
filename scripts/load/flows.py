"""Scripted shoppers as data: the conversations a load run replays, and what each turn
must show the shopper (a failed check is an error of that turn, with its reason).

A flow is a list of steps. A step says a text (with `{order}` for one of the signed-in
shopper's order numbers) or clicks a button the bot offered in the previous reply
(sending its payload, as the widget does). Checks are kinds of answer that stay the same
however the catalog or the wording changes: a non-empty reply; product cards; buttons;
the order number in the answer; the reply's language. Replies are read in both shapes:
REST (`buttons`, `custom: {"shopmate": product_card}`) and Socket.IO (`quick_replies`,
`shopmate: carousel`).

ShopMate's flows are half Chinese, half English: product search → refine → add to cart
(clicking a size the bot offers), order status for a signed-in shopper (a customer token
signed with CUSTOMER_TOKEN_SECRET for that conversation, as the shop's server sends it),
store policy questions, small talk. The stock `rasa init` bot gets its own small talk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopmate import payloads

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

# Check names (Step.expect).
TEXT = "text"  # at least one message with non-empty text (or a rich payload)
CARDS = "cards"  # at least one product card
BUTTONS = "buttons"  # at least one button offered (message buttons or a card's)
ORDER = "order"  # the order number asked about appears in the reply
LANGUAGE = "language"  # the reply is in the flow's language
CART = "cart"  # the reply asks which variant (buttons) or speaks of the cart
ADDED = "added"  # the reply says the cart now holds it (mentions the cart)
CART_WORDS = re.compile(r"购物车|\bcart\b", re.IGNORECASE)


# --- reading replies (REST and Socket.IO shapes) ---------------------------------------


def rich_payloads(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """ShopMate payloads of the messages: REST's `custom`, Socket.IO's `shopmate` key."""
    found = []
    for message in messages:
        payload = payloads.extract(message.get("custom"))
        if payload is None and isinstance(message.get(payloads.KEY), Mapping):
            payload = payloads.extract({payloads.KEY: message[payloads.KEY]})
        if payload is not None:
            found.append(payload)
    return found


def texts(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every text line of the reply, the text lines of rich payloads included."""
    lines = []
    for message in messages:
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            lines.append(text)
    for payload in rich_payloads(messages):
        line = payloads.as_text(payload)
        if line:
            lines.append(line)
    return lines


def product_cards(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The products shown: product cards (REST) or a carousel's items (Socket.IO)."""
    products: list[dict[str, Any]] = []
    for payload in rich_payloads(messages):
        if payload.get("type") == "product_card":
            products.append(dict(payload.get("product") or {}))
        elif payload.get("type") == "carousel":
            products.extend(dict(item) for item in payload.get("items") or [])
    return products


def offered_buttons(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Buttons offered, in order: a message's own (REST `buttons`, Socket.IO
    `quick_replies`), then those of its rich payloads (a card's add-to-cart)."""
    buttons: list[dict[str, str]] = []
    for message in messages:
        for button in message.get("buttons") or message.get("quick_replies") or []:
            if isinstance(button, Mapping) and isinstance(button.get("payload"), str):
                buttons.append(
                    {"title": str(button.get("title", "")), "payload": button["payload"]}
                )
    for payload in rich_payloads(messages):
        buttons.extend(payloads.buttons_of(payload))
    return buttons


def language_of(lines: Iterable[str]) -> str | None:
    """zh when Chinese characters are at least a quarter of the Latin letters (a Chinese
    character says about what a word does), en when there are Latin words; None when
    neither (a price, an emoji)."""
    joined = " ".join(lines)
    chinese = len(CJK.findall(joined))
    latin = sum(len(word) for word in LATIN_WORD.findall(joined))
    if chinese and chinese * 4 >= latin:
        return "zh"
    if latin:
        return "en"
    return None


def message_lines(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The bot's own text lines (what the language check reads: not product titles)."""
    return [m["text"] for m in messages if isinstance(m.get("text"), str) and m["text"].strip()]


# --- flows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """Say `say` (a text, `{order}` filled in) or click the first offered button whose
    payload starts with `click` ("" = the first button); then check `expect`. An
    `optional` click is skipped when no such button was offered (a product with one
    colour is not asked for its colour)."""

    say: str | None = None
    click: str | None = None
    expect: tuple[str, ...] = (TEXT,)
    optional: bool = False

    def __post_init__(self) -> None:
        if (self.say is None) == (self.click is None):
            raise ValueError("a step either says a text or clicks a button")

    @property
    def label(self) -> str:
        return self.say if self.say is not None else f"[click {self.click or 'first'}]"


@dataclass(frozen=True)
class Flow:
    name: str
    language: str  # "zh" or "en"
    steps: tuple[Step, ...]
    signed_in: bool = False  # sends a customer token in every message's metadata


@dataclass
class FlowContext:
    """What a flow needs from the shop: order numbers of the signed-in customers."""

    orders: Mapping[int, Sequence[str]] = field(default_factory=dict)
    refusals: frozenset[str] = frozenset()  # the edge's polite refusal texts


def message_text(step: Step, order: str | None) -> str:
    text = step.say or ""
    return text.replace("{order}", order or "")


def click_payload(step: Step, previous: Sequence[Mapping[str, Any]]) -> str | None:
    """The payload a click step sends, chosen among the buttons of the previous reply."""
    prefix = step.click or ""
    for button in offered_buttons(previous):
        if button["payload"].startswith(prefix):
            return button["payload"]
    return None


Check = Callable[[Step, Flow, list[dict[str, Any]], str | None], str | None]


def check_reply(
    step: Step,
    flow: Flow,
    messages: list[dict[str, Any]],
    order: str | None = None,
    refusals: frozenset[str] = frozenset(),
) -> str | None:
    """Why the reply is not what the shopper had to see, or None when it is."""
    lines = texts(messages)
    if not lines and not product_cards(messages):
        return "empty reply"
    if refusals and any(line in refusals for line in lines):
        return "refused by the edge"  # rate limited or too long: a shopper was turned away
    for kind in step.expect:
        if kind == CARDS and not product_cards(messages):
            return "no product cards"
        if kind == BUTTONS and not offered_buttons(messages):
            return "no buttons offered"
        if kind == ORDER and order and not any(order in line for line in lines):
            return "order number not in the answer"
        if kind == LANGUAGE:
            spoken = language_of(message_lines(messages))
            if spoken is not None and spoken != flow.language:
                return f"answered in {spoken}, asked in {flow.language}"
        if kind == CART and not (
            offered_buttons(messages)
            or any(re.search(r"购物车|cart", line, re.I) for line in lines)
        ):
            return "no cart answer"
    return None


def _steps(*items: Step) -> tuple[Step, ...]:
    return tuple(items)


SHOPMATE_FLOWS: tuple[Flow, ...] = (
    Flow(
        "shopping",
        "zh",
        _steps(
            Step("我想买连衣裙", expect=(TEXT, LANGUAGE)),
            Step("白色的", expect=(CARDS,)),
            Step("M码", expect=(CARDS,)),
            # Colour and size are known: added at once, or asked (then a button is tapped).
            Step("把第一个加入购物车", expect=(CART,)),
            Step(click="/add_to_cart", expect=(CART,), optional=True),
            Step(click="/add_to_cart", expect=(ADDED,), optional=True),
        ),
    ),
    Flow(
        "shopping",
        "en",
        _steps(
            Step("show me running shoes", expect=(TEXT, LANGUAGE)),
            Step("under 500", expect=(CARDS, LANGUAGE)),
            Step("add the first one to my cart", expect=(CART,)),
            Step(click="/add_to_cart", expect=(CART,), optional=True),
            Step(click="/add_to_cart", expect=(ADDED,), optional=True),
        ),
    ),
    Flow(
        "order_status",
        "zh",
        _steps(
            Step("你好", expect=(TEXT, LANGUAGE)),
            Step("订单{order}发货了吗", expect=(ORDER, LANGUAGE)),
            Step("谢谢", expect=(TEXT,)),
        ),
        signed_in=True,
    ),
    Flow(
        "order_status",
        "en",
        _steps(
            Step("hello", expect=(TEXT, LANGUAGE)),
            Step("what's the status of order {order}?", expect=(ORDER, LANGUAGE)),
            Step("thanks", expect=(TEXT,)),
        ),
        signed_in=True,
    ),
    Flow(
        "policy",
        "zh",
        _steps(
            Step("买多少钱可以包邮？", expect=(TEXT, LANGUAGE)),
            Step("退货政策是什么", expect=(TEXT, LANGUAGE)),
            Step("可以用支付宝付款吗", expect=(TEXT, LANGUAGE)),
        ),
    ),
    Flow(
        "policy",
        "en",
        _steps(
            Step("How long does a refund take?", expect=(TEXT, LANGUAGE)),
            Step("can I pay with Alipay?", expect=(TEXT, LANGUAGE)),
            Step("what is your return policy", expect=(TEXT, LANGUAGE)),
        ),
    ),
    Flow(
        "small_talk",
        "zh",
        _steps(
            Step("你好", expect=(TEXT, LANGUAGE)),
            Step("你是机器人吗", expect=(TEXT, LANGUAGE)),
            Step("谢谢", expect=(TEXT, LANGUAGE)),
            Step("再见", expect=(TEXT, LANGUAGE)),
        ),
    ),
    Flow(
        "small_talk",
        "en",
        _steps(
            Step("hello", expect=(TEXT, LANGUAGE)),
            Step("are you a bot?", expect=(TEXT, LANGUAGE)),
            Step("thank you", expect=(TEXT, LANGUAGE)),
            Step("bye", expect=(TEXT, LANGUAGE)),
        ),
    ),
)

# The stock `rasa init` bot (English only), what scripts/bench_spine.py sends it.
STOCK_FLOWS: tuple[Flow, ...] = (
    Flow(
        "small_talk",
        "en",
        _steps(Step("hello"), Step("I am feeling great"), Step("are you a bot?"), Step("bye")),
    ),
    Flow("mood", "en", _steps(Step("hi"), Step("not good"), Step("yes"), Step("bye"))),
)

# Order numbers of the signed-in shoppers when none are looked up: tests/factories.py's
# scenario (Alice = customer 1, Bob = customer 2).
SCENARIO_ORDERS: dict[int, list[str]] = {1: ["A1000001", "A1000002"], 2: ["A2000001"]}
REFUSAL_RESPONSES = ("utter_rate_limited", "utter_message_too_long", "utter_message_unreadable")


def refusal_texts(domain_dir: Path) -> frozenset[str]:
    """The texts of the edge's polite refusals (both languages), from the domain files."""
    import yaml

    found: set[str] = set()
    for path in sorted(domain_dir.glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        for name in REFUSAL_RESPONSES:
            for variation in responses.get(name) or []:
                if isinstance(variation, Mapping) and isinstance(variation.get("text"), str):
                    found.add(variation["text"])
    return frozenset(found)


def customer_orders(database_url: str, customers: Sequence[int] = (1, 2)) -> dict[int, list[str]]:
    """A few order numbers of each signed-in customer, from the order database."""
    from sqlalchemy import create_engine, select

    from shopmate.db import models as m

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(m.Order.customer_id, m.Order.order_number)
                .where(m.Order.customer_id.in_(list(customers)))
                .order_by(m.Order.customer_id, m.Order.order_number)
            ).all()
    finally:
        engine.dispose()
    orders: dict[int, list[str]] = {}
    for customer_id, number in rows:
        if len(orders.setdefault(int(customer_id), [])) < 5:
            orders[int(customer_id)].append(str(number))
    return orders
