"""Background upkeep: fold the status counters every few seconds and run the retention purge when due.

Runs as a lifespan task of every web process; advisory locks make one process do each job at a time.
`fleet-dashboard purge` (cli/upkeep.py) runs the purge once, for cron or by hand.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.stats import counters, retention

log = logging.getLogger(__name__)
# Between "is a purge due?" checks (one index probe on the audit log).
PURGE_CHECK_SECONDS = 60.0


def _rollup() -> int:
    with get_engine().begin() as conn:
        return counters.rollup(conn=conn)


def _purge_if_due() -> None:
    interval = timedelta(hours=get_settings().retention_interval_hours)
    with get_engine().connect() as conn:
        due = retention.is_due(conn=conn, interval=interval)
    if due:
        retention.purge()


async def run_housekeeping_forever() -> None:
    """Roll the counters up and purge when due, until cancelled; errors are logged and retried."""
    every = get_settings().counters_rollup_seconds
    since_check = PURGE_CHECK_SECONDS  # check soon after start
    while True:
        try:
            await asyncio.to_thread(_rollup)
            if since_check >= PURGE_CHECK_SECONDS:
                since_check = 0.0
                await asyncio.to_thread(_purge_if_due)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("housekeeping failed; retrying")
        await asyncio.sleep(every)
        since_check += every


async def housekeeping_lifespan() -> None:
    """The upkeep loop as a server lifespan task."""
    await run_housekeeping_forever()
