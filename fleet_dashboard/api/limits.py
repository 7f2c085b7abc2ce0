"""API rate limits with the `limits` library, counted per organisation after authentication.

A limit keyed by client address punishes everyone behind one reverse proxy or NAT for one client's
requests; the organisation the credential speaks for is what each limit protects, so that is the key.
Counters are shared by every process through Redis when REDIS_URL is set (fleet_dashboard.core.ratelimit).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from fastapi import Request
from limits import RateLimitItem, parse

from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.core.ratelimit import Limiter, client_address


@dataclass
class RateLimits:
    """One app's limits and their counters."""

    sessions: str
    send: str
    enqueue: str
    _limiter: Limiter = field(default_factory=Limiter)

    def __post_init__(self) -> None:
        self._items: dict[str, RateLimitItem] = {
            "sessions": parse(self.sessions), "send": parse(self.send), "enqueue": parse(self.enqueue)}

    def hit(self, name: str, key: str) -> None:
        """Count one request against a limit; ApiError 429 with Retry-After when it is spent."""
        item = self._items[name]
        if self._limiter.hit(item, "api", name, key):
            return
        reset_at = self._limiter.reset_time(item, "api", name, key) or time.time() + 1
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise ApiError(f"rate limit exceeded ({item}); retry in {retry_after} s", status=429,
                       code="rate_limited", headers={"Retry-After": str(retry_after),
                                                     "X-RateLimit-Limit": str(item.amount),
                                                     "X-RateLimit-Remaining": "0"})

    def reset(self) -> None:
        """Forget every counter."""
        self._limiter.reset()


def request_address(request: Request) -> str:
    """The client's address for every audit row and limit of an HTTP request (API, downloads, uploads): the peer,
    or the TRUSTED_PROXIES-th X-Forwarded-For entry from the right (core/ratelimit.client_address)."""
    return client_address(request.client.host if request.client else None, request.headers.get("x-forwarded-for"))


def limits_of(request: Request) -> RateLimits:
    """The RateLimits this app was built with."""
    return request.app.state.rate_limits
