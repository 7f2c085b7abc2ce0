"""Background upkeep: fold the status counters every few seconds and run the retention purge when due.

Runs as a lifespan task of every web process; advisory locks make one process do each job at a time.
`fleet-dashboard purge` runs the purge once, for cron or by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta

from fleet_dashboard.cli import COMMANDS, EXTENSIONS

log = logging.getLogger(__name__)
# Between "is a purge due?" checks (one index probe on the audit log).
PURGE_CHECK_SECONDS = 60.0


def _rollup() -> int:
    from fleet_dashboard.core.db import get_engine
    from fleet_dashboard.stats import counters

    with get_engine().begin() as conn:
        return counters.rollup(conn=conn)


def _purge_if_due() -> None:
    from fleet_dashboard.core.db import get_engine
    from fleet_dashboard.core.settings import get_settings
    from fleet_dashboard.stats import retention

    interval = timedelta(hours=get_settings().retention_interval_hours)
    with get_engine().connect() as conn:
        due = retention.is_due(conn=conn, interval=interval)
    if due:
        retention.purge()


async def run_housekeeping_forever() -> None:
    """Roll the counters up and purge when due, until cancelled; errors are logged and retried."""
    from fleet_dashboard.core.settings import get_settings

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


def _cmd_purge(args: argparse.Namespace) -> int:
    from fleet_dashboard.stats import retention

    result = retention.purge(batch_size=args.batch_size)
    if result is None:
        print("another process is purging right now; nothing done")
        return 1
    for kind in retention.KINDS:
        print(f"{kind}: {result.deleted.get(kind, 0)} deleted")
    print(f"{result.batches} batches, longest {result.longest_batch_ms:.0f} ms, {result.seconds:.1f} s")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("purge", help="delete rows older than their retention now (see RETENTION_* settings)")
    p.add_argument("--batch-size", type=int, default=None)
    COMMANDS["purge"] = _cmd_purge


EXTENSIONS.append(add_commands)
