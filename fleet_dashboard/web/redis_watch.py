"""Each web worker watches its Redis (REDIS_URL) and, when it answers again after an outage, puts the dashboard back
on it: Reflex's listeners and keyspace notifications, the records of this worker's tabs, and, when Redis came back
empty, every tab of this worker hydrates again from its session cookie (no reload). Without it a tab open through
a Redis restart stayed dead until reloaded."""

from __future__ import annotations

import asyncio
import logging
import uuid

import redis.asyncio as aioredis

from fleet_dashboard.core.ratelimit import REDIS_TIMEOUT_SECONDS
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.web import reflex_internals

log = logging.getLogger(__name__)
CHECK_SECONDS = 1.0
# A key the first worker sets and every worker reads: another value after an outage means Redis lost its data.
MARKER_KEY = "fleet-dashboard:redis-epoch"


async def redis_watch_lifespan() -> None:
    """The watcher as a server lifespan task: one per web worker, only with REDIS_URL."""
    url = get_settings().redis_url
    if not url:
        return
    client = aioredis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                     socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    seen: bytes | None = None  # the marker as this worker last saw it
    away_since: float | None = None
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                await client.set(MARKER_KEY, uuid.uuid4().hex, nx=True)  # a new value each time it is set
                marker = await client.get(MARKER_KEY)
                # Another value than before: Redis started empty meanwhile (whichever worker set it first).
                state_lost, seen = seen is not None and marker != seen, marker
                if away_since is not None or state_lost:  # a restart quicker than a check is still a restart
                    told = await reflex_internals.after_redis_returned(reflex_internals.current_app(),
                                                                       state_lost=state_lost)
                    log.warning("Redis is back after %.0f s%s; %d open tabs hydrate again",
                                loop.time() - (away_since or loop.time()),
                                " (empty: the tabs' states were lost)" if state_lost else "", told)
                    away_since = None
            except Exception as exc:  # redis-py's ConnectionError/TimeoutError family, or a half-restarted server
                if away_since is None:
                    away_since = loop.time()
                    log.warning("Redis is unreachable (%s): dashboard tabs pause until it answers", exc)
            await asyncio.sleep(CHECK_SECONDS)
    finally:
        await client.aclose()
