"""Server-side limits on guests proving an order with phone digits.

A guest proves an order with its number and the phone on it (the last 4 digits or all
of them), so there are only 10,000 answers to guess. The failed tries are counted here,
in the order database, per order number the shopper typed, not in the conversation:
`/restart`, a new session or a new sender id starts nothing over. Numbers of orders that
do not exist are counted exactly like real ones, so no answer tells whether an order
exists.

After each failure the next try waits a little longer (`GuestProofPolicy.delays`);
after `max_failures` the number is locked for `lock`. A success clears the count; so do
the end of a lock and a quiet spell as long as the lock since the last failure.

`begin_attempt` counts a try *before* the phone is compared, in one transaction that
holds the row (PostgreSQL: `SELECT … FOR UPDATE`; SQLite: the INSERT that makes sure
the row exists takes the database's write lock), so many conversations guessing at
once cannot all slip past one check; `record_success` then takes the count back.
Nothing here ever sees a phone number.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shopmate.db.columns import utcnow
from shopmate.db.models import GuestProofAttempt
from shopmate.db.session import Database
from shopmate.identity import normalize_order_number


class Outcome(enum.StrEnum):
    ALLOWED = "allowed"
    WAIT = "wait"
    LOCKED = "locked"


@dataclass(frozen=True)
class Verdict:
    """What the guard says about a phone check for one order number.

    `remaining`: failures still allowed before the lock. From `begin_attempt` with
    ALLOWED the try is already counted, so it is what is left if this try fails (0:
    this try has locked the number unless it succeeds, for `locked_minutes`).
    """

    outcome: Outcome
    remaining: int = 0
    wait_seconds: int = 0
    locked_minutes: int = 0

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


@dataclass(frozen=True)
class GuestProofPolicy:
    """How many failures lock a number, the waits between tries, and the lock."""

    max_failures: int = 5
    # Seconds the next try must wait after the 1st, 2nd, … failure; the last repeats.
    delays: tuple[float, ...] = (0, 0, 2, 5)
    lock: timedelta = timedelta(minutes=60)

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if any(delay < 0 for delay in self.delays):
            raise ValueError("delays must not be negative")
        if self.lock <= timedelta(0):
            raise ValueError("lock must be positive")

    def delay_after(self, failures: int) -> timedelta:
        if failures <= 0 or not self.delays:
            return timedelta(0)
        return timedelta(seconds=self.delays[min(failures, len(self.delays)) - 1])


@dataclass(frozen=True)
class _State:
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


def _seconds_up(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _minutes_up(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds() / 60))


def _key(order_number: str) -> str:
    """One row per order number however it was typed ("a-1000003" is A1000003)."""
    return normalize_order_number(order_number) or order_number.strip().upper()[:16]


class GuestProofGuard:
    """Failed phone checks per order number, shared by every conversation."""

    def __init__(
        self,
        database: Database,
        policy: GuestProofPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.policy = policy or GuestProofPolicy()
        self.clock = clock

    # --- what the actions call -------------------------------------------------------

    def check(self, order_number: str) -> Verdict:
        """The verdict for a phone check now; reads only, counts nothing."""
        now = self.clock()
        with self.database.session() as session:
            row = session.get(GuestProofAttempt, _key(order_number))
            return self._verdict(self._state(row, now), now)

    def begin_attempt(self, order_number: str) -> Verdict:
        """Count one try now, unless the number is locked or must wait (then nothing is
        counted and the verdict says LOCKED or WAIT). Call `record_success` when the
        phone turns out right; a wrong one needs nothing more."""
        return self._count(order_number, enforce=True)

    def record_failure(self, order_number: str) -> Verdict:
        """Count one failure whatever the current state; the verdict afterwards."""
        counted = self._count(order_number, enforce=False)
        if counted.remaining <= 0:
            return Verdict(Outcome.LOCKED, locked_minutes=counted.locked_minutes)
        return self.check(order_number)

    def record_success(self, order_number: str) -> None:
        """The phone was right: forget the failures (and a lock this very try set)."""
        with self.database.session() as session:
            session.execute(
                delete(GuestProofAttempt).where(
                    GuestProofAttempt.order_number == _key(order_number)
                )
            )

    # --- rules -------------------------------------------------------------------------

    def _state(self, row: GuestProofAttempt | None, now: datetime) -> _State:
        """The row as it counts at `now`: an ended lock or a long quiet spell is forgotten."""
        if row is None:
            return _State()
        if row.locked_until is not None:
            if now < row.locked_until:
                return _State(row.failures, row.last_failure_at, row.locked_until)
            return _State()  # the lock is over: start again
        if row.last_failure_at is None or now - row.last_failure_at >= self.policy.lock:
            return _State()
        return _State(row.failures, row.last_failure_at)

    def _verdict(self, state: _State, now: datetime) -> Verdict:
        if state.locked_until is not None:
            return Verdict(Outcome.LOCKED, locked_minutes=_minutes_up(state.locked_until - now))
        remaining = max(0, self.policy.max_failures - state.failures)
        if state.last_failure_at is not None:
            ready_at = state.last_failure_at + self.policy.delay_after(state.failures)
            if now < ready_at:
                return Verdict(Outcome.WAIT, remaining, wait_seconds=_seconds_up(ready_at - now))
        return Verdict(Outcome.ALLOWED, remaining)

    def _count(self, order_number: str, *, enforce: bool) -> Verdict:
        now = self.clock()
        with self.database.session() as session:
            row = self._locked_row(session, order_number)
            state = self._state(row, now)
            if enforce:
                verdict = self._verdict(state, now)
                if not verdict.allowed:
                    return verdict
            failures = state.failures + 1
            locked_until = state.locked_until
            if locked_until is None and failures >= self.policy.max_failures:
                locked_until = now + self.policy.lock
            row.failures, row.last_failure_at, row.locked_until = failures, now, locked_until
            remaining = max(0, self.policy.max_failures - failures)
            minutes = _minutes_up(locked_until - now) if locked_until is not None else 0
            return Verdict(Outcome.ALLOWED, remaining, locked_minutes=minutes)

    @staticmethod
    def _locked_row(session: Session, order_number: str) -> GuestProofAttempt:
        """The number's row, created if absent, held until the transaction ends."""
        dialect = session.get_bind().dialect.name
        order_number = _key(order_number)
        values = {"order_number": order_number, "failures": 0}
        if dialect == "postgresql":
            session.execute(
                postgresql_insert(GuestProofAttempt)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["order_number"])
            )
        elif dialect == "sqlite":
            session.execute(
                sqlite_insert(GuestProofAttempt)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["order_number"])
            )
        else:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
            raise NotImplementedError(dialect)
        row = session.scalars(
            select(GuestProofAttempt)
            .where(GuestProofAttempt.order_number == order_number)
            .with_for_update()
        ).one()
        return row
