"""What a complaint is about, from the shopper's words, and whether it goes to a person."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ComplaintCategory(enum.StrEnum):
    DAMAGED = "damaged"
    LATE = "late"
    WRONG_ITEM = "wrong_item"
    COURIER = "courier"
    QUALITY = "quality"
    BILLING = "billing"
    OTHER = "other"


# Checked in this order: "快递员把箱子摔坏了" is the courier's doing, not only damage.
CUES: tuple[tuple[ComplaintCategory, tuple[str, ...]], ...] = (
    (
        ComplaintCategory.COURIER,
        (
            "快递员",
            "快递小哥",
            "配送员",
            "骑手",
            "送货员",
            "态度",
            "courier",
            "driver",
            "delivery guy",
            "delivery man",
            "rude",
            "left it outside",
            "left the package",
            "threw",
            "放门口",
            "扔",
            "不送上楼",
            "不打电话",
            "没打电话",
        ),
    ),
    (
        ComplaintCategory.BILLING,
        (
            "扣款",
            "扣了",
            "扣钱",
            "多收",
            "收费",
            "乱收",
            "价格不对",
            "优惠券",
            "发票",
            "账单",
            "退款金额",
            "charged",
            "charge",
            "billing",
            "bill",
            "overcharged",
            "invoice",
            "coupon",
            "refund amount",
            "payment",
            "price was wrong",
            "double",
        ),
    ),
    (
        ComplaintCategory.WRONG_ITEM,
        (
            "发错",
            "寄错",
            "错发",
            "少发",
            "漏发",
            "少了",
            "不是我买的",
            "不是我要的",
            "颜色不对",
            "尺码不对",
            "型号不对",
            "wrong",
            "missing",
            "not what i ordered",
            "instead of",
            "only got",
            "incomplete",
        ),
    ),
    (
        ComplaintCategory.DAMAGED,
        (
            "破损",
            "破了",
            "坏了",
            "碎",
            "裂",
            "压扁",
            "变形",
            "漏",
            "划痕",
            "损坏",
            "摔坏",
            "broken",
            "damaged",
            "cracked",
            "smashed",
            "shattered",
            "dented",
            "leaking",
            "torn",
            "scratched",
            "crushed",
            "doesn't work",
            "does not work",
            "dead on arrival",
        ),
    ),
    (
        ComplaintCategory.LATE,
        (
            "还没到",
            "还没收到",
            "还没发货",
            "太慢",
            "慢",
            "延迟",
            "超时",
            "迟迟",
            "等了",
            "催",
            "物流不动",
            "不更新",
            "late",
            "delay",
            "still not",
            "hasn't arrived",
            "not arrived",
            "never arrived",
            "waiting",
            "slow",
            "weeks",
            "overdue",
        ),
    ),
    (
        ComplaintCategory.QUALITY,
        (
            "质量",
            "掉色",
            "褪色",
            "起球",
            "开线",
            "脱线",
            "开胶",
            "做工",
            "假货",
            "异味",
            "缩水",
            "色差",
            "quality",
            "fake",
            "faded",
            "pilling",
            "fell apart",
            "falling apart",
            "cheap",
            "smell",
            "shrank",
            "flimsy",
            "defective",
            "poorly made",
        ),
    ),
)


# "我要投诉，转人工", "I want to complain to a real person": the complaint, and a person.
ASKS_FOR_PERSON = (
    "转人工",
    "人工客服",
    "找人工",
    "真人",
    "客服经理",
    "human",
    "real person",
    "a person",
    "an agent",
    "manager",
    "supervisor",
)


def asks_for_person(text: str) -> bool:
    lowered = str(text or "").lower()
    return any(cue in lowered for cue in ASKS_FOR_PERSON)


def complaint_category(text: str) -> ComplaintCategory:
    """The first category whose words the complaint uses; OTHER when none."""
    lowered = str(text or "").lower()
    for category, words in CUES:
        if any(word in lowered for word in words):
            return category
    return ComplaintCategory.OTHER


@dataclass(frozen=True)
class ComplaintPolicy:
    """Which complaints a person handles at once rather than a ticket in the queue.

    ``always_human``: categories that always go to a person; ``damaged_over_cents``:
    damaged goods on an order worth at least this much go to a person (0: never by
    amount)."""

    always_human: frozenset[ComplaintCategory] = frozenset()
    damaged_over_cents: int = 0

    def needs_person(self, category: ComplaintCategory, order_total_cents: int | None) -> bool:
        if category in self.always_human:
            return True
        return (
            category is ComplaintCategory.DAMAGED
            and self.damaged_over_cents > 0
            and order_total_cents is not None
            and order_total_cents >= self.damaged_over_cents
        )
