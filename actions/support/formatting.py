"""Money, variants, lists and names as the shopper reads them (zh and en)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from shopmate.choices import color_label
from shopmate.db.vocabulary import CATEGORY_BY_CODE

# Names of payment methods as the shopper reads them (data labels, not sentences).
METHOD_NAMES = {
    "zh": {"alipay": "支付宝", "wechat_pay": "微信支付", "unionpay": "银联卡", "card": "银行卡"},
    "en": {"alipay": "Alipay", "wechat_pay": "WeChat Pay", "unionpay": "UnionPay", "card": "card"},
}
ONE_SIZE = "one-size"


def money(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def local_time(moment: datetime | None, timezone: str) -> str:
    """A moment in the store's time zone, to the minute; "" for none."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def size_label(size: str, language: str) -> str:
    """A size as the shopper reads it: the catalog's "one-size" is 均码 / one size."""
    if size == ONE_SIZE:
        return "均码" if language == "zh" else "one size"
    return size


def variant_label(color: str | None, size: str | None, language: str) -> str:
    """ "白色 M", "black", and for a one-size product with no colour "均码" / "one size"."""
    parts = [color_label(color, language), "" if size in (None, ONE_SIZE) else str(size)]
    return " ".join(p for p in parts if p) or ("均码" if language == "zh" else "one size")


def joined(values: Sequence[str], language: str) -> str:
    if not values:
        return "—"
    return ("、" if language == "zh" else ", ").join(values)


def category_name(code: str | None, language: str) -> str:
    spec = CATEGORY_BY_CODE.get(code or "")
    if spec is None:
        return "商品" if language == "zh" else "products"
    return spec.zh if language == "zh" else spec.en


def method_name(method: str | None, language: str) -> str:
    """How the shopper paid, as they call it ("支付宝"); an unknown method as stored."""
    return METHOD_NAMES[language].get(method or "", method or "")
