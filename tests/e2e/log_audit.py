"""Look for the seeded customers' personal data in log files (e2e and load tests).

`seeded_personal_data(url)` reads the names, phones, e-mail addresses and street
addresses of the order database (customers, their addresses, the recipients of their
orders); `personal_data_in_logs(paths, needles)` says which of them a log holds, as
(path, needle) pairs, never the line, so a failing test prints no more than it found.

A needle is also looked for as JSON (`\\u5f20...`: Rasa's structlog lines escape non-ASCII),
percent-encoded (a URL) and as escaped UTF-8 bytes (a bytes repr), case-insensitively;
a phone also by its digits with the separators between them removed, in logs whose
digit runs are compacted the same way (138-1234-5678 in a log is 13812345678).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from shopmate.db import models as m
from shopmate.db.session import Database

MIN_WIDTH = 4
# Values that say nothing about a person even where a customer's field holds them.
COMMON_WORDS = frozenset(
    {
        "test",
        "user",
        "guest",
        "admin",
        "customer",
        "none",
        "null",
        "unknown",
        "default",
        "home",
        "office",
        "example",
        "shop",
        "store",
        "order",
        "客户",
        "用户",
        "顾客",
        "测试",
        "先生",
        "女士",
        "小姐",
        "地址",
        "公司",
    }
)
PHONE_LIKE = re.compile(r"\+?[\d\s\-().]{7,}")
# Separators between two digits on one line: removed before looking for a phone's digits.
BETWEEN_DIGITS = re.compile(r"(?<=\d)[ \t\-().]{1,2}(?=\d)")
# A street address is also looked for by its parts between numbers and spaces
# ("浦东新区世纪大道 100 号" → "浦东新区世纪大道"): a log may hold part of it.
ADDRESS_PARTS = re.compile(r"[\s\d,，、#号-]+")


def width(value: str) -> int:
    """Characters, a Chinese (wide) one counted as two: 张三 says as much as "Anna"."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def meaningful(value: str) -> bool:
    value = value.strip()
    return width(value) >= MIN_WIDTH and value.casefold() not in COMMON_WORDS


def phone_digits(value: str) -> str | None:
    """The digits of a phone-like needle (7 or more), else None."""
    if not PHONE_LIKE.fullmatch(value.strip()):
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits if len(digits) >= 7 else None


def seeded_personal_data(database_url: str) -> list[str]:
    """Every customer's name, phone and e-mail, and every name, phone and street
    address on their addresses and orders, without the values too short or too common
    to mean anyone; sorted, each once."""
    database = Database(database_url)
    values: set[str] = set()
    streets: set[str] = set()
    try:
        with database.session() as session:
            for name, phone, email in session.execute(
                select(m.Customer.name, m.Customer.phone, m.Customer.email)
            ):
                values.update(v for v in (name, phone, email) if v)
            people = [
                *session.execute(select(m.Address.recipient, m.Address.phone, m.Address.line1)),
                *session.execute(select(m.Order.recipient, m.Order.recipient_phone, m.Order.line1)),
            ]
            for recipient, phone, line1 in people:
                values.update(v for v in (recipient, phone) if v)
                if line1:
                    streets.add(line1)
    finally:
        database.dispose()
    for street in streets:
        values.add(street)
        values.update(ADDRESS_PARTS.split(street))
    return sorted(v.strip() for v in values if meaningful(v))


def _forms(needle: str) -> set[str]:
    """How `needle` may be written in a log line, casefolded."""
    forms = {
        needle,
        json.dumps(needle)[1:-1],  # \\u5f20\\u4e09
        quote(needle, safe=""),  # %E5%BC%A0
        repr(needle.encode())[2:-1],  # \\xe5\\xbc\\xa0
    }
    return {form.casefold() for form in forms if form}


def personal_data_in_logs(
    log_paths: Iterable[str | Path], needles: Iterable[str]
) -> list[tuple[str, str]]:
    """(log path, needle) for each needle found in each log; an empty list when the
    logs hold none of them. A missing log is an error, not a clean one."""
    wanted = [(needle, _forms(needle), phone_digits(needle)) for needle in needles if needle]
    found: list[tuple[str, str]] = []
    for path in log_paths:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
        folded = text.casefold()
        compact = BETWEEN_DIGITS.sub("", text)
        for needle, forms, digits in wanted:
            if any(form in folded for form in forms) or (digits and digits in compact):
                found.append((str(path), needle))
    return found
