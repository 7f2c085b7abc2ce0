"""Retry delays: exponential, capped, with jitter so many sessions or receivers never retry in step.

Used by WhatsApp reconnects, the queue's and the webhooks' retries (RetryPolicy), engine restarts and JWKS fetches."""

from __future__ import annotations

import random
from dataclasses import dataclass


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): half fixed, half random."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + (rng or random).random() * ceiling / 2


@dataclass(frozen=True)
class RetryPolicy:
    """How a job retries: after failed attempt n it waits backoff_delay(n) (never past `max_seconds`), or what the
    other side asked for (Retry-After, capped too), up to `max_attempts` attempts (0: the job's own limit, such as
    a notification's max_attempts); `timeout_seconds` bounds one attempt where the caller bounds it."""

    base_seconds: float
    max_seconds: float
    max_attempts: int = 0
    timeout_seconds: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(self.max_seconds, max(0.0, retry_after))
        return backoff_delay(attempt, base=self.base_seconds, cap=self.max_seconds)
