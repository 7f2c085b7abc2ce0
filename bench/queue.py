"""Queue throughput on PostgreSQL with the simulator: 100 organisations, 20,000 notifications, no throttle.

Run: .venv/bin/python bench/queue.py [--orgs 100] [--notifications 20000] [--batch 500] [--receipts]
It creates its own database on BENCH_SERVER_URL (default postgresql://postgres@127.0.0.1:5432/postgres)
and drops it at the end. Statements are counted at the driver (every psycopg execute in this process:
the worker, the engine, the simulator's network log, the bus and the pool's pings); transactions are
read from pg_stat_database, so they include every session on the bench database.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder leads sys.path and its name would hide the stdlib `queue`.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

SERVER = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class StatementCounter:
    """Counts every statement psycopg sends from this process, sync and async, batches by row."""

    def __init__(self) -> None:
        self.count = 0
        self.by_text: dict[str, int] = {}
        self._lock = threading.Lock()

    def install(self) -> None:
        import psycopg

        def wrap(cls, name, per_row=False):
            original = getattr(cls, name)
            counter = self

            if asyncio.iscoroutinefunction(original):
                async def counted(cur, query, params=None, *a, **k):
                    counter.add(len(params) if per_row and params is not None else 1, query)
                    return await original(cur, query, params, *a, **k)
            else:
                def counted(cur, query, params=None, *a, **k):
                    counter.add(len(params) if per_row and params is not None else 1, query)
                    return original(cur, query, params, *a, **k)
            setattr(cls, name, counted)

        for cls in (psycopg.Cursor, psycopg.AsyncCursor):
            wrap(cls, "execute")
            wrap(cls, "executemany", per_row=True)

    def add(self, n: int, query: object = "") -> None:
        key = " ".join(str(query if isinstance(query, str | bytes) else getattr(query, "_obj", query))
                       .split())[:70]
        with self._lock:
            self.count += n
            self.by_text[key] = self.by_text.get(key, 0) + n

    def top(self, n: int = 12) -> list[tuple[str, int]]:
        """The most frequent statements, for --verbose."""
        return sorted(self.by_text.items(), key=lambda kv: -kv[1])[:n]


def xacts(url: str, dbname: str) -> int:
    """Committed plus rolled-back transactions of the database so far (all processes)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (dbname,)).fetchone()
        return int(row[0])


def raw_update_rate(url: str, seconds: float = 3.0) -> float:
    """This machine's single-row UPDATE + COMMIT rate, one connection, in the bench database."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_raw VALUES (1, 0) ON CONFLICT DO NOTHING")
        conn.commit()
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conn.execute("UPDATE bench_raw SET n = n + 1 WHERE id = 1")
            conn.commit()
            done += 1
        return done / (time.perf_counter() - start)


def seed(n_orgs: int) -> list[uuid.UUID]:
    """Organisations with a previously paired phone, so the engine resumes them without a QR."""
    from fleet_dashboard.accounts import orgs
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.whatsapp import sessions
    from fleet_dashboard.whatsapp.engine.simulator import jid_for

    ids = []
    with session_scope() as session:
        for i in range(n_orgs):
            org = orgs.create_org(session=session, name=f"Bench {i}", slug=f"bench-{i}")
            row = sessions.get_or_create(session=session, org_id=org.id)
            phone = f"+2010{i:08d}"
            row.enabled, row.whatsapp_id, row.phone_number = True, jid_for(phone), phone
            session.add(row)
            ids.append(org.id)
    return ids


def enqueue_all(org_ids: list[uuid.UUID], total: int) -> None:
    """What the fleet backend does: bulk requests of up to 1,000 per organisation."""
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.notifications import queue

    per_org = total // len(org_ids)
    for i, org_id in enumerate(org_ids):
        items = [{"recipient": f"+2011{(i * per_org + n) % 10**8:08d}", "template_name": "payment_reminder",
                  "variables": {"customer_name": f"C{i}-{n}", "amount": "100", "due_date": "2026-01-01"}}
                 for n in range(per_org)]
        for start in range(0, per_org, queue.MAX_BULK):
            with session_scope() as session:
                queue.enqueue_many(session=session, org_id=org_id, items=items[start:start + queue.MAX_BULK],
                                   actor=SYSTEM)


def completed_count() -> int:
    from sqlalchemy import text

    from fleet_dashboard.core.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM notification_queue WHERE status = 'completed'")).scalar()


async def run_queue(org_ids: list[uuid.UUID], total: int, batch: int, counter: StatementCounter,
                    url: str, dbname: str) -> dict[str, float]:
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig
    from fleet_dashboard.whatsapp.engine.runtime import current_engine, use_big_executor

    use_big_executor(asyncio.get_running_loop())
    engine = current_engine()
    await engine.start()
    t0 = time.perf_counter()
    while not all(engine.is_connected(o) for o in org_ids):
        await asyncio.sleep(0.05)
    resumed = time.perf_counter() - t0
    stop = asyncio.Event()
    worker = Worker(engine, config=WorkerConfig(batch_size=batch, poll_seconds=0.2))
    stmts0, xacts0 = counter.count, await asyncio.to_thread(xacts, url, dbname)
    start = time.perf_counter()
    worker_task = asyncio.create_task(worker.run(stop))
    await asyncio.to_thread(enqueue_all, org_ids, total)
    enqueued = time.perf_counter() - start
    while worker.sent < total:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    stmts = counter.count - stmts0
    txs = await asyncio.to_thread(xacts, url, dbname) - xacts0
    stop.set()
    await worker_task
    done = await asyncio.to_thread(completed_count)
    await engine.stop()
    return {"resumed": resumed, "enqueued": enqueued, "elapsed": elapsed, "stmts": stmts, "xacts": txs,
            "completed": done}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--notifications", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--receipts", action="store_true", help="let delivery receipts flow during the run")
    parser.add_argument("--verbose", action="store_true", help="print the most frequent statements")
    args = parser.parse_args()

    from fleet_dashboard.core import dbadmin

    dbname = f"fleet_bench_queue_{uuid.uuid4().hex[:8]}"
    url = dbadmin.create_database(SERVER, dbname)
    os.environ.update({"DATABASE_URL": url, "WHATSAPP_BACKEND": "simulator", "BUS_BACKEND": "postgres",
                       "SEND_RATE_PER_MINUTE": "0",
                       "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.5" if args.receipts else "3600"})
    import logging

    logging.basicConfig(level=logging.WARNING)
    try:
        dbadmin.migrate(url)
        from fleet_dashboard.core.db import libpq_url

        plain = libpq_url(url)
        org_ids = seed(args.orgs)
        counter = StatementCounter()
        counter.install()
        raw_before = raw_update_rate(plain)
        result = asyncio.run(run_queue(org_ids, args.notifications, args.batch, counter, plain, dbname))
        raw_after = raw_update_rate(plain)
    finally:
        from fleet_dashboard.core.db import get_engine
        from fleet_dashboard.core.events import reset_bus

        reset_bus()
        get_engine().dispose()
        dbadmin.drop_database(SERVER, dbname)

    n = result["completed"]
    rate = n / result["elapsed"]
    raw = (raw_before + raw_after) / 2
    print(f"organisations                 {args.orgs} (all resumed in {result['resumed']:.2f} s)")
    print(f"notifications completed       {n} of {args.notifications} (enqueue took {result['enqueued']:.2f} s)")
    print(f"end to end                    {result['elapsed']:.2f} s = {rate:,.0f} notifications/s   (target >= 1,500)")
    print(f"SQL statements                {result['stmts']:,} = {result['stmts'] / n:.2f} per notification"
          f"   (target <= 4)")
    print(f"transactions (all sessions)   {result['xacts']:,} = {result['xacts'] / n:.3f} per notification")
    print(f"raw UPDATE+COMMIT, 1 conn     {raw:,.0f}/s (before {raw_before:,.0f}, after {raw_after:,.0f})")
    print(f"ratio to raw                  {rate / raw:.0%}   (target >= 30%)")
    if args.verbose:
        for text, count in counter.top():
            print(f"  {count:>7}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
