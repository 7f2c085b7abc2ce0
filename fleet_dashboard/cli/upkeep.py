"""`fleet-dashboard purge`: the retention purge once, for cron or by hand (the web processes also run it when due)."""

from __future__ import annotations

import argparse

from fleet_dashboard.accounts.permissions import operator
from fleet_dashboard.stats import retention


def cmd_purge(args: argparse.Namespace) -> int:
    result = retention.purge(batch_size=args.batch_size, actor=operator())
    if result is None:
        print("another process is purging right now; nothing done")
        return 1
    for kind in retention.KINDS:
        print(f"{kind}: {result.deleted.get(kind, 0)} deleted")
    print(f"{result.batches} batches, longest {result.longest_batch_ms:.0f} ms, {result.seconds:.1f} s")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """purge."""
    p = sub.add_parser("purge", help="delete rows older than their retention now (see RETENTION_* settings)")
    p.add_argument("--batch-size", type=int, default=None)
    p.set_defaults(handler=cmd_purge)
