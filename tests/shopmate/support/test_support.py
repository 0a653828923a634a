"""Complaints, support hours, tickets, the summary and the helpdesk webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from shopmate.db.session import Database
from shopmate.support.complaints import ComplaintCategory, ComplaintPolicy, complaint_category
from shopmate.support.escalation import EscalationRules, Trigger, Turn
from shopmate.support.handoff import ConversationFacts, SupportDesk
from shopmate.support.hours import SupportHours
from shopmate.support.summary import template_summary
from shopmate.support.tickets import QueueView, TicketDesk, TicketError, ticket_id_of
from shopmate.support.transcript import transcript_from_events
from shopmate.support.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, HelpdeskWebhook
from tests.factories import add_scenario

C = ComplaintCategory


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("收到的杯子碎了", C.DAMAGED),
        ("the vase arrived cracked", C.DAMAGED),
        ("快递太慢了，一个星期还没到", C.LATE),
        ("my parcel is two weeks late", C.LATE),
        ("发错货了，我买的是红色", C.WRONG_ITEM),
        ("you sent the wrong size", C.WRONG_ITEM),
        ("快递员态度很差，还把包裹扔门口", C.COURIER),
        ("the courier was rude to me", C.COURIER),
        ("衣服洗一次就掉色，质量太差", C.QUALITY),
        ("the seams fell apart after a week", C.QUALITY),
        ("同一笔订单扣了我两次钱", C.BILLING),
        ("I was charged twice for one order", C.BILLING),
        ("你们太让人失望了", C.OTHER),
    ],
)
def test_complaints_are_sorted_by_what_went_wrong(text: str, category: ComplaintCategory) -> None:
    assert complaint_category(text) is category


def test_the_store_chooses_which_complaints_go_to_a_person() -> None:
    policy = ComplaintPolicy(always_human=frozenset({C.BILLING}), damaged_over_cents=50000)
    assert policy.needs_person(C.BILLING, None)
    assert policy.needs_person(C.DAMAGED, 60000)
    assert not policy.needs_person(C.DAMAGED, 35000)
    assert not policy.needs_person(C.DAMAGED, None)  # no proved order: no amount
    assert not ComplaintPolicy().needs_person(C.DAMAGED, 10**9)


def test_support_hours_in_the_store_time_zone() -> None:
    hours = SupportHours.parse("09:00-21:00", "0-4", "Asia/Shanghai")
    monday_noon = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    assert hours.is_open(monday_noon)
    friday_night = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 22:00 Friday in Shanghai
    assert not hours.is_open(friday_night)
    opening = hours.next_opening(friday_night)
    assert (opening.weekday(), opening.hour, opening.minute) == (0, 9, 0)  # Monday 09:00
    assert SupportHours.parse("00:00-00:00").is_open(friday_night)  # around the clock
    assert SupportHours.parse("nonsense").opens == SupportHours().opens


def test_escalation_rules_count_streaks_and_repeated_failures() -> None:
    rules = EscalationRules()
    angry, calm = Turn("track_shipment", -0.8), Turn("inform", 0.0)
    assert rules.trigger([angry]) is None
    assert rules.trigger([calm, angry, angry]) is Trigger.NEGATIVE
    assert rules.trigger([angry, calm, angry]) is None
    assert rules.trigger([Turn("x", -0.4), Turn("x", -0.5)]) is None  # not strongly
    failed = Turn("track_shipment", 0.0, ("action_answer_order",))
    assert rules.trigger([failed]) is None
    assert rules.trigger([failed, calm, failed]) is Trigger.FAILURES
    lost = Turn("nlu_fallback")
    assert rules.trigger([lost, lost]) is None  # off by default: rules offer on fallbacks
    assert EscalationRules(fallbacks_in_a_row=2).trigger([lost, lost]) is Trigger.FALLBACKS
    assert EscalationRules(negative_in_a_row=0).trigger([angry] * 5) is None


EVENTS: list[dict[str, Any]] = [
    {
        "event": "user",
        "text": "订单 A1000003 到哪了",
        "timestamp": 1.0,
        "parse_data": {"intent": {"name": "track_shipment"}},
    },
    {"event": "bot", "text": "请告诉我手机号后四位", "timestamp": 2.0},
    {"event": "slot", "name": "requested_slot", "value": "guest_phone", "timestamp": 2.1},
    {
        "event": "user",
        "text": "5678",
        "timestamp": 3.0,
        "parse_data": {"intent": {"name": "inform"}},
    },
    {
        "event": "user",
        "text": "我手机 13812345678，垃圾！",
        "timestamp": 4.0,
        "parse_data": {"intent": {"name": "complain"}},
    },
    {"event": "bot", "text": "您好，我来处理", "timestamp": 5.0, "metadata": {"agent": "alice"}},
]


def test_the_transcript_masks_phone_digits_and_names_who_spoke() -> None:
    lines = transcript_from_events(EVENTS)
    assert [line["role"] for line in lines] == ["shopper", "bot", "shopper", "shopper", "agent"]
    assert lines[0]["text"] == "订单 A1000003 到哪了"  # an order number is kept
    assert lines[2]["text"] == "****"  # the answer to the phone question
    assert "13812345678" not in json.dumps(lines, ensure_ascii=False)
    assert lines[4]["agent"] == "alice"


def test_the_summary_is_built_from_facts_only() -> None:
    summary = template_summary(
        transcript_from_events(EVENTS),
        trigger="negative",
        language="zh",
        orders=["A1000003"],
        customer_id=None,
        sentiment="negative",
    )
    assert "Trigger: negative" in summary
    assert "guest" in summary
    assert "A1000003" in summary
    assert "complain" in summary
    assert "track_shipment" in summary
    assert "13812345678" not in summary


def facts(conversation: str = "c1", **extra: Any) -> ConversationFacts:
    values: dict[str, Any] = {
        "conversation_id": conversation,
        "language": "zh",
        "sentiment": "negative",
        "transcript": transcript_from_events(EVENTS),
        **extra,
    }
    return ConversationFacts(**values)


OPEN_HOURS = SupportHours.parse("00:00-00:00")
NOW = datetime(2026, 12, 3, 3, tzinfo=UTC)


def test_a_handoff_is_one_ticket_per_conversation_until_closed(database: Database) -> None:
    add_scenario(database)
    support = SupportDesk(TicketDesk(database), OPEN_HOURS, wait_minutes=3, clock=lambda: NOW)
    first = support.hand_over(facts(customer_id=1, orders_proved=["A1000003"]), Trigger.NEGATIVE)
    assert first.open_now
    assert first.wait_minutes == 3
    assert not first.already
    again = support.hand_over(facts(), Trigger.REQUESTED)
    assert again.ticket == first.ticket
    assert again.already
    desk = support.desk
    ticket = desk.get(ticket_id_of(first.ticket) or 0)
    assert (ticket.customer_id, ticket.customer_name, ticket.orders_proved) == (
        1,
        "张三",
        ("A1000003",),
    )
    assert ticket.status == "open"
    assert ticket.reason == "negative"
    assert [t.number for t in desk.queue(QueueView.WAITING, "alice")] == [first.ticket]
    desk.claim(ticket.id, "alice")
    with pytest.raises(TicketError):
        desk.claim(ticket.id, "bob")  # another agent's ticket stays theirs
    assert [t.number for t in desk.queue(QueueView.MINE, "alice")] == [first.ticket]
    assert desk.queue(QueueView.MINE, "bob") == []
    desk.add_note(ticket.id, "alice", "  wants a refund  ")
    closed = desk.close(ticket.id, "alice", [{"role": "agent", "text": "done"}])
    assert closed.status == "closed"
    assert closed.transcript[-1]["text"] == "done"
    assert [n.text for n in desk.get(ticket.id).notes] == ["wants a refund"]
    assert desk.rate("c1", 4) == first.ticket
    assert desk.get(ticket.id).rating == 4
    assert desk.rate("c1", 5) is None  # rated already
    assert support.hand_over(facts(), Trigger.REQUESTED).ticket != first.ticket


def test_after_hours_the_shopper_is_told_when_a_person_answers(database: Database) -> None:
    hours = SupportHours.parse("09:00-21:00", "0-6", "Asia/Shanghai")
    night = datetime(2026, 12, 3, 15, tzinfo=UTC)  # 23:00 in Shanghai
    support = SupportDesk(TicketDesk(database), hours, clock=lambda: night)
    handoff = support.hand_over(facts(), Trigger.REQUESTED)
    assert not handoff.open_now
    assert (handoff.opens_at.day, handoff.opens_at.hour) == (4, 9)


def test_complaints_are_tickets_and_some_go_to_a_person(database: Database) -> None:
    policy = ComplaintPolicy(damaged_over_cents=30000)
    support = SupportDesk(TicketDesk(database), OPEN_HOURS, complaints=policy, clock=lambda: NOW)
    small = support.file_complaint(facts("c2"), C.LATE, None, None)
    assert small.handoff is None
    ticket = support.desk.get(ticket_id_of(small.ticket) or 0)
    assert (ticket.kind, ticket.category, ticket.status) == ("complaint", "late", "pending")
    big = support.file_complaint(facts("c3"), C.DAMAGED, "A1000003", 35000)
    assert big.handoff is not None
    assert big.handoff.ticket != big.ticket
    assert support.desk.get(ticket_id_of(big.ticket) or 0).order_number == "A1000003"


def test_new_tickets_reach_the_helpdesk_signed() -> None:
    received: list[tuple[Any, bytes]] = []

    class Helpdesk(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers, body))  # case-insensitive
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Helpdesk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tickets"
        assert HelpdeskWebhook(url, "s3cret").send({"ticket": "T000001"})
    finally:
        server.shutdown()
    headers, body = received[0]
    expected = hmac.new(b"s3cret", headers[TIMESTAMP_HEADER].encode() + b"." + body, hashlib.sha256)
    assert headers[SIGNATURE_HEADER] == "sha256=" + expected.hexdigest()
    assert json.loads(body) == {"ticket": "T000001"}
    # A helpdesk that is down loses nothing here: False, and the caller goes on.
    assert not HelpdeskWebhook("http://127.0.0.1:9/x", "s").send({"ticket": "T000002"})
    with pytest.raises(ValueError, match="http"):
        HelpdeskWebhook("file:///etc/passwd", "s")
