"""The worker with the real engine and simulated WhatsApp: order, retries, permanent errors, disconnects."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.backoff import RetryPolicy
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.events import get_bus
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging import media, optouts, templates
from fleet_dashboard.messaging.models import WhatsAppMessage, WhatsAppTemplate
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.notifications.worker import Worker, WorkerConfig
from fleet_dashboard.whatsapp.engine.engine import Engine
from fleet_dashboard.whatsapp.engine.simulator import SimulatorFactory
from tests.notifications.conftest import pair, run, scalar, wait_until

FAST = WorkerConfig(batch_size=50, poll_seconds=0.1, lease_seconds=10, reclaim_every_seconds=0.5,
                    send_timeout_seconds=5, retry=RetryPolicy(base_seconds=0.2, max_seconds=1))


@contextlib.asynccontextmanager
async def running(*connected: uuid.UUID, workers: int = 1, config: WorkerConfig = FAST):
    """An engine owning the paired organisations, and workers sending for it."""
    engine = Engine(SimulatorFactory(), reconcile_seconds=0.3)
    await engine.start()
    stop = asyncio.Event()
    tasks = []
    try:
        await wait_until(lambda: all(engine.is_connected(o) for o in connected), what="sessions to resume")
        tasks = [asyncio.create_task(Worker(engine, config=config).run(stop)) for _ in range(workers)]
        yield engine
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await engine.stop()


def _statuses(org_id) -> dict[uuid.UUID, NotificationQueue]:
    with Session(get_engine()) as s:
        return {r.id: r for r in s.exec(select(NotificationQueue).where(NotificationQueue.org_id == org_id))}


def _all_in(org_id, statuses) -> bool:
    rows = _statuses(org_id).values()
    return bool(rows) and all(r.status in statuses for r in rows)


def _sent_texts(org_id) -> list[str]:
    with get_engine().connect() as conn:
        return list(conn.execute(text("SELECT text FROM simulator_sent WHERE org_id = :o AND kind = 'message' "
                                              "ORDER BY created_at"),
                                 {"o": org_id}).scalars())


def _enqueue(db, org, names, **extra):
    rows = [queue.enqueue(session=db, org_id=org.id, recipient="+201001234567", template_name="greet",
                          variables={"name": n}, **extra, actor=SYSTEM)[0] for n in names]
    db.commit()
    return rows


def test_sends_by_priority_then_schedule_and_records_every_link(sim, db, org_tpl):
    org, tpl = org_tpl
    pair(db, org.id)
    now = utcnow()
    _enqueue(db, org, ["late"], priority=5, scheduled_for=now - timedelta(seconds=10))
    _enqueue(db, org, ["early"], priority=5, scheduled_for=now - timedelta(seconds=60))
    _enqueue(db, org, ["urgent"], priority=1)
    later = None

    async def body():
        nonlocal later
        async with running(org.id):
            await wait_until(lambda: _all_in(org.id, {"completed"}), what="the due ones completed")
            # Even the top priority waits for its time (queued once the engine is up, so a slow start cannot let
            # its time come before the others went and make the order a race).
            later = _enqueue(db, org, ["later"], priority=0, scheduled_for=utcnow() + timedelta(seconds=2))[0]
            await wait_until(lambda: _all_in(org.id, {"completed"}), what="all completed")
            assert _sent_texts(org.id) == ["Hi urgent", "Hi early", "Hi late", "Hi later"]
            await wait_until(lambda: scalar("SELECT count(*) FROM whatsapp_messages WHERE status = 'delivered'")
                             == 4, what="delivery receipts")

    run(body)
    row = _statuses(org.id)[later.id]
    assert row.completed_at >= row.scheduled_for and row.attempts == 1
    msg = db.get(WhatsAppMessage, row.message_id)
    assert (msg.whatsapp_message_id, msg.message_body, msg.status) == (row.whatsapp_message_id, "Hi later",
                                                                       "delivered")
    db.expire_all()
    assert db.get(WhatsAppTemplate, tpl.id).usage_count == 4


def test_one_organisation_sends_in_call_order_when_typing_waits_end_out_of_order(sim, db, org_tpl, monkeypatch):
    """A loaded machine wakes late: the typing waits of a wave then end together, a short text's first. The
    recipient still reads the messages in the order they were handed to the engine."""
    from tests.support.process_state import reset_process_state

    org, _ = org_tpl
    pair(db, org.id)
    monkeypatch.setenv("TYPING_MAX_SECONDS", "1.0")  # a long text types for 1 s, a short one for 0.01 s
    reset_process_state()
    long_text, short_text = "first " + "x" * 200, "second"

    async def body():
        async with running(org.id) as engine:
            sends = [asyncio.create_task(engine.send_text(org.id, "+201001234567", t, typing=True))
                     for t in (long_text, short_text)]
            await asyncio.sleep(0)  # both book their slots: the second's typing starts when the first's ends
            time.sleep(1.2)  # the loop is starved past both waits' starts, as under a load of 10-40
            await asyncio.gather(*sends)

    run(body)
    assert _sent_texts(org.id) == [long_text, short_text]


def test_a_text_queued_after_a_file_does_not_overtake_it_while_the_file_loads(sim, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)
    report = media.check(kind="document", data=b"%PDF-1.4 report", filename="report.pdf", mime_type="application/pdf")
    now = utcnow()
    queue.enqueue_many(session=db, org_id=org.id, actor=SYSTEM, items=[
        {"recipient": "+201001234567", "template_name": "greet", "variables": {"name": "file"}, "media": report,
         "scheduled_for": now - timedelta(seconds=2)},
        {"recipient": "+201001234567", "template_name": "greet", "variables": {"name": "text"},
         "scheduled_for": now - timedelta(seconds=1)}])
    db.commit()

    async def body():
        async with running(org.id):
            await wait_until(lambda: _all_in(org.id, {"completed"}), what="both sent")

    run(body)
    assert _sent_texts(org.id) == ["Hi file", "Hi text"]


def _resume(org_id) -> None:
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.deliverability import pauses

    with session_scope() as session:
        pauses.resume(session=session, org_id=org_id, actor=SYSTEM)


def test_failed_sends_back_off_then_fail_after_max_attempts(sim, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)
    doomed = _enqueue(db, org, ["doomed"], max_attempts=3)[0]

    async def body():
        async with running(org.id) as engine:
            engine.factory.apply(org.id, "fail-sends", {"count": 3})
            await wait_until(lambda: _all_in(org.id, {"failed"}), what="failed")
            row = _statuses(org.id)[doomed.id]
            assert row.attempts == 3 and "attempt 3 of 3" in row.error_message and row.error_code == "send_failed"
            assert "simulated send failure" in row.error_message
            # Two backoffs of at least 0.2 s and 0.4 s separate the three attempts.
            assert (row.completed_at - row.created_at).total_seconds() >= 0.6
            # Three failed sends in a row on a connected socket are a danger: sending paused; a person resumes.
            await wait_until(lambda: scalar("SELECT reason FROM sending_pauses WHERE org_id = :o AND resumed_at "
                                            "IS NULL", o=org.id) == "sends_failing", what="the pause")
            await asyncio.to_thread(_resume, org.id)
            engine.factory.apply(org.id, "fail-sends", {"count": 2})
            ok = (await asyncio.to_thread(_enqueue, db, org, ["third time lucky"], max_attempts=3))[0]
            await wait_until(lambda: _statuses(org.id)[ok.id].status == "completed", what="third attempt")
            assert _statuses(org.id)[ok.id].attempts == 3

    run(body)
    assert _sent_texts(org.id) == ["Hi third time lucky"]
    assert db.get(WhatsAppMessage, _statuses(org.id)[doomed.id].message_id).status == "failed"


def test_permanent_errors_fail_at_once_and_send_nothing(sim, db, org_tpl):
    org, tpl = org_tpl
    pair(db, org.id)
    other_tpl = templates.create(session=db, org_id=org.id, name="gone", message_template="Bye {{name}}", actor=SYSTEM)
    db.commit()
    opted = _enqueue(db, org, ["opted"])[0]
    optouts.opt_out(session=db, org_id=org.id, phone="+201001234567", keyword_used="STOP")
    db.commit()
    missing = queue.enqueue(session=db, org_id=org.id, recipient="+201009999999", template_name="greet",
                            variables={"name": "x"}, actor=SYSTEM)[0]
    gone = queue.enqueue(session=db, org_id=org.id, recipient="+201009999999", template_name="gone",
                         variables={"name": "x"}, actor=SYSTEM)[0]
    db.commit()
    # The template changed after queueing: its new variable has no value.
    templates.update_template(session=db, org_id=org.id, template_id=tpl.id, message_template="Hi {{name}} {{code}}",
                              actor=SYSTEM)
    templates.delete(session=db, org_id=org.id, template_id=other_tpl.id, actor=SYSTEM)
    # A caller writing the guide's row shape straight into the table, with a bad number.
    db.add(NotificationQueue(org_id=org.id, recipient_phone="12345", template_id=None,
                             message_data={"name": "x"}))
    db.commit()

    async def body():
        async with running(org.id):
            await wait_until(lambda: _all_in(org.id, {"failed"}), what="all failed")

    run(body)
    rows = _statuses(org.id)
    assert all(r.attempts == 1 and r.max_attempts == 3 for r in rows.values())
    assert "opted out" in rows[opted.id].error_message
    assert "code" in rows[missing.id].error_message
    assert "unknown template" in rows[gone.id].error_message
    # Each says why as a code too, which the dashboard shows in Arabic.
    assert (rows[opted.id].error_code, rows[missing.id].error_code, rows[gone.id].error_code) == \
        ("opted_out", "missing_variables", "unknown_template")
    assert _sent_texts(org.id) == []
    assert scalar("SELECT count(*) FROM whatsapp_messages") == 0


def test_a_disconnected_organisation_keeps_its_rows_pending_without_burning_attempts(sim, db, org_tpl, make_org):
    org, _ = org_tpl
    offline = make_org(name="Offline")
    templates.create(session=db, org_id=offline.id, name="greet", message_template="Yo {{name}}", actor=SYSTEM)
    db.commit()
    pair(db, org.id)
    _enqueue(db, org, ["online"])
    waiting = queue.enqueue(session=db, org_id=offline.id, recipient="+201001234567", template_name="greet",
                            variables={"name": "offline"}, actor=SYSTEM)[0]
    db.commit()

    async def body():
        async with running(org.id) as engine:
            await wait_until(lambda: _all_in(org.id, {"completed"}), what="online org sent")
            await asyncio.sleep(0.5)
            row = _statuses(offline.id)[waiting.id]
            assert (row.status, row.attempts, row.message_id) == ("pending", 0, None)
            # The phone comes back: the same row goes out, first attempt.
            await asyncio.to_thread(pair, db, offline.id, "+201000000002")
            await wait_until(lambda: engine.is_connected(offline.id), what="offline org to connect")
            await wait_until(lambda: _all_in(offline.id, {"completed"}), what="offline org sent")

    run(body)
    assert _statuses(offline.id)[waiting.id].attempts == 1
    assert _sent_texts(offline.id) == ["Yo offline"]


def test_a_queued_api_send_reports_its_result_on_the_bus(sim, db, org_tpl):
    from fleet_dashboard.messaging import messages

    org, _ = org_tpl
    pair(db, org.id)

    async def body():
        async with running(org.id), get_bus().subscribe(org_id=org.id, types=["message.status"]) as events:
            def create():
                message, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567",
                                                      text="now please", status="queued", actor=SYSTEM)
                queue.enqueue_message(session=db, org_id=org.id, message=message)
                db.commit()
                return message

            message = await asyncio.to_thread(create)
            event = await events.wait_for(lambda e: e["message_id"] == str(message.id), 10)
            assert event["status"] == "sent" and event["whatsapp_message_id"]

    run(body)
    assert _sent_texts(org.id) == ["now please"]


def test_two_workers_in_parallel_never_send_a_row_twice(sim, db, make_org):
    orgs = [make_org(name=f"Org {i}") for i in range(4)]
    for i, org in enumerate(orgs):
        templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}", actor=SYSTEM)
        db.commit()
        pair(db, org.id, f"+20100000001{i}")
        items = [{"recipient": "+201001234567", "template_name": "greet", "variables": {"name": f"{i}-{n}"}}
                 for n in range(150)]
        queue.enqueue_many(session=db, org_id=org.id, items=items, actor=SYSTEM)
        db.commit()
    config = WorkerConfig(batch_size=20, poll_seconds=0.05, lease_seconds=10)

    async def body():
        async with running(*(o.id for o in orgs), workers=2, config=config):
            await wait_until(lambda: scalar("SELECT count(*) FROM notification_queue WHERE status = 'completed'")
                             == 600, what="600 completed")

    run(body)
    assert scalar("SELECT count(*) FROM simulator_sent WHERE kind = 'message'") == 600
    assert scalar("SELECT count(DISTINCT text) FROM simulator_sent WHERE kind = 'message'") == 600
    assert scalar("SELECT count(DISTINCT message_id) FROM notification_queue") == 600
