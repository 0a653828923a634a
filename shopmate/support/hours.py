"""When the support team works, in the store's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class SupportHours:
    """Daily opening hours (``opens``..``closes``; equal means around the clock) and
    working days (0 = Monday)."""

    opens: time = time(9, 0)
    closes: time = time(21, 0)
    days: frozenset[int] = frozenset(range(7))
    timezone: str = "Asia/Shanghai"

    @classmethod
    def parse(cls, hours: str, days: str = "0-6", timezone: str = "Asia/Shanghai") -> SupportHours:
        """ "09:00-21:00" and "0-4" (Monday to Friday) or "0,1,2"; bad values keep the
        defaults rather than stop the server."""
        match = HOURS.match(hours or "")
        opens, closes = cls.opens, cls.closes
        if match:
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60:
                opens = time(h1, m1)
                closes = time(0, 0) if h2 == 24 else time(h2, m2)
        return cls(opens, closes, _days(days), timezone)

    def _local(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.timezone))

    def is_open(self, now: datetime) -> bool:
        local = self._local(now)
        if local.weekday() not in self.days:
            return False
        if self.opens == self.closes:
            return True
        moment = local.time()
        if self.opens < self.closes:
            return self.opens <= moment < self.closes
        return moment >= self.opens or moment < self.closes  # past midnight

    def next_opening(self, now: datetime) -> datetime:
        """When a person next answers (``now`` itself when open), in local time."""
        local = self._local(now)
        if self.is_open(now):
            return local
        for day in range(8):
            candidate = datetime.combine(
                (local + timedelta(days=day)).date(), self.opens, tzinfo=local.tzinfo
            )
            if candidate > local and candidate.weekday() in self.days:
                return candidate
        return local


def _days(value: str) -> frozenset[int]:
    found: set[int] = set()
    for part in (value or "").split(","):
        bounds = [p.strip() for p in part.split("-")]
        if all(b.isdigit() for b in bounds) and 1 <= len(bounds) <= 2:
            low, high = int(bounds[0]), int(bounds[-1])
            found.update(d for d in range(low, high + 1) if 0 <= d <= 6)
    return frozenset(found) or frozenset(range(7))
