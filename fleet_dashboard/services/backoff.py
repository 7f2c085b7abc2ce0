"""Reconnect delays: exponential, capped, with jitter so many sessions never retry in step."""

from __future__ import annotations

import random


def reconnect_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect attempt `attempt` (1-based): half fixed, half random."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + (rng or random).random() * ceiling / 2
