"""Per-organisation send pacing: bursts get numbers banned, so sends are spaced out with jitter."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Callable
from functools import lru_cache

from fleet_dashboard.core.settings import get_settings


class SendThrottle:
    """Spaces one organisation's sends 60/rate seconds apart plus random jitter; rate 0 turns it off."""

    def __init__(
        self,
        *,
        rate_per_minute: float | None = None,
        jitter_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ):
        self._rate = rate_per_minute
        self._jitter = jitter_seconds
        self._clock = clock
        self._rng = rng
        self._next_at: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()

    @property
    def rate_per_minute(self) -> float:
        """Sends per minute per organisation; read from settings unless given."""
        if self._rate is not None:
            return self._rate

        return get_settings().send_rate_per_minute

    @property
    def jitter_seconds(self) -> float:
        """Upper bound of the random extra gap after each send."""
        if self._jitter is not None:
            return self._jitter

        return get_settings().send_jitter_seconds

    @property
    def enabled(self) -> bool:
        """False when the rate is 0 (benchmarks, trusted test numbers)."""
        return self.rate_per_minute > 0

    def interval(self) -> float:
        """The base gap between two sends of one organisation, in seconds."""
        return 60.0 / self.rate_per_minute if self.enabled else 0.0

    def delay(self, org_id: uuid.UUID) -> float:
        """Seconds until this organisation may send again without waiting; 0 when it may now."""
        if not self.enabled:
            return 0.0
        return max(0.0, self._next_at.get(org_id, 0.0) - self._clock())

    def per_window(self, seconds: float) -> int:
        """How many sends one organisation may make in a window; a claim should not take more."""
        if not self.enabled:
            return 1_000_000
        return max(1, int(seconds / (self.interval() + self.jitter_seconds / 2)))

    def reserve(self, org_id: uuid.UUID) -> float:
        """Book the next free slot for this organisation and return how long to wait for it."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_at.get(org_id, 0.0))
            self._next_at[org_id] = slot + self.interval() + self._rng() * max(0.0, self.jitter_seconds)
        return slot - now

    async def acquire(self, org_id: uuid.UUID) -> None:
        """Wait for this organisation's next slot; concurrent callers queue up in booking order."""
        wait = self.reserve(org_id)
        if wait > 0:
            await asyncio.sleep(wait)

    def forget(self, org_id: uuid.UUID) -> None:
        """Drop an organisation's pacing state, e.g. when this process no longer owns it."""
        with self._lock:
            self._next_at.pop(org_id, None)


@lru_cache
def get_throttle() -> SendThrottle:
    """The process's throttle, shared by the engine (which paces) and the worker (which plans)."""
    return SendThrottle()
