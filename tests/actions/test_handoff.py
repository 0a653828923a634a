"""Handing over to a person, complaints and ratings, over a real ticket database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.complaints import ActionFileComplaint
from actions.handoff import ActionHandoff, ActionOfferHandoff, ActionStoreRating
from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from shopmate.llm import Generation, GenerationRequest, TaskKind
from shopmate.orders import OrderService
from shopmate.support.complaints import ComplaintCategory, ComplaintPolicy
from shopmate.support.handoff import SupportDesk
from shopmate.support.hours import SupportHours
from shopmate.support.tickets import TicketDesk, ticket_id_of
from tests.conftest import SHOPPER, TrackerBuilder
from tests.factories import NOW, add_scenario

TOKENS = CustomerTokens("h" * 40)
ALICE = {"customer_token": TOKENS.sign(1, SHOPPER)}
OPEN = SupportHours.parse("00:00-00:00")
EVENTS: list[dict[str, Any]] = [
    {"event": "user", "text": "我是张三，客户1号，订单A1000003坏了", "timestamp": 1.0},
    {"event": "bot", "text": "抱歉", "timestamp": 2.0},
]


@pytest.fixture
def support(database: Database) -> SupportDesk:
    add_scenario(database)
    policy = ComplaintPolicy(always_human=frozenset({ComplaintCategory.BILLING}))
    return SupportDesk(TicketDesk(database), OPEN, complaints=policy, clock=lambda: NOW)


@pytest.fixture
def orders(database: Database) -> OrderService:
    return OrderService(database, clock=lambda: NOW)


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


async def test_asking_for_a_person_files_a_ticket_and_pauses(
    support: SupportDesk, tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(
        "转人工",
        intent="request_human",
        events=EVENTS,
        metadata=ALICE,
        slots={"sentiment": "negative", "verified_orders": ["A1000001"]},
    )
    events = await ActionHandoff(support, TOKENS).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_handoff_started"]
    number = dispatcher.messages[0]["ticket"]
    assert events[-1]["event"] == "pause"
    assert {"event": "slot", "name": "handoff_ticket", "value": number}.items() <= events[0].items()
    ticket = support.desk.get(ticket_id_of(number) or 0)
    assert (ticket.customer_id, ticket.reason, ticket.sentiment) == (1, "requested", "negative")
    assert ticket.orders_proved == ("A1000001",)
    assert [line["text"] for line in ticket.transcript] == [e["text"] for e in EVENTS]


async def test_asking_again_while_with_a_person_keeps_the_ticket(
    support: SupportDesk, tracker_for: TrackerBuilder
) -> None:
    action = ActionHandoff(support, TOKENS)
    first = CollectingDispatcher()
    await action.run(first, tracker_for("转人工", intent="request_human"), {})
    again = CollectingDispatcher()
    events = await action.run(again, tracker_for("人工呢", intent="request_human"), {})
    assert responses(again) == ["utter_handoff_still_open"]
    assert again.messages[0]["ticket"] == first.messages[0]["ticket"]
    assert events[-1]["event"] == "pause"


async def test_a_claim_in_the_text_is_not_a_customer(
    support: SupportDesk, tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("I am customer 1, get me a human", intent="request_human", events=EVENTS)
    await ActionHandoff(support, TOKENS).run(dispatcher, tracker, {})
    ticket = support.desk.get(ticket_id_of(dispatcher.messages[0]["ticket"]) or 0)
    assert ticket.customer_id is None
    assert ticket.orders_proved == ()


async def test_after_hours_the_shopper_hears_when(
    database: Database, tracker_for: TrackerBuilder
) -> None:
    night = datetime(2026, 12, 3, 15, tzinfo=UTC)  # 23:00 in Shanghai
    hours = SupportHours.parse("09:00-21:00", "0-6", "Asia/Shanghai")
    support = SupportDesk(TicketDesk(database), hours, clock=lambda: night)
    dispatcher = CollectingDispatcher()
    await ActionHandoff(support, TOKENS).run(
        dispatcher, tracker_for("人工", intent="request_human"), {}
    )
    message = dispatcher.messages[0]
    assert message["response"] == "utter_handoff_after_hours"
    assert message["opens_at"] == "2026-12-04 09:00"
    assert message["hours"] == "09:00–21:00"


async def test_a_database_that_is_down_gets_an_apology_and_no_pause(
    tracker_for: TrackerBuilder,
) -> None:
    broken = SupportDesk(TicketDesk(Database("sqlite:////nonexistent/dir/x.db")), OPEN)
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(broken, TOKENS).run(dispatcher, tracker_for("转人工"), {})
    assert responses(dispatcher) == ["utter_handoff_unavailable"]
    assert events == []


@pytest.mark.parametrize(
    ("text", "language", "next_step"),
    [
        ("收到的杯子碎了", "zh", "utter_complaint_next_damaged"),
        ("my parcel is two weeks late", "en", "utter_complaint_next_late"),
        ("快递员态度太差了", "zh", "utter_complaint_next_courier"),
    ],
)
async def test_a_complaint_is_recorded_with_the_next_step(
    support: SupportDesk,
    orders: OrderService,
    tracker_for: TrackerBuilder,
    text: str,
    language: str,
    next_step: str,
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(text, intent="complain", language=language)
    events = await ActionFileComplaint(support, orders, TOKENS).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_complaint_recorded", next_step]
    ticket = support.desk.get(ticket_id_of(dispatcher.messages[0]["ticket"]) or 0)
    assert (ticket.kind, ticket.language) == ("complaint", language)
    assert events == []


async def test_a_complaint_names_an_order_only_when_it_is_proved(
    support: SupportDesk, orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    action = ActionFileComplaint(support, orders, TOKENS)
    entities = [{"entity": "order_id", "value": "A1000003"}]
    guest = CollectingDispatcher()
    await action.run(
        guest, tracker_for("A1000003 破损了", intent="complain", entities=entities), {}
    )
    ticket = support.desk.get(ticket_id_of(guest.messages[0]["ticket"]) or 0)
    assert ticket.order_number is None  # typed, not proved
    alice = CollectingDispatcher()
    tracker = tracker_for("A1000003 破损了", intent="complain", entities=entities, metadata=ALICE)
    await action.run(alice, tracker, {})
    ticket = support.desk.get(ticket_id_of(alice.messages[0]["ticket"]) or 0)
    assert (ticket.order_number, ticket.customer_id) == ("A1000003", 1)


async def test_a_complaint_the_store_gives_to_a_person_is_handed_over(
    support: SupportDesk, orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("I was charged twice", intent="complain", language="en")
    events = await ActionFileComplaint(support, orders, TOKENS).run(dispatcher, tracker, {})
    assert responses(dispatcher) == [
        "utter_complaint_recorded",
        "utter_complaint_to_person",
        "utter_handoff_started",
    ]
    assert events[-1]["event"] == "pause"


async def test_a_complaint_that_asks_for_a_person_is_handed_over(
    support: SupportDesk, orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("快递坏了，我要投诉，转人工", intent="complain")
    events = await ActionFileComplaint(support, orders, TOKENS).run(dispatcher, tracker, {})
    assert responses(dispatcher)[-1] == "utter_handoff_started"
    ticket = support.desk.get(ticket_id_of(dispatcher.messages[-1]["ticket"]) or 0)
    assert (ticket.kind, ticket.reason) == ("handoff", "requested")
    assert events[-1]["event"] == "pause"


async def test_the_offer_reverts_itself(tracker_for: TrackerBuilder) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionOfferHandoff().run(dispatcher, tracker_for("垃圾"), {})
    assert responses(dispatcher) == ["utter_offer_handoff"]
    assert [e["event"] for e in events] == ["undo"]


async def test_the_rating_is_stored_on_the_closed_ticket(
    support: SupportDesk, tracker_for: TrackerBuilder
) -> None:
    handoff = await ActionHandoff(support, TOKENS).run(
        CollectingDispatcher(), tracker_for("转人工", intent="request_human"), {}
    )
    number = handoff[0]["value"]
    rate = ActionStoreRating(support)
    early = CollectingDispatcher()
    rating = [{"entity": "satisfaction", "value": "4"}]
    await rate.run(early, tracker_for("/rate_service", intent="rate_service", entities=rating), {})
    assert responses(early) == ["utter_nothing_to_rate"]  # still with the agent
    ticket_id = ticket_id_of(number) or 0
    support.desk.close(ticket_id, "alice", [])
    dispatcher = CollectingDispatcher()
    await rate.run(dispatcher, tracker_for("打4分", intent="rate_service", entities=rating), {})
    assert responses(dispatcher) == ["utter_thanks_for_rating"]
    assert support.desk.get(ticket_id).rating == 4


class WritingGenerator:
    """A generator whose text passed its checks (the real checks: tests/shopmate/llm)."""

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        return Generation(text="The guest is upset about a broken order.", backend="fake")


async def test_the_agent_reads_the_generators_summary_above_the_facts(
    support: SupportDesk, tracker_for: TrackerBuilder
) -> None:
    generator = WritingGenerator()
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("转人工", intent="request_human", events=EVENTS)
    await ActionHandoff(support, TOKENS, generator=generator).run(dispatcher, tracker, {})
    ticket = support.desk.get(ticket_id_of(dispatcher.messages[0]["ticket"]) or 0)
    assert ticket.summary.startswith(
        "The guest is upset about a broken order.\n\nTrigger: requested"
    )
    (request,) = generator.requests
    assert request.task is TaskKind.SUMMARISE_FOR_AGENT
    assert "Trigger: requested" in request.facts


async def test_without_a_model_the_summary_is_the_facts(
    support: SupportDesk, tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionHandoff(support, TOKENS).run(
        dispatcher, tracker_for("人工", intent="request_human"), {}
    )
    ticket = support.desk.get(ticket_id_of(dispatcher.messages[0]["ticket"]) or 0)
    assert ticket.summary.startswith("Trigger: requested\nShopper: guest")


async def test_the_generator_is_asked_only_for_a_new_handoff(
    support: SupportDesk, orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    generator = WritingGenerator()
    complaint = ActionFileComplaint(support, orders, TOKENS, generator=generator)
    await complaint.run(
        CollectingDispatcher(), tracker_for("收到的杯子碎了", intent="complain"), {}
    )
    assert generator.requests == []  # a ticket in the queue, nobody to brief
    handoff = ActionHandoff(support, TOKENS, generator=generator)
    for text in ("转人工", "人工呢"):
        await handoff.run(CollectingDispatcher(), tracker_for(text, intent="request_human"), {})
    assert len(generator.requests) == 1  # the second finds the open ticket
