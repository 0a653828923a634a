"""Shopper conversations end to end, as shoppers type them, in 简体中文 and English.

Each conversation is a script of turns: what the shopper types and what they would
notice in the reply (the form asks its question again after a help text, a product
card's price is within the budget, an order's status appears only after the phone
digits, a bare colour narrows the results and is never read as an order number).
Expected wording comes from the domain's responses, order numbers and phone digits from
the seeded database, products from the catalog: a borderline prediction may change the
path, never what the shopper must see.

Two ShopMates serve them: the session's (`shopmate`: the exact order scenario of
tests/factories.py) for small talk, policy questions, orders and order changes, and
this module's catalog shop (the generated 5,000-product catalog) for the shopping guide.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shopmate.cart import CartRepository
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.knowledge import Article, load_articles
from shopmate.settings import get_settings
from tests.conftest import product_cards, response_pattern, response_texts
from tests.e2e.conftest import ShopMate, reset_scenario

pytestmark = pytest.mark.e2e

# A shopper types no faster than this (the edge allows 5 messages a second per
# conversation; the forms answer in well under that).
TYPING_PAUSE_S = 0.3


# --- one conversation -------------------------------------------------------------------


@dataclass
class Reply:
    """What the bot did in answer to one shopper message."""

    said: str
    language: str
    messages: list[dict[str, Any]]
    actions: list[str]

    @property
    def texts(self) -> list[str]:
        return [str(message.get("text") or "") for message in self.messages]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for message in self.messages for button in message.get("buttons") or []]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return product_cards(self.messages)


@dataclass
class Chat:
    """A shopper talking to one ShopMate under a fresh conversation id."""

    bot: ShopMate
    sender: str
    domain: dict[str, Any]
    database: Database
    facts: dict[str, str] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    seen_actions: int = 0
    last_sent: float = 0.0

    def send(self, text: str, language: str) -> Reply:
        time.sleep(max(0.0, self.last_sent + TYPING_PAUSE_S - time.monotonic()))
        self.last_sent = time.monotonic()
        messages = self.bot.say(self.sender, text)
        actions = self.bot.bot_actions(self.sender)
        reply = Reply(text, language, messages, actions[self.seen_actions :])
        self.seen_actions = len(actions)
        self.replies.append(reply)
        return reply

    def fill(self, text: str) -> str:
        return text.format_map(self.facts)

    def templates(self, name: str, language: str) -> list[str]:
        texts = response_texts(self.domain, name, language)
        assert texts, f"no {language} text for {name} in the domain"
        return texts

    def shown(self) -> list[dict[str, Any]]:
        """The product cards of the latest earlier reply that showed any."""
        for reply in reversed(self.replies[:-1]):
            if reply.cards:
                return reply.cards
        return []

    def product(self, code: str) -> m.Product:
        with self.database.session() as session:
            product = session.scalars(
                select(m.Product)
                .where(m.Product.code == code)
                .options(selectinload(m.Product.variants))
            ).one()
            session.expunge(product)
            return product

    def transcript(self) -> str:
        lines = []
        for reply in self.replies:
            lines.append(f"shopper: {reply.said}")
            lines.extend(f"    bot: {text}" for text in reply.texts)
            lines.append(f"    [{', '.join(reply.actions)}]")
        return "\n".join(lines)


def is_response(chat: Chat, text: str, name: str, language: str, **values: str) -> bool:
    filled = {key: chat.fill(value) for key, value in values.items()}
    return any(
        response_pattern(template, filled).fullmatch(text)
        for template in chat.templates(name, language)
    )


# --- what the shopper notices ---------------------------------------------------------


class Check:
    def verify(self, chat: Chat, reply: Reply) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}{tuple(vars(self).values())}"


class Only(Check):
    """The reply is exactly these responses, in this order."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def verify(self, chat: Chat, reply: Reply) -> None:
        expected = [t for name in self.names for t in chat.templates(name, reply.language)]
        assert without_apology(chat, reply) == expected, f"expected only {self.names}"


def without_apology(chat: Chat, reply: Reply) -> list[str]:
    """The reply's texts; an apology that an upset-sounding message got in front of the
    first one (addons/nlg.py) is set aside: the check is about what follows it."""
    texts = list(reply.texts)
    for apology in chat.templates("utter_acknowledge_upset", reply.language):
        if texts and texts[0].startswith(apology + "\n"):
            texts[0] = texts[0][len(apology) + 1 :]
    return texts


class Says(Check):
    """Some message of the reply is one of these responses (slots: given values, or any)."""

    def __init__(self, *names: str, **values: str) -> None:
        self.names, self.values = names, values

    def verify(self, chat: Chat, reply: Reply) -> None:
        assert any(
            is_response(chat, text, name, reply.language, **self.values)
            for text in without_apology(chat, reply)
            for name in self.names
        ), f"expected one of {self.names} {self.values}"


class Last(Says):
    """The reply ends with this response: the form asks its question again."""

    def verify(self, chat: Chat, reply: Reply) -> None:
        texts = without_apology(chat, reply)
        assert len(texts) >= 2, "expected an answer, then the question again"
        assert any(
            is_response(chat, texts[-1], name, reply.language, **self.values) for name in self.names
        ), f"expected the reply to end with {self.names}"


class Never(Check):
    """No message of the reply is any of these responses."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def verify(self, chat: Chat, reply: Reply) -> None:
        for name in self.names:
            for language in ("zh", "en"):
                assert not any(is_response(chat, t, name, language) for t in reply.texts), (
                    f"{name} should not have been said"
                )


class Ran(Check):
    def __init__(self, *actions: str) -> None:
        self.actions = actions

    def verify(self, chat: Chat, reply: Reply) -> None:
        missing = [action for action in self.actions if action not in reply.actions]
        assert not missing, f"expected {missing} to run"


class NotRan(Check):
    def __init__(self, *actions: str) -> None:
        self.actions = actions

    def verify(self, chat: Chat, reply: Reply) -> None:
        ran = [action for action in self.actions if action in reply.actions]
        assert not ran, f"{ran} should not have run"


class Contains(Check):
    def __init__(self, *pieces: str) -> None:
        self.pieces = pieces

    def verify(self, chat: Chat, reply: Reply) -> None:
        for piece in self.pieces:
            assert chat.fill(piece) in reply.text, f"expected {chat.fill(piece)!r} in the reply"


class Lacks(Check):
    def __init__(self, *pieces: str) -> None:
        self.pieces = pieces

    def verify(self, chat: Chat, reply: Reply) -> None:
        for piece in self.pieces:
            assert chat.fill(piece) not in reply.text, f"{chat.fill(piece)!r} was told too early"


def articles(language: str) -> list[Article]:
    return list(load_articles(get_settings().knowledge_dir)[language])


class Faq(Check):
    """A policy answer from an article of one of these topics (or this article)."""

    def __init__(self, *topics: str, article: str | None = None) -> None:
        self.topics, self.article = topics, article

    def verify(self, chat: Chat, reply: Reply) -> None:
        wanted = [
            a
            for a in articles(reply.language)
            if a.topic in self.topics or (self.article is not None and a.id == self.article)
        ]
        assert any(
            is_response(chat, text, "utter_faq_answer", reply.language, title=article.title)
            for text in reply.texts
            for article in wanted
        ), f"expected an answer from {self.topics or self.article}"


class Loop(Check):
    """The form under way after the reply (None: no form)."""

    def __init__(self, name: str | None) -> None:
        self.name = name

    def verify(self, chat: Chat, reply: Reply) -> None:
        active = (chat.bot.tracker(chat.sender).get("active_loop") or {}).get("name")
        assert active == self.name, f"expected active form {self.name}, found {active}"


class Cards(Check):
    """Product cards, each true to what the shopper asked for (checked in the catalog)."""

    def __init__(
        self,
        *,
        at_least: int = 1,
        exactly: int | None = None,
        category: str | None = None,
        color: str | None = None,
        size: str | None = None,
        max_price: int | None = None,
        cheaper: bool = False,
    ) -> None:
        self.at_least, self.exactly = at_least, exactly
        self.category, self.color, self.size = category, color, size
        self.max_price, self.cheaper = max_price, cheaper

    def verify(self, chat: Chat, reply: Reply) -> None:
        cards = reply.cards
        if self.exactly is not None:
            assert len(cards) == self.exactly, f"expected {self.exactly} product card(s)"
        assert len(cards) >= self.at_least, f"expected at least {self.at_least} product card(s)"
        floor = min((card["price_cents"] for card in chat.shown()), default=None)
        for card in cards:
            product = chat.product(card["code"])
            stocked = [v for v in product.variants if v.stock > 0]
            if self.category:
                assert product.category == self.category, f"{card['code']} is no {self.category}"
            if self.color:
                assert any(v.color == self.color for v in stocked), (
                    f"{card['code']} not {self.color}"
                )
            if self.size:
                assert any(v.size == self.size for v in stocked), f"{card['code']} not {self.size}"
            if self.max_price is not None:
                assert card["price_cents"] <= self.max_price * 100, f"{card['price']} over budget"
            if self.cheaper:
                assert floor is not None, "nothing was shown before"
                assert card["price_cents"] < floor, f"{card['price']} is not cheaper"


class Detail(Check):
    """The details of the n-th product shown before (its code), and of no other."""

    def __init__(self, position: int) -> None:
        self.position = position

    def verify(self, chat: Chat, reply: Reply) -> None:
        shown = chat.shown()
        assert len(shown) >= self.position, "not enough products were shown"
        first = reply.texts[0] if reply.texts else ""
        wanted = shown[self.position - 1]["code"]
        assert is_response(chat, first, "utter_product_detail", reply.language, code=wanted) or (
            is_response(
                chat, first, "utter_product_detail_no_material", reply.language, code=wanted
            )
        ), f"expected the details of product {self.position} ({wanted})"


class Compared(Check):
    """The first two products shown, side by side."""

    def verify(self, chat: Chat, reply: Reply) -> None:
        shown = chat.shown()
        assert len(shown) >= 2, "fewer than two products were shown"
        assert is_response(chat, reply.texts[0], "utter_compare_header", reply.language)
        for card in shown[:2]:
            product = chat.product(card["code"])
            title = product.title_zh if reply.language == "zh" else product.title_en
            assert title in reply.text, f"{title} is not in the comparison"


class InCart(Check):
    """The shopper's (guest) cart holds something now."""

    def verify(self, chat: Chat, reply: Reply) -> None:
        cart = CartRepository(chat.database)
        assert cart.lines(cart.cart_for(None, chat.sender)), "the cart is empty"


class CheapestShown(Check):
    """One product card: the cheapest, whose price the reply names and is over the budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def verify(self, chat: Chat, reply: Reply) -> None:
        [card] = reply.cards
        assert card["price"] in reply.texts[-2], "the cheapest price is not named"
        assert card["price_cents"] > self.budget * 100


class Status(Check):
    """The order's status in the database after the reply."""

    def __init__(self, order: str, status: m.OrderStatus) -> None:
        self.order, self.status = order, status

    def verify(self, chat: Chat, reply: Reply) -> None:
        number = chat.fill(self.order)
        with chat.database.session() as session:
            found = session.scalar(select(m.Order.status).where(m.Order.order_number == number))
        assert found == self.status, f"order {number} is {found}, expected {self.status}"


class Either(Check):
    """One of two ways the reply may lean; each a group of checks."""

    def __init__(self, *ways: Sequence[Check]) -> None:
        self.ways = ways

    def verify(self, chat: Chat, reply: Reply) -> None:
        failures = []
        for way in self.ways:
            try:
                for check in way:
                    check.verify(chat, reply)
            except AssertionError as error:
                failures.append(str(error))
            else:
                return
        raise AssertionError(" / ".join(failures))


# --- what the shopper types -------------------------------------------------------------

Say = str | Callable[[Chat], str]


def offered(preferred: str) -> Callable[[Chat], str]:
    """The shopper types a choice the bot just offered: `preferred` if it is one."""

    def choose(chat: Chat) -> str:
        titles = [button["title"] for button in chat.replies[-1].buttons]
        assert titles, "nothing was offered"
        return preferred if preferred in titles else titles[0]

    return choose


def tap(title: str) -> Callable[[Chat], str]:
    """The shopper taps the quick reply with this title (its payload is sent)."""

    def press(chat: Chat) -> str:
        buttons = {button["title"]: button["payload"] for button in chat.replies[-1].buttons}
        assert title in buttons, f"no {title!r} button was offered"
        return str(buttons[title])

    return press


@dataclass(frozen=True)
class Turn:
    say: Say
    expect: tuple[Check, ...]
    language: str | None = None


def T(say: Say, *expect: Check, language: str | None = None) -> Turn:
    return Turn(say, expect, language)


def talk(name: str, language: str, *turns: Turn, defect: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=defect)] if defect else []
    return pytest.param(language, turns, id=name, marks=marks)


def converse(chat: Chat, language: str, turns: Sequence[Turn]) -> None:
    for turn in turns:
        text = chat.fill(turn.say) if isinstance(turn.say, str) else turn.say(chat)
        reply = chat.send(text, turn.language or language)
        for check in turn.expect:
            try:
                check.verify(chat, reply)
            except AssertionError as error:
                raise AssertionError(
                    f"{error}\n--- the conversation:\n{chat.transcript()}"
                ) from None


# --- small talk, capabilities, policy questions ------------------------------------------

SERVICE = [
    talk(
        "greet-capabilities-thanks-bye-zh",
        "zh",
        T("您好，在吗", Only("utter_greet")),
        T("你能做什么", Only("utter_capabilities")),
        T("多谢了", Only("utter_you_are_welcome")),
        T("再见", Only("utter_goodbye")),
    ),
    talk(
        "hello-what-can-you-do-en",
        "en",
        T("hello, what can you do?", Only("utter_capabilities")),
        T("are you a bot?", Only("utter_iamabot")),
        T("bye", Only("utter_goodbye")),
    ),
    talk(
        "bot-challenge-then-a-person-zh",
        "zh",
        T("你好，你能帮我做什么", Only("utter_capabilities")),
        T("是真人在回复吗", Only("utter_iamabot")),
        T("转人工", Says("utter_handoff_started")),
        # Handed over: the bot is silent until an agent hands the conversation back.
        T("在吗", Only()),
    ),
    talk(
        "small-talk-then-a-person-en",
        "en",
        T("what's the weather like today", Only("utter_out_of_scope")),
        T("tell me a joke", Only("utter_out_of_scope")),
        T("talk to a person", Says("utter_handoff_started")),
    ),
    talk(
        "small-talk-then-a-policy-question-zh",
        "zh",
        T("今天天气怎么样", Only("utter_out_of_scope")),
        T("给我讲个笑话", Only("utter_out_of_scope")),
        T("包邮吗", Faq("shipping")),
    ),
    talk(
        "hong-kong-and-what-about-returns-en",
        "en",
        T("do you ship to Hong Kong?", Faq("shipping")),
        T("and what about returns?", Faq("returns")),
        T("thank you", Only("utter_you_are_welcome")),
    ),
    talk(
        "free-shipping-then-returns-zh",
        "zh",
        T("包邮吗", Faq("shipping")),
        T("那退货呢", Faq("returns")),
    ),
    talk(
        "hong-kong-taiwan-invoices-paper-zh",
        "zh",
        T("能寄到香港吗", Faq("shipping")),
        T("那台湾呢", Faq(article="international-shipping")),
        T("发票怎么开", Faq("invoice")),
        T("那纸质发票呢", Faq(article="paper-invoices")),
    ),
    talk(
        "payment-methods-then-instalments-en",
        "en",
        T("what payment methods do you accept", Faq("payment")),
        T("what about instalments?", Faq(article="instalments")),
    ),
    talk(
        "never-mind-with-nothing-under-way-zh",
        "zh",
        T("你好", Only("utter_greet")),
        T("算了", Only("utter_anything_else"), Loop(None)),
    ),
    talk(
        "where-is-the-order-number-outside-a-form-en",
        "en",
        T("where do I find my order number", Only("utter_help_order_id"), Loop(None)),
    ),
]

# --- order status, tracking, refund status (a guest proves the order) -------------------

ORDERS = [
    talk(
        "guest-order-status-zh",
        "zh",
        T("我的订单到哪了", Only("utter_ask_order_id")),
        T("订单号是{paid}", Only("utter_ask_guest_phone"), Lacks("{paid_total}")),
        T("尾号{paid_phone}", Says("utter_order_status_paid", order_number="{paid}")),
        T("好的谢谢", Only("utter_you_are_welcome")),
    ),
    talk(
        "guest-tracks-a-parcel-en",
        "en",
        T("track my parcel", Only("utter_ask_order_id")),
        T("{in_transit}", Only("utter_ask_guest_phone"), Lacks("{tracking}")),
        T(
            "the last four digits are {in_transit_phone}",
            Says("utter_tracking", order_number="{in_transit}", tracking_number="{tracking}"),
            Contains("{event_en}"),
        ),
    ),
    talk(
        "traditional-chinese-order-question-zh",
        "zh",
        T("訂單到哪了", Only("utter_ask_order_id")),
        T("{delivered}", Only("utter_ask_guest_phone")),
        T("{delivered_phone}", Says("utter_order_status_delivered", order_number="{delivered}")),
    ),
    talk(
        "mixed-zh-en-where-is-my-order-zh",
        "zh",
        T("这个order咋还没到", Only("utter_ask_order_id")),
        T("{in_transit}", Only("utter_ask_guest_phone"), Lacks("{tracking}")),
        T(
            "尾号{in_transit_phone}",
            Says(
                "utter_tracking",
                "utter_order_status_in_transit",
                order_number="{in_transit}",
            ),
        ),
    ),
    talk(
        "guest-refund-status-in-sentences-en",
        "en",
        T("where is my refund", Only("utter_ask_order_id")),
        T("my order number is {delivered}", Only("utter_ask_guest_phone")),
        T(
            "the last four digits are {delivered_phone}",
            Says("utter_no_refund", order_number="{delivered}"),
        ),
    ),
    talk(
        "guest-refund-status-zh",
        "zh",
        T("我的退款到账了吗", Only("utter_ask_order_id")),
        T("{delivered}", Only("utter_ask_guest_phone")),
        T("尾号{delivered_phone}", Says("utter_no_refund", order_number="{delivered}")),
    ),
    talk(
        "a-bare-order-number-asks-about-it-zh",
        "zh",
        T("你好", Only("utter_greet")),
        T("{in_transit}", Only("utter_ask_guest_phone"), Ran("order_form")),
        T("{in_transit_phone}", Contains("{in_transit}"), Loop(None)),
    ),
    talk(
        "no-when-asked-for-the-phone-en",
        "en",
        T("where's my package", Only("utter_ask_order_id")),
        T("{in_transit}", Only("utter_ask_guest_phone")),
        T("no", Only("utter_form_stopped"), Lacks("{tracking}"), Loop(None)),
    ),
]

# --- repairs inside the forms ----------------------------------------------------------

REPAIRS = [
    talk(
        "where-is-the-order-number-and-forgot-the-phone-zh",
        "zh",
        T("我的订单到哪了", Only("utter_ask_order_id")),
        T("订单号在哪里找", Only("utter_help_order_id", "utter_ask_order_id")),
        T("{in_transit}", Only("utter_ask_guest_phone")),
        T("我忘了手机号", Only("utter_help_guest_phone", "utter_ask_guest_phone")),
        T("尾号{in_transit_phone}", Contains("{in_transit}")),
    ),
    talk(
        "where-is-the-order-number-then-never-mind-en",
        "en",
        T("where is my order", Only("utter_ask_order_id")),
        T("where do I find my order number", Only("utter_help_order_id", "utter_ask_order_id")),
        T("{in_transit}", Only("utter_ask_guest_phone")),
        T(
            "I don't remember my phone number",
            Only("utter_help_guest_phone", "utter_ask_guest_phone"),
        ),
        T("never mind", Only("utter_form_stopped"), Lacks("{tracking}"), Loop(None)),
    ),
    talk(
        "policy-question-inside-the-order-form-zh",
        "zh",
        T("帮我查下订单状态", Only("utter_ask_order_id")),
        T("满多少包邮", Faq("shipping"), Last("utter_ask_order_id")),
        T("{delivered}", Only("utter_ask_guest_phone")),
        T("{delivered_phone}", Says("utter_order_status_delivered", order_number="{delivered}")),
    ),
    talk(
        "policy-question-inside-the-order-form-then-never-mind-en",
        "en",
        T("what's the status of my order?", Only("utter_ask_order_id")),
        T("how long do refunds take", Faq("refund"), Last("utter_ask_order_id")),
        T("never mind", Only("utter_form_stopped"), Loop(None)),
    ),
    talk(
        "never-mind-leaves-the-order-form-zh",
        "zh",
        T("我的订单到哪了", Only("utter_ask_order_id")),
        T("算了", Only("utter_form_stopped"), Loop(None)),
        T("你好", Only("utter_greet")),
    ),
    talk(
        "no-leaves-the-order-form-en",
        "en",
        T("track my parcel", Only("utter_ask_order_id")),
        T("no", Only("utter_form_stopped"), Loop(None)),
    ),
    talk(
        "a-search-inside-the-order-form-zh",
        "zh",
        T("我的订单到哪了", Only("utter_ask_order_id")),
        T(
            "我想买一件红色的连衣裙",
            Ran("action_start_search", "action_search_products"),
            Never("utter_ask_order_id", "utter_invalid_order_number"),
            Loop(None),
        ),
    ),
    talk(
        "another-task-inside-the-order-form-en",
        "en",
        T("where is my order", Only("utter_ask_order_id")),
        T(
            "actually I want to cancel my order",
            Says("utter_ask_change_form_order_id"),
            Contains("cancel"),
            Loop("change_form"),
        ),
        T("{paid}", Only("utter_ask_guest_phone")),
        T("{paid_phone}", Says("utter_confirm_cancel", order_number="{paid}")),
        T("yes", Says("utter_cancel_done", order_number="{paid}")),
    ),
    talk(
        "another-task-with-its-order-number-inside-the-order-form-en",
        "en",
        T("where is my order", Only("utter_ask_order_id")),
        T("I want to cancel order {paid}", Ran("action_start_order_change")),
        T("{paid_phone}", Says("utter_confirm_cancel", order_number="{paid}")),
    ),
    talk(
        "small-talk-and-capabilities-inside-the-order-form-zh",
        "zh",
        T("退款到哪一步了", Only("utter_ask_order_id")),
        T("今天天气怎么样", Only("utter_out_of_scope", "utter_ask_order_id")),
        T("你能做什么", Only("utter_capabilities", "utter_ask_order_id")),
        T("拜拜", Only("utter_goodbye"), Loop(None)),
    ),
    talk(
        "bot-question-and-thanks-inside-the-order-form-en",
        "en",
        T("has my refund been processed", Only("utter_ask_order_id")),
        T("are you a bot?", Only("utter_iamabot", "utter_ask_order_id")),
        T("{delivered}", Only("utter_ask_guest_phone")),
        T("thanks", Only("utter_you_are_welcome", "utter_ask_guest_phone")),
        T("{delivered_phone}", Says("utter_no_refund", order_number="{delivered}")),
    ),
    talk(
        "a-person-inside-the-order-form-zh",
        "zh",
        T("我的订单到哪了", Only("utter_ask_order_id")),
        T("转人工", Says("utter_handoff_started"), Loop(None)),
        T("谢谢", Only()),
    ),
]

# --- order changes ----------------------------------------------------------------------

PAID = m.OrderStatus.PAID
CANCELLED = m.OrderStatus.CANCELLED

CHANGES = [
    talk(
        "guest-cancels-an-order-zh",
        "zh",
        T("我要取消订单", Says("utter_ask_change_form_order_id"), Contains("取消订单")),
        T("{paid}", Only("utter_ask_guest_phone")),
        T(
            "尾号{paid_phone}",
            Says("utter_confirm_cancel", order_number="{paid}", amount="{paid_total}"),
            Status("{paid}", PAID),
        ),
        T("确认", Says("utter_cancel_done", order_number="{paid}"), Status("{paid}", CANCELLED)),
    ),
    talk(
        "guest-confirms-a-cancel-in-words-zh",
        "zh",
        T("帮我取消订单{paid}", Only("utter_ask_guest_phone")),
        T("{paid_phone}", Says("utter_confirm_cancel", order_number="{paid}")),
        T("确认取消", Says("utter_cancel_done", order_number="{paid}")),
    ),
    talk(
        "guest-returns-an-item-en",
        "en",
        T("I want to return something", Says("utter_ask_change_form_order_id")),
        T("{delivered}", Only("utter_ask_guest_phone")),
        T("{delivered_phone}", Says("utter_ask_return_item", order_number="{delivered}")),
        T("the dress", Only("utter_ask_return_reason")),
        T("it's the wrong size", Says("utter_confirm_return", order_number="{delivered}")),
        T("yes please", Says("utter_return_done", order_number="{delivered}")),
    ),
    talk(
        "return-reason-changed-my-mind-en",
        "en",
        T("I want to return something from order {delivered}", Only("utter_ask_guest_phone")),
        T("{delivered_phone}", Says("utter_ask_return_item", order_number="{delivered}")),
        T("the dress", Only("utter_ask_return_reason")),
        T(
            "changed my mind",
            Says("utter_confirm_return", order_number="{delivered}"),
            Loop("change_form"),
        ),
    ),
    talk(
        "guest-exchanges-for-size-l-zh",
        "zh",
        T("我想换货", Says("utter_ask_change_form_order_id")),
        T("{delivered}", Only("utter_ask_guest_phone")),
        T("{delivered_phone}", Says("utter_ask_exchange_item", order_number="{delivered}")),
        T("第一件", Says("utter_ask_new_variant")),
        T("L码", Says("utter_confirm_exchange", order_number="{delivered}")),
        T("可以", Says("utter_exchange_done", order_number="{delivered}")),
    ),
    talk(
        "guest-changes-the-address-en",
        "en",
        T("I need to change my shipping address", Says("utter_ask_change_form_order_id")),
        T("{paid}", Only("utter_ask_guest_phone")),
        T("{paid_phone}", Only("utter_ask_new_address")),
        T(
            "12 Main St, Springfield, IL 62704",
            Says("utter_confirm_address", order_number="{paid}"),
        ),
        T("yes", Says("utter_address_done", order_number="{paid}")),
    ),
    talk(
        "refund-of-an-unshipped-order-is-a-cancel-then-declined-zh",
        "zh",
        T("我要退款", Says("utter_ask_change_form_order_id")),
        T("{paid}", Only("utter_ask_guest_phone")),
        T("{paid_phone}", Says("utter_confirm_cancel", order_number="{paid}")),
        T(
            "不用了",
            Says("utter_form_stopped", "utter_change_kept", "utter_change_dropped"),
            Never("utter_cancel_done"),
            Status("{paid}", PAID),
        ),
    ),
    talk(
        "where-is-the-order-number-during-a-return-then-never-mind-zh",
        "zh",
        T("我要退货", Says("utter_ask_change_form_order_id")),
        T(
            "订单号在哪里找",
            Says("utter_help_order_id"),
            Last("utter_ask_change_form_order_id"),
        ),
        T("算了", Only("utter_form_stopped"), Loop(None)),
    ),
    talk(
        "forget-it-during-a-cancel-en",
        "en",
        T("cancel my order", Says("utter_ask_change_form_order_id")),
        T("forget it", Only("utter_form_stopped"), Loop(None)),
    ),
    talk(
        "policy-question-during-an-exchange-then-a-person-en",
        "en",
        T(
            "I'd like to exchange my dress for another size",
            Says("utter_ask_change_form_order_id"),
        ),
        T("how long do refunds take", Faq("refund"), Last("utter_ask_change_form_order_id")),
        T("can I speak to a human", Says("utter_handoff_started"), Loop(None)),
    ),
    talk(
        "order-status-in-the-middle-of-a-return-zh",
        "zh",
        T("我要退货", Says("utter_ask_change_form_order_id")),
        T("我的订单到哪了", Only("utter_ask_order_id"), Loop("order_form")),
        T("{in_transit}", Only("utter_ask_guest_phone")),
        T("尾号{in_transit_phone}", Contains("{in_transit}"), Loop(None)),
    ),
    talk(
        "a-search-in-the-middle-of-a-refund-en",
        "en",
        T("I want a refund", Says("utter_ask_change_form_order_id")),
        T("show me some bags", Only("utter_ask_search_details"), Loop("search_form")),
        T("any", Ran("action_search_products"), Loop(None)),
    ),
]


# --- the shopping guide (catalog shop) --------------------------------------------------

SHOPPING = [
    talk(
        "red-dress-white-detail-size-coupon-zh",
        "zh",
        T("我想买一件红色的连衣裙", Cards(category="dresses", color="red")),
        T(
            "白色的",
            Ran("action_refine_search"),
            NotRan("order_form"),
            Never("utter_ask_order_id", "utter_invalid_order_number"),
            Cards(category="dresses", color="white"),
        ),
        T("第一个怎么样", Detail(1)),
        T("把第一个加入购物车", Says("utter_ask_cart_size")),
        T(offered("M"), Says("utter_added_to_cart"), NotRan("action_refine_search"), InCart()),
        T(
            "我购物车用哪张券最划算",
            Says("utter_best_offer", "utter_no_coupon_applies"),
            Never("utter_cart_empty"),
        ),
    ),
    talk(
        "red-dress-white-detail-size-coupon-en",
        "en",
        T("I want a red dress", Cards(category="dresses", color="red")),
        T(
            "white",
            Ran("action_refine_search"),
            Never("utter_ask_order_id"),
            Cards(category="dresses", color="white"),
        ),
        T("tell me about the first one", Detail(1)),
        T("add the first one to my cart", Says("utter_ask_cart_size")),
        T(offered("M"), Says("utter_added_to_cart"), InCart()),
        T(
            "what's the best coupon for my cart",
            Says("utter_best_offer", "utter_no_coupon_applies"),
            Never("utter_cart_empty"),
        ),
    ),
    talk(
        "running-shoes-42-cheaper-first-then-second-zh",
        "zh",
        T("有没有跑鞋", Only("utter_ask_search_details"), Loop("search_form")),
        T("42码", Cards(category="running_shoes", size="42")),
        T(
            "有没有便宜点的",
            Either([Cards(cheaper=True, size="42")], [Says("utter_no_cheaper")]),
        ),
        T("第一个怎么样", Detail(1)),
        T("第二个呢", Detail(2), NotRan("action_add_to_cart")),
    ),
    talk(
        "running-shoes-42-budget-compare-second-en",
        "en",
        T("I'm looking for running shoes", Only("utter_ask_search_details")),
        T("size 42", Cards(category="running_shoes", size="42")),
        T(
            "under 400",
            Ran("action_refine_search"),
            Never("utter_ask_order_id"),
            Cards(category="running_shoes", size="42", max_price=400),
        ),
        T("compare the first two", Compared()),
        T("what about the second one?", Detail(2)),
    ),
    talk(
        "a-bare-size-m-narrows-the-tops-zh",
        "zh",
        T("我想买件上衣", Only("utter_ask_search_details")),
        T("不限", Cards(category="tops")),
        T(
            "M",
            Ran("action_refine_search"),
            NotRan("order_form", "action_add_to_cart"),
            Never("utter_ask_order_id", "utter_invalid_order_number"),
            Cards(category="tops", size="M"),
        ),
    ),
    talk(
        "a-bare-size-m-narrows-the-dresses-en",
        "en",
        T("I need a dress", Only("utter_ask_search_details")),
        T("any", Cards(category="dresses")),
        T(
            "M",
            Ran("action_refine_search"),
            NotRan("order_form"),
            Never("utter_ask_order_id"),
            Cards(category="dresses", size="M"),
        ),
    ),
    talk(
        "under-300-narrows-the-bags-en",
        "en",
        T("show me some bags", Only("utter_ask_search_details")),
        T("any", Cards(category="bags")),
        T(
            "under 300",
            Ran("action_refine_search"),
            Never("utter_ask_order_id"),
            Cards(category="bags", max_price=300),
        ),
        T("show me cheaper ones", Either([Cards(cheaper=True)], [Says("utter_no_cheaper")])),
    ),
    talk(
        "300-yuan-narrows-the-bags-zh",
        "zh",
        T("想看看包包", Only("utter_ask_search_details")),
        T("不限", Cards(category="bags")),
        T("300以内", Ran("action_refine_search"), Cards(category="bags", max_price=300)),
    ),
    talk(
        "a-winter-jacket-gets-the-nearest-category-en",
        "en",
        T(
            "I'm looking for a winter jacket",
            Says("utter_search_nearest"),
            Never("utter_ask_product_category", "utter_ask_search_details"),
            Cards(),
            Loop(None),
        ),
        T("cheaper", Either([Cards(cheaper=True)], [Says("utter_no_cheaper")])),
    ),
    talk(
        "a-down-jacket-gets-the-nearest-category-zh",
        "zh",
        T(
            "我想买羽绒服",
            Says("utter_search_nearest"),
            Never("utter_ask_product_category", "utter_ask_search_details"),
            Cards(),
        ),
    ),
    talk(
        "do-you-have-winter-jackets-en",
        "en",
        T(
            "do you have winter jackets?",
            Says("utter_search_nearest"),
            Never("utter_faq_not_found", "utter_out_of_scope"),
            Cards(),
        ),
    ),
    talk(
        "running-shoes-under-10-dollars-en",
        "en",
        T(
            "any running shoes under 10 dollars?",
            Says("utter_currency_note", budget="¥10.00"),
            Says("utter_no_results_in_budget", budget="¥10.00"),
            CheapestShown(budget=10),
            Cards(exactly=1, category="running_shoes"),
        ),
        T("what would you recommend", Says("utter_recommendations_popular"), Cards()),
    ),
    talk(
        "running-shoes-under-10-yuan-zh",
        "zh",
        T(
            "有没有10块以内的跑鞋",
            Says("utter_no_results_in_budget", budget="¥10.00"),
            Never("utter_currency_note"),
            CheapestShown(budget=10),
            Cards(exactly=1, category="running_shoes"),
        ),
    ),
    talk(
        "recommendations-detail-and-an-empty-cart-zh",
        "zh",
        T("有什么推荐的吗", Says("utter_recommendations_popular"), Cards()),
        T("第一个怎么样", Detail(1)),
        T("我购物车用哪张券最划算", Only("utter_cart_empty")),
    ),
    talk(
        "recommendations-then-details-en",
        "en",
        T("what would you recommend?", Says("utter_recommendations_popular"), Cards()),
        T("tell me about the first one", Detail(1)),
    ),
    talk(
        "traditional-chinese-red-dress-then-m-zh",
        "zh",
        T("我想買紅色連衣裙", Cards(category="dresses", color="red")),
        T("M码", Ran("action_refine_search"), Cards(category="dresses", color="red", size="M")),
        T("这两个哪个好", Compared()),
    ),
    talk(
        "mixed-zh-en-running-shoes-zh",
        "zh",
        T("想买双running shoes", Only("utter_ask_search_details")),
        T("42码", Cards(category="running_shoes", size="42")),
    ),
    talk(
        "the-another-colour-button-en",
        "en",
        T("I want a red dress", Cards(category="dresses", color="red")),
        T(tap("Another colour"), Ran("action_refine_search"), Cards(category="dresses")),
    ),
    talk(
        "the-another-colour-button-zh",
        "zh",
        T("我想买一件红色的连衣裙", Cards(category="dresses", color="red")),
        T(tap("换个颜色"), Ran("action_refine_search"), Cards(category="dresses")),
    ),
    talk(
        "compare-leather-bags-and-take-the-second-en",
        "en",
        T("show me leather bags", Cards(category="bags")),
        T("compare the first and second", Compared()),
        T(
            "I'll take the second one",
            Ran("action_add_to_cart"),
            Says("utter_added_to_cart", "utter_ask_cart_color", "utter_ask_cart_size"),
        ),
    ),
    talk(
        "a-policy-question-inside-the-search-zh",
        "zh",
        T("有没有跑鞋", Only("utter_ask_search_details")),
        T("包邮吗", Faq("shipping"), Last("utter_ask_search_details")),
        T("42码", Cards(category="running_shoes", size="42"), Loop(None)),
    ),
    talk(
        "never-mind-when-asked-the-kind-en",
        "en",
        T("I want to buy something", Only("utter_ask_product_category")),
        T("never mind", Only("utter_form_stopped"), Loop(None)),
    ),
    talk(
        "no-when-asked-the-kind-en",
        "en",
        T("I want to buy something", Only("utter_ask_product_category")),
        T("no", Only("utter_form_stopped"), NotRan("action_search_products"), Loop(None)),
    ),
    talk(
        "order-question-while-asked-the-kind-zh",
        "zh",
        T("我想买个东西", Only("utter_ask_product_category")),
        T("我的订单到哪了", Only("utter_ask_order_id"), Loop("order_form")),
        T("算了", Only("utter_form_stopped"), Loop(None)),
    ),
    talk(
        "a-person-while-asked-the-details-en",
        "en",
        T("I need a dress", Only("utter_ask_search_details")),
        T("talk to a person", Says("utter_handoff_started"), Loop(None)),
    ),
    talk(
        "i-want-to-buy-a-little-something-zh",
        "zh",
        T(
            "我想买点东西",
            Only("utter_ask_product_category"),
            Never("utter_search_nearest"),
            Loop("search_form"),
        ),
    ),
    talk(
        "the-form-asks-the-kind-then-the-details-zh",
        "zh",
        T("我想买个东西", Only("utter_ask_product_category")),
        T("包包", Only("utter_ask_search_details")),
        T("不限", Cards(category="bags"), Loop(None)),
        T("黑色", Ran("action_refine_search"), Cards(category="bags", color="black")),
    ),
]


# --- the shops ------------------------------------------------------------------------


def money(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def scenario_facts(database: Database) -> dict[str, str]:
    """Order numbers and the phone digits that prove them, from the seeded scenario:
    an unshipped paid order, one in transit (its tracking), one delivered most recently."""
    with database.session() as session:
        orders = session.scalars(select(m.Order).order_by(m.Order.order_number)).all()
        paid = next(o for o in orders if o.status == m.OrderStatus.PAID)
        moving = next(o for o in orders if o.status == m.OrderStatus.IN_TRANSIT)
        delivered = max(
            (o for o in orders if o.status == m.OrderStatus.DELIVERED),
            key=lambda o: o.delivered_at,
        )
        shipment = session.scalars(select(m.Shipment).where(m.Shipment.order_id == moving.id)).one()
        latest = session.scalars(
            select(m.TrackingEvent)
            .where(m.TrackingEvent.shipment_id == shipment.id)
            .order_by(m.TrackingEvent.occurred_at.desc())
        ).first()
        assert latest is not None
        return {
            "paid": paid.order_number,
            "paid_phone": paid.recipient_phone[-4:],
            "paid_total": money(paid.total_cents),
            "in_transit": moving.order_number,
            "in_transit_phone": moving.recipient_phone[-4:],
            "tracking": shipment.tracking_number,
            "event_zh": latest.description_zh,
            "event_en": latest.description_en,
            "delivered": delivered.order_number,
            "delivered_phone": delivered.recipient_phone[-4:],
        }


@pytest.fixture
def scenario(shopmate: ShopMate) -> Iterator[Database]:
    """The session ShopMate's order database, as the scenario left it (and after)."""
    reset_scenario(shopmate.shop_db_url)
    database = Database(shopmate.shop_db_url)
    try:
        yield database
    finally:
        database.dispose()
        reset_scenario(shopmate.shop_db_url)


@dataclass
class CatalogShop:
    bot: ShopMate
    database: Database


@pytest.fixture(scope="module")
def catalog(catalog_shopmate: tuple[ShopMate, Database]) -> CatalogShop:
    return CatalogShop(*catalog_shopmate)


@pytest.mark.parametrize(("language", "turns"), SERVICE + ORDERS + REPAIRS + CHANGES)
def test_service_and_after_sales_conversation(
    shopmate: ShopMate,
    scenario: Database,
    sender: str,
    domain: dict[str, Any],
    language: str,
    turns: Sequence[Turn],
) -> None:
    chat = Chat(shopmate, sender, domain, scenario, facts=scenario_facts(scenario))
    converse(chat, language, turns)


@pytest.mark.parametrize(("language", "turns"), SHOPPING)
def test_shopping_conversation(
    catalog: CatalogShop,
    sender: str,
    domain: dict[str, Any],
    language: str,
    turns: Sequence[Turn],
) -> None:
    chat = Chat(catalog.bot, sender, domain, catalog.database)
    converse(chat, language, turns)
