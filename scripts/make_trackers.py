"""A tracker store of realistic conversations, written as Rasa's SQL tracker store does
(table `events`: id, sender_id, type_name, timestamp, intent_name, action_name, data),
for measuring `make report` on real volume (docs/analytics.md).

    python -m scripts.make_trackers --conversations 10000 --out var/bench/tracker-10k.db \
        [--database-url sqlite:///var/bench/shop-10k.db]   # tickets for the handoffs

Mixed intents in both languages, channels, sentiment scores, fallbacks, the search ->
detail -> cart funnel, coupons, after-sales refusals, handoffs with an agent's replies,
ratings; deterministic (--seed). With --database-url, the handoffs and complaints get
their tickets (the tables are created when missing).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from shopmate.analytics.events import events_table, metadata, tracker_url
from shopmate.db.models import Base, Ticket, TicketStatus
from shopmate.db.session import Database, create_db_engine

CHANNELS = [("socketio", 0.55), ("rest", 0.15), ("telegram", 0.1), ("wecom", 0.1), ("slack", 0.1)]
# One step: (intent, zh text, en text, [(action, response or None), ...]).
Step = tuple[str, str, str, list[tuple[str, str | None]]]
SCENARIOS: dict[str, list[Step]] = {
    "shopping": [
        (
            "search_product",
            "我想买一件红色的连衣裙",
            "I want a red dress",
            [("action_search_products", "utter_search_results")],
        ),
        (
            "ask_product_detail",
            "第二个有黑色的吗",
            "does the second one come in black",
            [("action_product_detail", "utter_product_detail")],
        ),
        ("add_to_cart", "加入购物车", "add it to my cart", [("action_add_to_cart", "utter_added")]),
    ],
    "browse": [
        (
            "search_product",
            "有没有跑步鞋",
            "any running shoes",
            [("action_search_products", "utter_search_results")],
        ),
        (
            "refine_search",
            "便宜一点的",
            "something cheaper",
            [("action_refine_search", "utter_search_results")],
        ),
    ],
    "deal": [
        (
            "ask_promotion",
            "有哪些方法可以降低购物车里的商品价格？",
            "any coupons for my cart?",
            [("action_best_offer", "utter_best_offer")],
        ),
    ],
    "order": [
        (
            "check_order_status",
            "我的订单 A1234567 到哪了",
            "where is my order A1234567",
            [("order_form", None), ("action_answer_order", "utter_order_status")],
        ),
    ],
    "cancel": [
        (
            "cancel_order",
            "取消订单",
            "cancel my order",
            [
                ("action_start_order_change", None),
                ("action_submit_order_change", "utter_cancel_done"),
            ],
        ),
    ],
    "cancel_refused": [
        (
            "cancel_order",
            "我要取消订单",
            "please cancel the order",
            [("action_start_order_change", "utter_refusal_already_shipped")],
        ),
    ],
    "return_refused": [
        (
            "request_return",
            "这个我想退货",
            "I'd like to return this",
            [("action_start_order_change", "utter_refusal_return_window_closed")],
        ),
    ],
    "exchange": [
        (
            "request_exchange",
            "换个大一号的",
            "exchange it for a larger size",
            [
                ("action_start_order_change", None),
                ("action_submit_order_change", "utter_exchange_done"),
            ],
        ),
    ],
    "faq": [
        ("ask_faq", "怎么开发票", "how do I get an invoice", [("action_answer_faq", "utter_faq")]),
    ],
    "confused": [
        (
            "nlu_fallback",
            "那个东西怎么弄啊我的邮箱是 li@example.com",
            "hmm the thingy, mail me at bo@example.com",
            [("action_answer_fallback", "utter_default")],
        ),
    ],
    "complaint": [
        (
            "complain",
            "快递太慢了，垃圾服务",
            "the delivery is terribly slow",
            [("action_file_complaint", "utter_complaint_filed")],
        ),
    ],
}
WEIGHTS = {
    "shopping": 14,
    "browse": 14,
    "deal": 8,
    "order": 16,
    "cancel": 5,
    "cancel_refused": 4,
    "return_refused": 3,
    "exchange": 3,
    "faq": 14,
    "confused": 9,
    "complaint": 5,
}
NEGATIVE_INTENTS = {"complain", "nlu_fallback"}


@dataclass
class Writer:
    rows: list[dict[str, Any]] = field(default_factory=list)
    sender: str = ""
    at: float = 0.0

    def add(
        self,
        kind: str,
        data: dict[str, Any],
        intent: str | None = None,
        action: str | None = None,
        after_s: float = 0.05,
    ) -> None:
        self.at += after_s
        data = {"event": kind, "timestamp": self.at, **data}
        self.rows.append(
            {
                "sender_id": self.sender,
                "type_name": kind,
                "timestamp": self.at,
                "intent_name": intent,
                "action_name": action,
                "data": json.dumps(data, ensure_ascii=False),
            }
        )

    def user(
        self,
        rng: random.Random,
        text: str,
        intent: str,
        language: str,
        channel: str,
        score: float,
        entities: list[dict[str, Any]] | None = None,
    ) -> None:
        confidence = rng.uniform(0.3, 0.6) if intent == "nlu_fallback" else rng.uniform(0.55, 1.0)
        label = "negative" if score < -0.3 else "positive" if score > 0.3 else "neutral"
        found = [
            {"entity": "language", "value": language, "extractor": "LanguageTagger"},
            {
                "entity": "sentiment",
                "value": label,
                "score": round(score, 3),
                "extractor": "SentimentTagger",
            },
            *(entities or []),
        ]
        parse = {
            "intent": {"name": intent, "confidence": round(confidence, 4)},
            "entities": found,
            "text": text,
            "message_id": f"{self.sender}-{len(self.rows)}",
        }
        self.add(
            "user",
            {"text": text, "parse_data": parse, "input_channel": channel, "metadata": {}},
            intent=intent,
            after_s=rng.uniform(3, 40),
        )
        self.add("slot", {"name": "language", "value": language})
        self.add("slot", {"name": "sentiment", "value": label})

    def action(self, rng: random.Random, name: str) -> None:
        self.add(
            "action",
            {"name": name, "policy": "RulePolicy", "confidence": 1.0},
            action=name,
            after_s=rng.uniform(0.02, 0.6),
        )

    def bot(self, text: str, utter: str | None, after_s: float = 0.01, **metadata: Any) -> None:
        meta = {"utter_action": utter, **metadata} if utter else metadata
        self.add("bot", {"text": text, "data": {}, "metadata": meta}, after_s=after_s)


def conversation(
    rng: random.Random, index: int, start: float
) -> tuple[Writer, dict[str, Any] | None]:
    writer = Writer(sender=f"{rng.getrandbits(64):016x}-{index}", at=start)
    language = "zh" if rng.random() < 0.62 else "en"
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    mood = rng.uniform(-0.2, 0.6)
    writer.add("action", {"name": "action_session_start"}, action="action_session_start")
    writer.add("session_started", {})
    writer.action(rng, "action_listen")
    if rng.random() < 0.5:
        writer.user(rng, "你好" if language == "zh" else "hi", "greet", language, channel, 0.3)
        writer.action(rng, "utter_greet")
        writer.bot("您好！" if language == "zh" else "Hello!", "utter_greet")
        writer.action(rng, "action_listen")
    names = rng.choices(list(WEIGHTS), list(WEIGHTS.values()), k=rng.randint(1, 3))
    negative_run = 0
    ticket = None
    for name in names:
        for intent, zh, en, actions in SCENARIOS[name]:
            score = max(
                -1.0,
                min(
                    1.0, mood + rng.uniform(-0.4, 0.2) - (0.9 if intent in NEGATIVE_INTENTS else 0)
                ),
            )
            writer.user(rng, zh if language == "zh" else en, intent, language, channel, score)
            negative_run = negative_run + 1 if score < -0.6 else 0
            for action, utter in actions:
                writer.action(rng, action)
                if utter:
                    writer.bot(f"[{utter}]", utter)
            writer.action(rng, "action_listen")
            if intent == "complain":
                ticket = {"kind": "complaint", "reason": "complaint", "category": "late"}
            mood = score
    wants_person = (negative_run >= 1 and rng.random() < 0.5) or rng.random() < 0.05
    if wants_person:
        asked = rng.random() < 0.5
        if asked:
            writer.user(
                rng,
                "转人工" if language == "zh" else "a human please",
                "request_human",
                language,
                channel,
                -0.4,
            )
        writer.action(rng, "action_handoff")
        writer.bot("[utter_handoff_started]", "utter_handoff_started")
        writer.add("pause", {}, after_s=0.01)
        writer.user(
            rng,
            "有人吗？" if language == "zh" else "anyone there?",
            "greet",
            language,
            channel,
            -0.2,
        )
        delay = rng.lognormvariate(4.5, 0.8)  # about 90 s, a long tail
        writer.bot(
            "您好，我是客服小美" if language == "zh" else "Hi, Mei here",
            None,
            agent="mei",
            after_s=delay,
        )
        writer.user(
            rng, "好的谢谢" if language == "zh" else "ok thanks", "thank", language, channel, 0.5
        )
        writer.add("resume", {}, after_s=rng.uniform(30, 300))
        writer.action(rng, "utter_ask_rating")
        writer.bot("[utter_ask_rating]", "utter_ask_rating")
        writer.action(rng, "action_listen")
        rating = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 5])[0]
        writer.user(
            rng,
            f'/rate_service{{"satisfaction": "{rating}"}}',
            "rate_service",
            language,
            channel,
            0.2,
            [{"entity": "satisfaction", "value": str(rating)}],
        )
        writer.action(rng, "action_store_rating")
        writer.action(rng, "action_listen")
        reason = "requested" if asked else "negative"
        ticket = {"kind": "handoff", "reason": reason, "category": None, "rating": rating}
    else:
        writer.user(rng, "谢谢" if language == "zh" else "thanks", "thank", language, channel, 0.6)
        writer.action(rng, "utter_thank")
        writer.bot("[utter_thank]", "utter_thank")
        writer.action(rng, "action_listen")
    if ticket is not None:
        ticket.update(conversation_id=writer.sender, created_at=start + 60, language=language)
    return writer, ticket


def generate(
    count: int, seed: int, days: int = 30
) -> Iterator[tuple[Writer, dict[str, Any] | None]]:
    rng = random.Random(seed)
    end = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    for index in range(count):
        start = end - rng.uniform(0, days * 86400)
        yield conversation(rng, index, start)


def write(out: str, count: int, seed: int, database_url: str | None) -> tuple[int, int]:
    url = tracker_url(out)
    if "://" not in out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).unlink(missing_ok=True)
    engine = create_db_engine(url)
    metadata.create_all(engine)
    tickets: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    total = 0
    with engine.begin() as connection:
        for writer, ticket in generate(count, seed):
            rows += writer.rows
            if ticket is not None:
                tickets.append(ticket)
            if len(rows) >= 20_000:
                connection.execute(insert(events_table), rows)
                total, rows = total + len(rows), []
        if rows:
            connection.execute(insert(events_table), rows)
            total += len(rows)
    engine.dispose()
    if database_url:
        _write_tickets(database_url, tickets)
    return total, len(tickets)


def _write_tickets(database_url: str, tickets: list[dict[str, Any]]) -> None:
    database = Database(database_url)
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        for item in tickets:
            session.add(
                Ticket(
                    conversation_id=item["conversation_id"],
                    reason=item["reason"],
                    status=TicketStatus.CLOSED,
                    kind=item["kind"],
                    category=item.get("category"),
                    language=item["language"],
                    rating=item.get("rating"),
                    created_at=datetime.fromtimestamp(item["created_at"], UTC),
                    closed_at=datetime.fromtimestamp(item["created_at"], UTC)
                    + timedelta(minutes=5),
                )
            )
    database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument(
        "--out",
        default="var/bench/tracker-10k.db",
        help="an SQLite path, or a database URL (its events table is added to)",
    )
    parser.add_argument("--database-url", help="an order database to add the tickets to")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    events, tickets = write(args.out, args.conversations, args.seed, args.database_url)
    print(
        f"{args.conversations} conversations, {events} events, {tickets} tickets "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
