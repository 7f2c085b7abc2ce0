"""What the status-counting triggers cost the send path: the lifecycle statements of 500 notifications
(enqueue, claim, message insert, sent + completed, delivered), with the triggers on and off, alternated.

Run: .venv/bin/python bench/counters_overhead.py [--rounds 30]
It creates its own database on BENCH_SERVER_URL and drops it at the end.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import psycopg  # noqa: E402

from fleet_dashboard.core import dbadmin  # noqa: E402
from fleet_dashboard.core.db import libpq_url  # noqa: E402

SERVER = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = ("whatsapp_messages", "notification_queue")
# Each inner list is one transaction, as the API, the worker and the receipts run them.
LIFECYCLE = [
    ["""INSERT INTO notification_queue (id, org_id, notification_type, recipient_phone, message_data, priority,
                                        status, scheduled_for, attempts, max_attempts)
        SELECT gen_random_uuid(), %(org)s, 'whatsapp', '+201001234567', '{"a": "b"}', 5, 'pending', now(), 0, 3
        FROM generate_series(1, %(n)s)"""],
    ["""UPDATE notification_queue SET status = 'processing', lease_expires_at = now()
        WHERE org_id = %(org)s AND status = 'pending'"""],
    ["""INSERT INTO whatsapp_messages (id, org_id, recipient_phone, message_type, message_body, template_params,
                                       status)
        SELECT gen_random_uuid(), %(org)s, '+201001234567', 'template', repeat('نص ', 40), '{}', 'sending'
        FROM generate_series(1, %(n)s)"""],
    ["UPDATE whatsapp_messages SET status = 'sent', sent_at = now() WHERE org_id = %(org)s AND status = 'sending'",
     """UPDATE notification_queue SET status = 'completed', completed_at = now()
        WHERE org_id = %(org)s AND status = 'processing'"""],
    ["""UPDATE whatsapp_messages SET status = 'delivered', delivered_at = now()
        WHERE org_id = %(org)s AND status = 'sent'"""],
]


def cycle(conn: psycopg.Connection, org: uuid.UUID, n: int) -> float:
    started = time.perf_counter()
    for statements in LIFECYCLE:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement, {"org": org, "n": n})
    return time.perf_counter() - started


def counting(conn: psycopg.Connection, on: bool) -> None:
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            conn.execute(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {table}_count_{event}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--smoke", action="store_true", help="2 rounds of 50 (for .ci/run): the harness works")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.batch = 2, 50
    name = f"fleet_bench_counters_{uuid.uuid4().hex[:8]}"
    url = dbadmin.create_database(SERVER, name)
    try:
        dbadmin.migrate(url)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            org = conn.execute("INSERT INTO organizations (id, name, slug) VALUES (gen_random_uuid(), 'b', 'b') "
                               "RETURNING id").fetchone()[0]
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for on in (True, False):
                    counting(conn, on)
                    times[on].append(cycle(conn, org, args.batch))
                    conn.execute("DELETE FROM status_count_deltas")
    finally:
        dbadmin.drop_database(SERVER, name)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    per = 1e6 / args.batch
    print(f"lifecycle of {args.batch} notifications (6 statements in 5 transactions), median of {args.rounds}:")
    print(f"  counting triggers on   {on * 1000:7.0f} ms  ({on * per:.0f} us per notification)")
    print(f"  counting triggers off  {off * 1000:7.0f} ms  ({off * per:.0f} us per notification)")
    print(f"  overhead               {(on - off) * per:7.0f} us per notification ({100 * (on / off - 1):.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
