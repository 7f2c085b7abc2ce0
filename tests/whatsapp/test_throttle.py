"""The send throttle: one organisation's sends are spaced out with jitter; others are not held up."""

from __future__ import annotations

import asyncio
import time
import uuid

from fleet_dashboard.whatsapp.engine.throttle import SendThrottle


async def _stamp(throttle: SendThrottle, org_id: uuid.UUID, n: int) -> list[float]:
    stamps = []
    for _ in range(n):
        await throttle.acquire(org_id)
        stamps.append(time.monotonic())
    return stamps


def test_sends_of_one_organisation_are_spaced_by_rate_plus_jitter():
    throttle = SendThrottle(rate_per_minute=600, jitter_seconds=0.05)  # 0.1 s apart, plus up to 0.05 s
    a, b = uuid.uuid4(), uuid.uuid4()

    async def scenario():
        start = time.monotonic()
        stamps_a, stamps_b = await asyncio.gather(_stamp(throttle, a, 5), _stamp(throttle, b, 5))
        return start, stamps_a, stamps_b

    start, stamps_a, stamps_b = asyncio.run(scenario())
    for stamps in (stamps_a, stamps_b):
        gaps = [y - x for x, y in zip(stamps, stamps[1:], strict=False)]
        assert all(0.095 <= g <= 0.2 for g in gaps), gaps
        assert stamps[0] - start < 0.05  # the first send of an idle organisation goes at once
    # The two organisations ran side by side, not one after the other.
    assert stamps_b[-1] - start < 0.9


def test_concurrent_callers_of_one_organisation_queue_up():
    throttle = SendThrottle(rate_per_minute=1200, jitter_seconds=0)
    org = uuid.uuid4()

    async def scenario():
        async def one():
            await throttle.acquire(org)
            return time.monotonic()

        return sorted(await asyncio.gather(*(one() for _ in range(4))))

    stamps = asyncio.run(scenario())
    assert all(y - x >= 0.045 for x, y in zip(stamps, stamps[1:], strict=False))


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


def test_rate_zero_turns_the_throttle_off():
    throttle = SendThrottle(rate_per_minute=0, jitter_seconds=5)
    org = uuid.uuid4()

    async def scenario():
        start = time.monotonic()
        await _stamp(throttle, org, 50)
        return time.monotonic() - start

    assert not throttle.enabled and asyncio.run(scenario()) < 0.05 and throttle.delay(org) == 0


def test_default_rate_comes_from_settings(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.setenv("SEND_RATE_PER_MINUTE", "30")
    get_settings.cache_clear()
    try:
        assert SendThrottle().interval() == 2.0
    finally:
        get_settings.cache_clear()
