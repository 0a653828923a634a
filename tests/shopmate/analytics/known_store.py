"""A small tracker store and order database whose report is known (the tests' fixture).

Four conversations with shopper messages and one empty session:
- alice (zh, socketio, 2026-11-01): greet, search -> detail -> cart; contained;
- bob (en, telegram, 2026-11-01): a fallback with a phone number and an e-mail, then a
  complaint that files a ticket (not handed over, not contained);
- carol (zh, socketio, 2026-11-02): asks for a person, handed over, the agent answers
  90 s after the pause, rates 4 (rate_service), ticket "requested" rated 4;
- dave (en, rest, 2026-11-02): a coupon (action_best_offer), a refused cancellation
  (already shipped), a search without details; contained;
- erin: a session started, nothing written (not a conversation).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from shopmate.analytics.events import events_table, metadata
from shopmate.db.models import Base, Ticket, TicketStatus
from shopmate.db.session import Database

DAY1 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC).timestamp()
PHONE = "13812345678"
EMAIL = "bob@example.com"
SENDERS = ("alice", "bob", "carol", "dave", "erin")


class Conversation:
    def __init__(self, sender: str, at: float, language: str, channel: str) -> None:
        self.sender, self.at, self.language, self.channel = sender, at, language, channel
        self.rows: list[dict[str, Any]] = []
        self.event("action", {"name": "action_session_start"}, action="action_session_start")
        self.event("session_started", {})
        self.event("action", {"name": "action_listen"}, action="action_listen")

    def event(
        self,
        kind: str,
        data: dict[str, Any],
        after: float = 0.0,
        intent: str | None = None,
        action: str | None = None,
    ) -> None:
        self.at += after
        body = {"event": kind, "timestamp": self.at, **data}
        self.rows.append(
            {
                "sender_id": self.sender,
                "type_name": kind,
                "timestamp": self.at,
                "intent_name": intent,
                "action_name": action,
                "data": json.dumps(body, ensure_ascii=False),
            }
        )

    def user(
        self, text: str, intent: str, confidence: float, score: float, *extra: dict[str, Any]
    ) -> None:
        entities = [
            {"entity": "language", "value": self.language},
            {"entity": "sentiment", "value": "neutral", "score": score},
            *extra,
        ]
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": entities}
        data = {"text": text, "parse_data": parse, "input_channel": self.channel}
        self.event("user", data, after=10.0, intent=intent)
        self.event("slot", {"name": "language", "value": self.language})

    def action(self, name: str, after: float, utter: str | None = None, **meta: Any) -> None:
        self.event("action", {"name": name}, after=after, action=name)
        if utter or meta:
            metadata = {"utter_action": utter, **meta} if utter else meta
            self.event("bot", {"text": f"[{utter}]", "metadata": metadata})

    def listen(self) -> None:
        self.action("action_listen", 0.0)


def conversations() -> list[Conversation]:
    alice = Conversation("alice", DAY1, "zh", "socketio")
    alice.user("你好", "greet", 0.95, 0.2)
    alice.action("utter_greet", 0.3, "utter_greet")
    alice.listen()
    alice.user("我想买一件红色的连衣裙", "search_product", 0.9, 0.0)
    alice.action("action_search_products", 0.5, "utter_search_results")
    alice.listen()
    alice.user("第二个有黑色的吗", "ask_product_detail", 0.85, 0.4)
    alice.action("action_product_detail", 0.2, "utter_product_detail")
    alice.listen()
    alice.user("加入购物车", "add_to_cart", 0.92, 0.6)
    alice.action("action_add_to_cart", 0.4, "utter_added")
    alice.listen()

    bob = Conversation("bob", DAY1 + 3600, "en", "telegram")
    bob.user(f"blah call me {PHONE} or {EMAIL}", "nlu_fallback", 0.3, -0.5)
    bob.action("action_answer_fallback", 1.0, "utter_default")
    bob.listen()
    bob.user("your delivery is a joke", "complain", 0.8, -0.8)
    bob.action("action_file_complaint", 0.5, "utter_complaint_filed")
    bob.listen()

    carol = Conversation("carol", DAY2, "zh", "socketio")
    carol.user("转人工", "request_human", 0.99, -0.4)
    carol.action("action_handoff", 0.3, "utter_handoff_started")
    carol.event("pause", {}, after=0.01)
    paused = carol.at
    carol.user("有人吗", "greet", 0.7, -0.2)
    carol.event(
        "bot",
        {"text": "您好，我是小美", "metadata": {"agent": "mei"}},
        after=paused + 90 - carol.at,
    )
    carol.event("resume", {}, after=60)
    carol.action("utter_ask_rating", 0.1, "utter_ask_rating")
    carol.listen()
    rating = {"entity": "satisfaction", "value": "4"}
    carol.user('/rate_service{"satisfaction": "4"}', "rate_service", 1.0, 0.5, rating)
    carol.action("action_store_rating", 0.1)
    carol.listen()

    dave = Conversation("dave", DAY2 + 7200, "en", "rest")
    dave.user("any coupons for my cart", "ask_promotion", 0.88, 0.1)
    dave.action("action_best_offer", 0.6, "utter_best_offer")
    dave.listen()
    dave.user("cancel order A1234567", "cancel_order", 0.75, -0.3)
    dave.action("action_start_order_change", 0.2, "utter_refusal_already_shipped")
    dave.listen()
    dave.user("show me running shoes", "search_product", 0.93, 0.0)
    dave.action("action_search_products", 0.5, "utter_search_results")
    dave.listen()

    erin = Conversation("erin", DAY2 + 9000, "zh", "socketio")
    return [alice, bob, carol, dave, erin]


def write_tracker(path: Path) -> Path:
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        for conversation in conversations():
            connection.execute(insert(events_table), conversation.rows)
    engine.dispose()
    return path


def write_shop(url: str) -> str:
    database = Database(url)
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        session.add(
            Ticket(
                conversation_id="bob",
                reason="complaint",
                kind="complaint",
                category="late",
                status=TicketStatus.OPEN,
                language="en",
                created_at=datetime.fromtimestamp(DAY1 + 3620, UTC),
            )
        )
        session.add(
            Ticket(
                conversation_id="carol",
                reason="requested",
                kind="handoff",
                status=TicketStatus.CLOSED,
                language="zh",
                rating=4,
                created_at=datetime.fromtimestamp(DAY2 + 11, UTC),
            )
        )
    database.dispose()
    return url
