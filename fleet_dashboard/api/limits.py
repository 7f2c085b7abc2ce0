"""Rate limits with the `limits` library: per client on sessions routes, per organisation on sends."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from fleet_dashboard.api.errors import ApiError


@dataclass
class RateLimits:
    """One app's limits and their counters (in process memory: each server process counts alone)."""

    sessions: str
    send: str
    enqueue: str
    _storage: MemoryStorage = field(default_factory=MemoryStorage)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {
            "sessions": parse(self.sessions), "send": parse(self.send), "enqueue": parse(self.enqueue)}

    def hit(self, name: str, key: str) -> None:
        """Count one request against a limit; ApiError 429 with Retry-After when it is spent."""
        item = self._items[name]
        if self._limiter.hit(item, name, key):
            return
        stats = self._limiter.get_window_stats(item, name, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(f"rate limit exceeded ({item}); retry in {retry_after} s", status=429,
                       code="rate_limited", headers={"Retry-After": str(retry_after),
                                                     "X-RateLimit-Limit": str(item.amount),
                                                     "X-RateLimit-Remaining": "0"})

    def reset(self) -> None:
        """Forget every counter."""
        self._storage.reset()


def client_key(request: Request) -> str:
    """The client a per-client limit counts: the peer address (put a trusted proxy's real IP in front)."""
    return request.client.host if request.client else "unknown"


def limits_of(request: Request) -> RateLimits:
    """The RateLimits this app was built with."""
    return request.app.state.rate_limits


def limit_sessions(request: Request) -> None:
    """Dependency: 100 requests per 15 minutes per client by default, counted before auth."""
    limits_of(request).hit("sessions", client_key(request))
