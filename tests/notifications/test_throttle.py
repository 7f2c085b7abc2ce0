"""The send throttle: one organisation's sends are spaced out with jitter; others are not held up."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest

from fleet_dashboard.notifications import throttle as throttle_module
from fleet_dashboard.notifications.throttle import SendThrottle


class Clock:
    """The throttle's clock, moved by the test; `sleep` stands in for asyncio.sleep and notes what it was asked."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """A throttle's waits on a clock the test moves: no wall-clock bound for a busy machine to break."""
    clock = Clock()
    monkeypatch.setattr(throttle_module, "asyncio", SimpleNamespace(sleep=clock.sleep))
    return clock


def _sends(throttle: SendThrottle, clock: Clock, org_id: uuid.UUID, n: int) -> list[float]:
    """When each of n sends goes, one after the other: each books its slot, then the clock reaches it."""
    slots = []
    for _ in range(n):
        clock.now += throttle.reserve(org_id)
        slots.append(clock.now)
    return slots


def test_sends_of_one_organisation_are_spaced_by_rate_plus_jitter(clock):
    throttle = SendThrottle(rate_per_minute=600, jitter_seconds=0.05, clock=clock)  # 0.1 s apart, plus up to 0.05 s
    a, b = uuid.uuid4(), uuid.uuid4()
    start = clock.now
    sends_a = _sends(throttle, clock, a, 5)
    assert sends_a[0] == start  # the first send of an idle organisation goes at once
    gaps = [y - x for x, y in zip(sends_a, sends_a[1:], strict=False)]
    assert all(0.1 <= g <= 0.15 for g in gaps), gaps
    assert len({round(g, 9) for g in gaps}) > 1, "the jitter varies the gaps"
    # Another organisation is not held up by the first one's pacing: its first send goes at once too.
    clock.now = start
    assert throttle.reserve(b) == 0
    assert throttle.delay(a) > 0 and 0.1 <= throttle.delay(b) <= 0.15


def test_concurrent_callers_of_one_organisation_queue_up(clock):
    throttle = SendThrottle(rate_per_minute=1200, jitter_seconds=0, clock=clock)
    org = uuid.uuid4()

    async def scenario():
        await asyncio.gather(*(throttle.acquire(org) for _ in range(4)))

    asyncio.run(scenario())
    # Four callers at one instant: the first goes at once, each next one waits one more slot (3 s / 60).
    assert clock.sleeps == pytest.approx([0.05, 0.1, 0.15])


def test_delay_tells_a_planner_when_the_next_slot_is():
    now = [100.0]
    throttle = SendThrottle(rate_per_minute=20, jitter_seconds=2.0, clock=lambda: now[0], rng=lambda: 0.5)
    org = uuid.uuid4()
    assert throttle.delay(org) == 0
    assert throttle.reserve(org) == 0
    assert throttle.delay(org) == 4.0  # 60/20 = 3 s plus half of the 2 s jitter
    now[0] += 4.0
    assert throttle.delay(org) == 0
    assert throttle.per_window(60) == 15


def test_rate_zero_turns_the_throttle_off(clock):
    throttle = SendThrottle(rate_per_minute=0, jitter_seconds=5, clock=clock)
    org = uuid.uuid4()

    async def scenario():
        for _ in range(50):
            await throttle.acquire(org)

    asyncio.run(scenario())
    assert not throttle.enabled and clock.sleeps == [] and throttle.delay(org) == 0


def test_default_rate_comes_from_settings(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.setenv("SEND_RATE_PER_MINUTE", "30")
    get_settings.cache_clear()
    try:
        assert SendThrottle().interval() == 2.0
    finally:
        get_settings.cache_clear()
