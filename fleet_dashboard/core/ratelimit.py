"""Rate-limit plumbing shared by the API and the dashboard: where counters live, and which address a client has.

Counters live in Redis when REDIS_URL is set, so every server process counts together; otherwise in this
process's memory. While Redis is unreachable each process counts alone, in memory (logged once per outage), and
goes back to Redis as soon as it answers: a limit then allows up to one allowance per web worker, never more
and never none (docs/ARCHITECTURE.md, "Failure modes").
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time

from limits import RateLimitItem
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fleet_dashboard.core.settings import get_settings

log = logging.getLogger(__name__)
# A Redis that does not answer in this long counts as away (a frozen server must not stall every request).
REDIS_TIMEOUT_SECONDS = 1.0
# While Redis is away, it is tried again at most this often; requests in between count in memory at once.
REDIS_RETRY_SECONDS = 2.0


def storage_url(redis_url: str) -> str:
    """REDIS_URL as the `limits` library names it: `unix://` (a socket, as Reflex takes it) is `redis+unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def new_storage() -> Storage:
    """Redis storage under RATE_LIMIT_PREFIX when REDIS_URL is set, else process memory."""
    settings = get_settings()
    if settings.redis_url:
        return storage_from_string(storage_url(settings.redis_url), key_prefix=settings.rate_limit_prefix,
                                   socket_timeout=REDIS_TIMEOUT_SECONDS,
                                   socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    return MemoryStorage()


class Limiter:
    """A moving-window limiter over new_storage(); while Redis is unreachable it counts in this process's memory."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage or new_storage()
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._away_since: float | None = None
        self._next_try = 0.0
        self._lock = threading.Lock()
        # Redis counts atomically (a Lua script); limits' memory storage makes each key's lock on first use, so two
        # threads' first hits can race past it: in memory, count one at a time.
        self._memory_lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        """True while Redis is away and this process counts alone."""
        return self._away_since is not None

    def _in_memory(self, limiter: MovingWindowRateLimiter, name: str, *args):
        with self._memory_lock:
            return getattr(limiter, name)(*args)

    def _guard(self, name: str, *args):
        if isinstance(self.storage, MemoryStorage):
            return self._in_memory(self._limiter, name, *args)
        if self._away_since is None or time.monotonic() >= self._next_try:
            try:
                result = getattr(self._limiter, name)(*args)
            except Exception as exc:  # redis-py raises its own ConnectionError/TimeoutError family
                with self._lock:
                    if self._away_since is None:
                        self._away_since = time.monotonic()
                        log.warning("rate-limit storage unavailable (%s): counting in this process until it "
                                    "answers", exc)
                    self._next_try = time.monotonic() + REDIS_RETRY_SECONDS
            else:
                if self._away_since is not None:
                    with self._lock:
                        if self._away_since is not None:
                            log.warning("rate-limit storage back after %.0f s", time.monotonic() - self._away_since)
                            self._away_since = None
                return result
        return self._in_memory(self._local, name, *args)

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one, atomically; False when the limit was already spent."""
        return self._guard("hit", item, *identifiers)

    def refund(self, item: RateLimitItem, *identifiers: str) -> None:
        """Give back one counted hit: an attempt counted before it was judged turned out to be no abuse.

        The moving window keeps one timestamp per hit (a Redis list, or a list in memory), newest first; dropping
        the newest frees one slot and leaves the window's end where it was."""
        key = item.key_for(*identifiers)
        if not isinstance(self.storage, MemoryStorage) and not self.degraded:
            try:
                self.storage.get_connection().lpop(self.storage.prefixed_key(key))
                return
            except Exception as exc:  # Redis went away since the hit: the slot expires with its window
                log.warning("rate-limit storage unavailable, slot not given back: %s", exc)
                return
        storage = self.storage if isinstance(self.storage, MemoryStorage) else self._local.storage
        with self._memory_lock:
            events = storage.events.get(key)
            if events:
                events.pop(0)

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """True when one more would still be allowed (counts nothing)."""
        return self._guard("test", item, *identifiers)

    def reset_time(self, item: RateLimitItem, *identifiers: str) -> float | None:
        """When the window frees a slot (epoch seconds), or None when unknown."""
        stats = self._guard("get_window_stats", item, *identifiers)
        return stats.reset_time if stats is not None else None

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        """Forget one key's count (in Redis and in the local fallback)."""
        self._local.clear(item, *identifiers)
        self._guard("clear", item, *identifiers)

    def reset(self) -> None:
        """Forget every counter under this storage (its prefix, for Redis)."""
        self._local.storage.reset()
        try:
            self.storage.reset()
        except Exception as exc:
            log.warning("could not reset the rate-limit storage: %s", exc)


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
