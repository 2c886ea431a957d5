"""Token buckets: a burst, then a rate; a refused attempt takes nothing; memory stays bounded."""

from hypothesis import given
from hypothesis import strategies as st

from services.runtime.rate_limit import Rate, RateLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_a_refill_with_the_wait_said_in_whole_seconds() -> None:
    ticks = Ticks()
    limiter = RateLimiter(Rate(burst=3, per_minute=6), now=ticks)  # one every 10 s
    assert [limiter.wait_for("a") for _ in range(3)] == [None, None, None]
    assert limiter.wait_for("a") == 10
    ticks.now = 4.0
    assert limiter.wait_for("a") == 6  # refused attempts took nothing: the wait only shrinks
    ticks.now = 10.0
    assert limiter.wait_for("a") is None
    assert limiter.wait_for("a") == 10
    assert limiter.wait_for("b") is None  # keys are apart


def test_a_flood_of_new_keys_keeps_memory_bounded() -> None:
    limiter = RateLimiter(Rate(burst=1, per_minute=1), max_keys=100, now=Ticks())
    for i in range(10_000):
        limiter.wait_for(f"login-{i}")
    assert len(limiter) == 100
    assert limiter.wait_for("login-9999") == 60  # the most recent ones are remembered


@given(
    burst=st.integers(1, 50),
    per_minute=st.floats(0.5, 600),
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=300),
)
def test_never_more_than_the_burst_plus_the_rate_over_any_span(
    burst: int, per_minute: float, gaps: list[float]
) -> None:
    ticks = Ticks()
    limiter = RateLimiter(Rate(burst, per_minute), now=ticks)
    admitted: list[float] = []
    for gap in gaps:
        ticks.now += gap
        if limiter.wait_for("k") is None:
            admitted.append(ticks.now)
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            span = admitted[j] - start
            assert j - i + 1 <= burst + span * per_minute / 60 + 1e-6


@given(per_minute=st.floats(0.5, 600), waited=st.floats(0, 120))
def test_the_retry_after_said_is_enough(per_minute: float, waited: float) -> None:
    ticks = Ticks()
    limiter = RateLimiter(Rate(1, per_minute), now=ticks)
    assert limiter.wait_for("k") is None
    ticks.now = min(waited, 60 / per_minute * 0.99)
    wait = limiter.wait_for("k")
    assert wait is not None and wait >= 1
    ticks.now += wait
    assert limiter.wait_for("k") is None
