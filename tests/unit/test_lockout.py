from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.auth.domain.accounts import normalize_login
from services.auth.domain.lockout import Attempts, LockoutPolicy

POLICY = LockoutPolicy(threshold=5, duration=timedelta(minutes=15))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def fail(attempts: Attempts, times: int, now: datetime = T0) -> Attempts:
    for _ in range(times):
        attempts = attempts.after_failure(now, POLICY)
    return attempts


def test_four_failures_do_not_lock_the_fifth_does_for_fifteen_minutes() -> None:
    four = fail(Attempts(), 4)
    assert not four.is_locked(T0)
    five = four.after_failure(T0, POLICY)
    assert five.just_locked(four, T0)
    assert five.locked_until == T0 + timedelta(minutes=15)
    assert five.is_locked(T0 + timedelta(minutes=14, seconds=59))
    assert not five.is_locked(T0 + timedelta(minutes=15))


def test_after_the_lock_expires_the_count_starts_again() -> None:
    locked = fail(Attempts(), 5)
    later = T0 + timedelta(minutes=16)
    again = locked.after_failure(later, POLICY)
    assert again.consecutive_failures == 1
    assert not again.is_locked(later)


def test_a_success_resets_everything() -> None:
    assert fail(Attempts(), 4).after_success() == Attempts()


@given(st.lists(st.booleans(), max_size=40))
def test_never_locked_without_five_failures_in_a_row(outcomes: list[bool]) -> None:
    attempts, streak = Attempts(), 0
    for success in outcomes:
        if success and not attempts.is_locked(T0):
            attempts, streak = attempts.after_success(), 0
        elif not success and not attempts.is_locked(T0):
            attempts, streak = attempts.after_failure(T0, POLICY), streak + 1
        assert attempts.is_locked(T0) == (streak >= POLICY.threshold)


def test_logins_compare_as_people_type_them() -> None:
    assert normalize_login("  Demo.Simple ") == "demo.simple"
