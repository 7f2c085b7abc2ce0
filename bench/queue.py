"""Queue throughput on PostgreSQL with the simulator: 100 organisations, 20,000 notifications, no throttle, bare
and with every sending guard on, each beside this machine's raw commit rate measured in the same run.

Run: .venv/bin/python bench/queue.py [--orgs 100] [--notifications 20000] [--batch 500] [--rounds 2] [--receipts]
     .venv/bin/python bench/queue.py --smoke      (10 organisations, 1,000 notifications, one round)
The bare figure runs with SENDING_GUARDS=false; the guarded one with the guards on as in production (look-ups
answered by the cache, quiet hours set but not now, the daily cap and warm-up counted, pauses checked, health
recomputed), typing presence off for the figure (with it on, a number sends one message per typing time).
Rounds alternate bare and guarded, so both see the same machine.
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
# A round that sends nothing for this long is stuck: it stops with what it knows rather than wait forever.
STALL_SECONDS = 120.0


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


def seed(n_orgs: int, tag: str = "") -> list[uuid.UUID]:
    """Organisations with a previously paired phone, so the engine resumes them without a QR."""
    from fleet_dashboard.accounts import orgs
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.whatsapp import sessions
    from fleet_dashboard.whatsapp.engine.simulator import jid_for

    ids = []
    with session_scope() as session:
        for i in range(n_orgs):
            org = orgs.create_org(session=session, name=f"Bench {tag}{i}", slug=f"bench-{tag}{i}")
            row = sessions.get_or_create(session=session, org_id=org.id)
            phone = f"+2010{i:08d}"
            row.enabled, row.whatsapp_id, row.phone_number = True, jid_for(phone), phone
            session.add(row)
            ids.append(org.id)
    return ids


def recipient(i: int, n: int, per_org: int) -> str:
    return f"+2011{(i * per_org + n) % 10**8:08d}"


def guard_every_org(org_ids: list[uuid.UUID], total: int) -> None:
    """The guarded round's organisations: quiet hours (not now), typing off, and their recipients already looked
    up (a cached yes), as for a fleet that sends to its customers every day."""
    from datetime import timedelta

    from fleet_dashboard.accounts import localtime
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.core.tables import utcnow
    from fleet_dashboard.deliverability import contacts, rules

    per_org = total // len(org_ids)
    zone = localtime.zone_of(None)
    start = (localtime.to_local(utcnow(), zone).local + timedelta(hours=6)).strftime("%H:%M")
    end = (localtime.to_local(utcnow(), zone).local + timedelta(hours=8)).strftime("%H:%M")
    with session_scope() as session:
        for i, org_id in enumerate(org_ids):
            rules.set_rules(session=session, org_id=org_id, actor=SYSTEM,
                            body={"typing": False, "quiet_hours": {"start": start, "end": end, "days_off": []}})
            contacts.record(session=session, answers=[(org_id, contacts.Answer(recipient(i, n, per_org), True))
                                                      for n in range(per_org)])


def enqueue_all(org_ids: list[uuid.UUID], total: int) -> None:
    """What the fleet backend does: bulk requests of up to 1,000 per organisation."""
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.notifications import queue

    per_org = total // len(org_ids)
    for i, org_id in enumerate(org_ids):
        items = [{"recipient": recipient(i, n, per_org), "template_name": "payment_reminder",
                  "variables": {"customer_name": f"C{i}-{n}", "amount": "100", "due_date": "2026-01-01"}}
                 for n in range(per_org)]
        for start in range(0, per_org, queue.MAX_BULK):
            with session_scope() as session:
                queue.enqueue_many(session=session, org_id=org_id, items=items[start:start + queue.MAX_BULK],
                                   actor=SYSTEM)


def completed_count(org_ids: list[uuid.UUID]) -> int:
    from sqlalchemy import text

    from fleet_dashboard.core.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM notification_queue WHERE status = 'completed' "
                                 "AND org_id = ANY(:o)"), {"o": org_ids}).scalar()


def use_guards(on: bool) -> None:
    """SENDING_GUARDS for the next round (read by the worker and the queue through the settings)."""
    from fleet_dashboard.core.settings import get_settings

    os.environ["SENDING_GUARDS"] = "true" if on else "false"
    get_settings.cache_clear()


def disable(org_ids: list[uuid.UUID]) -> None:
    """A finished round's sessions are switched off, so the next round's engine owns only its own."""
    from sqlalchemy import text

    from fleet_dashboard.core.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("UPDATE whatsapp_sessions SET enabled = false WHERE org_id = ANY(:o)"), {"o": org_ids})


async def run_queue(org_ids: list[uuid.UUID], total: int, batch: int, counter: StatementCounter,
                    url: str, dbname: str) -> dict[str, float]:
    from fleet_dashboard.notifications.worker import Worker, WorkerConfig
    from fleet_dashboard.whatsapp.engine.engine import Engine
    from fleet_dashboard.whatsapp.engine.runtime import make_factory, use_big_executor

    use_big_executor(asyncio.get_running_loop())
    # Room for every organisation of the run (ENGINE_SHARD_SIZE, 50 by default, would leave half of 100 unowned).
    engine = Engine(make_factory(), capacity=len(org_ids))
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
    last, moved = worker.sent, time.perf_counter()
    while worker.sent < total:
        await asyncio.sleep(0.01)
        if worker.sent != last:
            last, moved = worker.sent, time.perf_counter()
        elif time.perf_counter() - moved > STALL_SECONDS:  # a bench that never ends tells nobody anything
            stuck = {o for o in org_ids if not engine.is_connected(o)}
            raise SystemExit(f"no send for {STALL_SECONDS:.0f} s with {worker.sent} of {total} sent; "
                             f"{len(stuck)} of {len(org_ids)} organisations not connected")
    elapsed = time.perf_counter() - start
    stmts = counter.count - stmts0
    txs = await asyncio.to_thread(xacts, url, dbname) - xacts0
    stop.set()
    await worker_task
    done = await asyncio.to_thread(completed_count, org_ids)
    await engine.stop()
    return {"resumed": resumed, "enqueued": enqueued, "elapsed": elapsed, "stmts": stmts, "xacts": txs,
            "completed": done}


def _round(guarded: bool, org_ids: list[uuid.UUID], args: argparse.Namespace, counter: StatementCounter,
           plain: str, dbname: str) -> dict[str, float]:
    """One timed round, bare or guarded, between two measures of the raw commit rate."""
    use_guards(guarded)
    if guarded:
        guard_every_org(org_ids, args.notifications)
    raw_before = raw_update_rate(plain)
    result = asyncio.run(run_queue(org_ids, args.notifications, args.batch, counter, plain, dbname))
    raw_after = raw_update_rate(plain)
    disable(org_ids)
    result.update(raw=(raw_before + raw_after) / 2, raw_before=raw_before, raw_after=raw_after,
                  rate=result["completed"] / result["elapsed"])
    return result


def _print(name: str, result: dict[str, float], args: argparse.Namespace) -> None:
    n = result["completed"]
    print(f"{name}: {n} of {args.notifications} completed in {result['elapsed']:.2f} s (enqueue "
          f"{result['enqueued']:.2f} s, {args.orgs} organisations resumed in {result['resumed']:.2f} s)")
    print(f"  throughput                  {result['rate']:,.0f} notifications/s   (target >= 1,500)")
    print(f"  SQL statements              {result['stmts'] / n:.2f} per notification   (target <= 4)")
    print(f"  transactions (all sessions) {result['xacts'] / n:.3f} per notification")
    print(f"  raw UPDATE+COMMIT, 1 conn   {result['raw']:,.0f}/s (before {result['raw_before']:,.0f}, "
          f"after {result['raw_after']:,.0f})")
    print(f"  ratio to raw                {result['rate'] / result['raw']:.0%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--notifications", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="bare/guarded pairs, alternated")
    parser.add_argument("--smoke", action="store_true", help="10 organisations, 1,000 notifications, one round")
    parser.add_argument("--receipts", action="store_true", help="let delivery receipts flow during the run")
    parser.add_argument("--verbose", action="store_true", help="print the most frequent statements")
    args = parser.parse_args()
    if args.smoke:
        args.orgs, args.notifications, args.rounds = 10, 1000, 1

    from fleet_dashboard.core import dbadmin

    dbname = f"fleet_bench_queue_{uuid.uuid4().hex[:8]}"
    url = dbadmin.create_database(SERVER, dbname)
    os.environ.update({"DATABASE_URL": url, "WHATSAPP_BACKEND": "simulator", "BUS_BACKEND": "postgres",
                       "SEND_RATE_PER_MINUTE": "0",
                       "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.5" if args.receipts else "3600"})
    import logging

    logging.basicConfig(level=logging.WARNING)
    results: dict[str, list[dict[str, float]]] = {"bare": [], "guarded": []}
    try:
        dbadmin.migrate(url)
        from fleet_dashboard.core.db import libpq_url

        plain = libpq_url(url)
        counter = StatementCounter()
        counter.install()
        for r in range(args.rounds):
            for guarded in (False, True):
                name = "guarded" if guarded else "bare"
                org_ids = seed(args.orgs, tag=f"{name}{r}-")
                results[name].append(_round(guarded, org_ids, args, counter, plain, dbname))
    finally:
        from fleet_dashboard.core.db import get_engine
        from fleet_dashboard.core.events import reset_bus

        reset_bus()
        get_engine().dispose()
        dbadmin.drop_database(SERVER, dbname)

    for r in range(args.rounds):
        _print(f"round {r + 1}, bare (SENDING_GUARDS=false)", results["bare"][r], args)
        _print(f"round {r + 1}, every guard on (cached look-ups, typing off)", results["guarded"][r], args)
    to_raw = [b["rate"] / b["raw"] for b in results["bare"]]
    to_bare = [g["rate"] / b["rate"] for b, g in zip(results["bare"], results["guarded"], strict=True)]
    bare, guarded = (sum(x["rate"] for x in v) / len(v) for v in results.values())
    print(f"bare as % of raw              {', '.join(f'{r:.0%}' for r in to_raw)} (by round); best "
          f"{max(to_raw):.0%}   (target >= 90%)")
    print(f"guarded as % of bare          {', '.join(f'{r:.0%}' for r in to_bare)} (by round, each beside its own "
          f"bare); mean of the rounds {guarded / bare:.0%} ({guarded:,.0f} vs {bare:,.0f} notifications/s)   "
          "(target >= 80%)")
    if args.verbose:
        for text, count in counter.top():
            print(f"  {count:>7}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
