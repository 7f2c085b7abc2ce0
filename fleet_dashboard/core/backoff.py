"""Retry delays: exponential, capped, with jitter so many sessions or receivers never retry in step.

Used by WhatsApp reconnects and webhook retries."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): half fixed, half random."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + (rng or random).random() * ceiling / 2
