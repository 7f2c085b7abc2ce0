"""One retry policy for the queue and the webhooks: exponential, jittered, and never past its cap."""

from __future__ import annotations

import random

from fleet_dashboard.core.backoff import RetryPolicy, backoff_delay
from fleet_dashboard.integrations.delivery import WEBHOOK_RETRY
from fleet_dashboard.notifications.wave import QUEUE_RETRY


def test_no_wait_goes_past_the_cap_however_many_attempts_failed():
    for policy in (QUEUE_RETRY, WEBHOOK_RETRY, RetryPolicy(base_seconds=0.2, max_seconds=1)):
        waits = [policy.delay(attempt) for attempt in range(1, 40) for _ in range(20)]
        assert max(waits) <= policy.max_seconds
        assert min(waits) >= policy.base_seconds / 2


def test_waits_double_and_are_spread_so_retries_do_not_move_in_step():
    rng = random.Random(7)
    first = [backoff_delay(1, base=30, cap=3600, rng=rng) for _ in range(200)]
    third = [backoff_delay(3, base=30, cap=3600, rng=rng) for _ in range(200)]
    assert min(first) >= 15 and max(first) <= 30 and max(first) - min(first) > 10
    assert min(third) >= 60 and max(third) <= 120


def test_a_receivers_retry_after_is_honoured_up_to_the_cap():
    assert WEBHOOK_RETRY.delay(1, retry_after=42) == 42
    assert WEBHOOK_RETRY.delay(1, retry_after=10_000) == WEBHOOK_RETRY.max_seconds
    assert WEBHOOK_RETRY.delay(1, retry_after=-5) == 0
