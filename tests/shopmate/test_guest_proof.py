"""GuestProofGuard: failed phone checks counted per order number, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shopmate.db.models import GuestProofAttempt
from shopmate.db.session import Database
from shopmate.guest_proof import GuestProofGuard, GuestProofPolicy, Outcome, Verdict
from shopmate.settings import get_settings
from tests.conftest import FakeClock
from tests.factories import NOW, add_scenario

ALLOWED, WAIT, LOCKED = Outcome.ALLOWED, Outcome.WAIT, Outcome.LOCKED


def stored_failures(database: Database, number: str) -> int:
    with database.session() as session:
        row = session.get(GuestProofAttempt, number)
        return row.failures if row is not None else 0


def test_a_number_never_tried_is_allowed_with_every_try_left(guard: GuestProofGuard) -> None:
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=5)


def test_the_wait_grows_after_each_failure_and_a_wait_counts_nothing(
    guard: GuestProofGuard, clock: FakeClock, database: Database
) -> None:
    # Default schedule: 0, 0, 2, 5 seconds after the 1st..4th failure.
    assert guard.begin_attempt("A1000003") == Verdict(ALLOWED, remaining=4)
    assert guard.begin_attempt("A1000003") == Verdict(ALLOWED, remaining=3)
    assert guard.begin_attempt("A1000003") == Verdict(ALLOWED, remaining=2)
    assert guard.begin_attempt("A1000003") == Verdict(WAIT, remaining=2, wait_seconds=2)
    clock.advance(seconds=1.5)
    assert guard.begin_attempt("A1000003") == Verdict(WAIT, remaining=2, wait_seconds=1)
    assert stored_failures(database, "A1000003") == 3
    clock.advance(seconds=0.5)
    assert guard.begin_attempt("A1000003") == Verdict(ALLOWED, remaining=1)
    assert guard.check("A1000003") == Verdict(WAIT, remaining=1, wait_seconds=5)
    clock.advance(seconds=5)
    # The fifth try is counted at once: it locks the number unless it succeeds.
    assert guard.begin_attempt("A1000003") == Verdict(ALLOWED, remaining=0, locked_minutes=60)
    assert guard.check("A1000003") == Verdict(LOCKED, locked_minutes=60)


def lock(guard: GuestProofGuard, clock: FakeClock, number: str) -> list[Verdict]:
    verdicts = []
    for _ in range(5):
        verdicts.append(guard.begin_attempt(number))
        clock.advance(seconds=10)
    return verdicts


def test_the_lock_refuses_every_try_until_it_ends_then_the_count_starts_over(
    guard: GuestProofGuard, clock: FakeClock, database: Database
) -> None:
    lock(guard, clock, "A1000003")  # locked at +40 s for 60 minutes
    assert guard.begin_attempt("A1000003") == Verdict(LOCKED, locked_minutes=60)
    clock.advance(minutes=30)
    assert guard.begin_attempt("A1000003") == Verdict(LOCKED, locked_minutes=30)
    assert stored_failures(database, "A1000003") == 5  # refused tries count nothing
    clock.advance(minutes=29, seconds=49)
    assert guard.check("A1000003") == Verdict(LOCKED, locked_minutes=1)
    clock.advance(seconds=1)
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=5)
    assert guard.begin_attempt("A1000003") == Verdict(ALLOWED, remaining=4)


def test_a_number_of_no_order_is_treated_exactly_like_a_real_one(
    database: Database, clock: FakeClock
) -> None:
    add_scenario(database)
    guard = GuestProofGuard(database, clock=clock)
    real = [*lock(guard, clock, "A1000003"), guard.check("A1000003")]
    clock.now = NOW
    invented = [*lock(guard, clock, "A9999999"), guard.check("A9999999")]
    assert real == invented
    assert invented[-1].outcome is LOCKED


def test_a_success_clears_the_count_and_the_lock_its_own_try_set(
    guard: GuestProofGuard, clock: FakeClock
) -> None:
    for _ in range(3):
        guard.begin_attempt("A1000003")
    guard.record_success("A1000003")
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=5)
    verdicts = lock(guard, clock, "A1000003")
    assert verdicts[-1].remaining == 0
    guard.record_success("A1000003")  # the fifth try was the right phone
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=5)


def test_numbers_are_counted_apart_and_a_quiet_hour_forgets_failures(
    guard: GuestProofGuard, clock: FakeClock
) -> None:
    guard.begin_attempt("A1000003")
    guard.begin_attempt("A1000003")
    assert guard.check("A1000002") == Verdict(ALLOWED, remaining=5)
    clock.advance(minutes=59)
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=3)
    clock.advance(minutes=1)
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=5)


def test_a_number_counts_as_one_however_it_is_typed(guard: GuestProofGuard) -> None:
    for typed in ["A1000003", "a1000003", "a-1000003", " A 1000003 "]:
        guard.record_failure(typed)
    assert guard.check("A1000003").remaining == 1
    guard.record_success("a1000003")
    assert guard.check("A1000003").remaining == 5


def test_record_failure_counts_whatever_the_state(guard: GuestProofGuard, clock: FakeClock) -> None:
    assert guard.record_failure("A1000003") == Verdict(ALLOWED, remaining=4)
    assert guard.record_failure("A1000003") == Verdict(ALLOWED, remaining=3)
    assert guard.record_failure("A1000003") == Verdict(WAIT, remaining=2, wait_seconds=2)
    guard.record_failure("A1000003")
    assert guard.record_failure("A1000003") == Verdict(LOCKED, locked_minutes=60)
    assert guard.record_failure("A1000003") == Verdict(LOCKED, locked_minutes=60)


def run_together(count: int, call: object) -> list[Verdict]:
    barrier = threading.Barrier(count)
    results: list[Verdict] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(call())  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return results


def test_two_failures_at_the_same_moment_are_both_counted(
    guard: GuestProofGuard, database: Database
) -> None:
    run_together(2, lambda: guard.record_failure("A1000003"))
    assert stored_failures(database, "A1000003") == 2
    assert guard.check("A1000003") == Verdict(ALLOWED, remaining=3)


def test_parallel_guesses_from_many_conversations_get_only_the_tries_the_schedule_allows(
    guard: GuestProofGuard, database: Database
) -> None:
    # Eight conversations try at once: the delays 0, 0, 2 let three through, the rest wait.
    verdicts = run_together(8, lambda: guard.begin_attempt("A1000003"))
    assert sorted(v.outcome for v in verdicts).count(ALLOWED) == 3
    assert [v for v in verdicts if not v.allowed] == [Verdict(WAIT, 2, wait_seconds=2)] * 5
    assert stored_failures(database, "A1000003") == 3


def test_the_policy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = get_settings()
    assert (
        defaults.guest_proof_max_failures,
        defaults.guest_proof_delays_s,
        defaults.guest_proof_lock_minutes,
    ) == (5, (0, 0, 2, 5), 60)
    monkeypatch.setenv("GUEST_PROOF_MAX_FAILURES", "3")
    monkeypatch.setenv("GUEST_PROOF_DELAYS_S", "1, 4,10")
    monkeypatch.setenv("GUEST_PROOF_LOCK_MINUTES", "15")
    settings = get_settings()
    assert settings.guest_proof_max_failures == 3
    assert settings.guest_proof_delays_s == (1, 4, 10)
    assert settings.guest_proof_lock_minutes == 15
    policy = GuestProofPolicy(delays=settings.guest_proof_delays_s)
    assert [policy.delay_after(n).total_seconds() for n in range(6)] == [0, 1, 4, 10, 10, 10]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"max_failures": 0}, "max_failures"),
        ({"delays": (0, -1)}, "delays"),
        ({"lock": timedelta(0)}, "lock"),
    ],
)
def test_a_nonsensical_policy_is_refused(bad: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        GuestProofPolicy(**bad)  # type: ignore[arg-type]
