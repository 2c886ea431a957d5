"""Brute-force protection: after N failures in a row a login is locked for a while, whatever the
password, and whether or not the login exists (so logins cannot be enumerated)."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    duration: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempts:
    consecutive_failures: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime, policy: LockoutPolicy) -> "Attempts":
        failures = 0 if self.locked_until is not None and not self.is_locked(now) else self.consecutive_failures
        failures += 1
        if failures >= policy.threshold:
            return Attempts(consecutive_failures=failures, locked_until=now + policy.duration)
        return replace(self, consecutive_failures=failures, locked_until=None)

    def after_success(self) -> "Attempts":
        return Attempts()

    def just_locked(self, before: "Attempts", now: datetime) -> bool:
        return self.is_locked(now) and not before.is_locked(now)
