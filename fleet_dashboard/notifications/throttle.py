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
        # When each organisation's last booked send goes: the next one's typing starts after it, never during it.
        self._last_slot: dict[uuid.UUID, float] = {}
        # Organisations sending slower than the rate (a number at risk, or just back from a ban): their factor.
        self._slow: dict[uuid.UUID, float] = {}
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

    def interval(self, org_id: uuid.UUID | None = None) -> float:
        """The gap between two sends of one organisation (the base gap without one), in seconds."""
        if not self.enabled:
            return 0.0
        return 60.0 / self.rate_per_minute * (self._slow.get(org_id, 1.0) if org_id is not None else 1.0)

    def set_pace(self, org_id: uuid.UUID, factor: float) -> None:
        """Space this organisation's sends `factor` times the usual gap (2 = half pace; 1 = back to normal)."""
        with self._lock:
            if factor <= 1.0:
                self._slow.pop(org_id, None)
            else:
                self._slow[org_id] = factor

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

    def reserve(self, org_id: uuid.UUID, lead: float = 0.0) -> float:
        """Book the next free slot for this organisation and return how long to wait for it.

        `lead`: seconds the send needs before its slot (typing presence): the slot is at least that far away, and
        the lead is spent inside the wait, so it counts in the pacing budget rather than on top of it."""
        lead = max(0.0, lead)
        if not self.enabled and not lead:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now + lead, self._next_at.get(org_id, 0.0) if self.enabled else 0.0)
            if lead:  # one message typed at a time: this one's typing starts once the one before went
                slot = max(slot, self._last_slot.get(org_id, 0.0) + lead)
                self._last_slot[org_id] = slot
            if self.enabled:
                self._next_at[org_id] = slot + self.interval(org_id) + self._rng() * max(0.0, self.jitter_seconds)
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
            self._last_slot.pop(org_id, None)
            self._slow.pop(org_id, None)


@lru_cache
def get_throttle() -> SendThrottle:
    """The process's throttle, shared by the engine (which paces) and the worker (which plans)."""
    return SendThrottle()


# A text this long (characters) types for TYPING_MAX_SECONDS; a shorter one proportionally less.
TYPING_FULL_LENGTH = 200


def typing_seconds(length: int, rng: Callable[[], float] = random.random) -> float:
    """How long to show "typing..." before a text of `length` characters: TYPING_MIN_SECONDS to
    TYPING_MAX_SECONDS, growing with the text, plus or minus TYPING_JITTER_SECONDS, never outside the two."""
    s = get_settings()
    low, high = s.typing_min_seconds, max(s.typing_min_seconds, s.typing_max_seconds)
    base = low + (high - low) * min(1.0, max(0, length) / TYPING_FULL_LENGTH)
    return min(high, max(low, base + (2 * rng() - 1) * s.typing_jitter_seconds))
