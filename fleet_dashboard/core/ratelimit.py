"""Rate-limit plumbing shared by the API and the dashboard: where counters live, and which address a client has.

Counters live in Redis when REDIS_URL is set, so every server process counts together; otherwise in this
process's memory. A Redis outage lets requests through (logged) rather than failing every request.
"""

from __future__ import annotations

import ipaddress
import logging

from limits import RateLimitItem
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fleet_dashboard.core.settings import get_settings

log = logging.getLogger(__name__)


def new_storage() -> Storage:
    """Redis storage under RATE_LIMIT_PREFIX when REDIS_URL is set, else process memory."""
    settings = get_settings()
    if settings.redis_url:
        return storage_from_string(settings.redis_url, key_prefix=settings.rate_limit_prefix)
    return MemoryStorage()


class Limiter:
    """A moving-window limiter over new_storage() that fails open, with a warning, when Redis is unreachable."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage or new_storage()
        self._limiter = MovingWindowRateLimiter(self.storage)

    def _guard(self, action, fallback, *args):
        try:
            return action(*args)
        except Exception as exc:  # redis-py raises its own ConnectionError/TimeoutError family
            if isinstance(self.storage, MemoryStorage):
                raise
            log.warning("rate-limit storage unavailable, not limiting: %s", exc)
            return fallback

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one; False when the limit was already spent."""
        return self._guard(self._limiter.hit, True, item, *identifiers)

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """True when one more would still be allowed (counts nothing)."""
        return self._guard(self._limiter.test, True, item, *identifiers)

    def reset_time(self, item: RateLimitItem, *identifiers: str) -> float | None:
        """When the window frees a slot (epoch seconds), or None when unknown."""
        stats = self._guard(self._limiter.get_window_stats, None, item, *identifiers)
        return stats.reset_time if stats is not None else None

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        """Forget one key's count."""
        self._guard(self._limiter.clear, None, item, *identifiers)

    def reset(self) -> None:
        """Forget every counter under this storage (its prefix, for Redis)."""
        self._guard(self.storage.reset, None)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: int | None = None) -> str:
    """The client's address: the TCP peer, or with TRUSTED_PROXIES=n the n-th X-Forwarded-For entry from the right.

    Each trusted proxy appends the address it saw, so the entry n from the right was written by the outermost
    trusted proxy and cannot be forged by the client; anything further left can. Same rule as Reflex's
    trusted_proxy_hops, which rxconfig sets from the same setting for the dashboard."""
    trusted = get_settings().trusted_proxies if trusted_proxies is None else trusted_proxies
    if trusted > 0 and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if len(hops) >= trusted:
            return hops[-trusted]
    return peer or "unknown"


def limit_key(address: str) -> str:
    """What an address-keyed limit counts: an IPv4 address itself, an IPv6 client's whole /64.

    One IPv6 host usually holds a /64 and can pick any address in it, so a per-address budget would be
    2^64 budgets."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "-"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)
