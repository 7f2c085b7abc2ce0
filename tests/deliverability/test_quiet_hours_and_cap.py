"""Items 3 and 4: quiet hours and days off hold non-urgent messages until the window ends (scheduled_for says when),
urgent ones go; the daily cap and the warm-up hold what exceeds today's allowance until tomorrow, urgent ones may
use a 10% reserve. Nothing waiting is failed, and a change of the rules is audited and applies at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from fleet_dashboard.accounts import localtime
from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import state, status
from tests.deliverability.conftest import (
    audit_types,
    enqueue,
    network,
    pair,
    rows_of,
    run,
    running,
    scalar_rows,
    set_rules,
    wait_until,
)


def _window_around_now(org) -> tuple[str, str]:
    """Quiet hours from an hour ago to an hour from now, in the organisation's zone."""
    now = localtime.to_local(utcnow(), localtime.zone_of(org)).local
    return (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime("%H:%M")


def test_quiet_hours_hold_non_urgent_messages_until_they_end_and_urgent_ones_go(sim, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)
    start, end = _window_around_now(org)
    set_rules(org.id, quiet_hours={"start": start, "end": end, "days_off": []})

    async def body():
        async with running(org.id):
            held = enqueue(org.id, ["tomorrow's news", "a promotion"])
            [otp] = enqueue(org.id, ["OTP 4821"], urgent=True)
            await wait_until(lambda: rows_of(org.id)[otp.id].status == "completed", what="the urgent send")
            await _stay(org.id, held, 1.0)
            # Quiet hours removed: the held rows go at once (the change is audited).
            set_rules(org.id, quiet_hours=None)
            await wait_until(lambda: all(rows_of(org.id)[r.id].status == "completed" for r in held),
                             what="the held rows after the change")
            return held

    held = run(body)
    zone = localtime.zone_of(org)
    opens = localtime.local_to_utc(datetime.combine(localtime.local_today(zone), datetime.strptime(end, "%H:%M")
                                                    .time()), zone)
    if opens < utcnow() - timedelta(hours=2):
        opens += timedelta(days=1)
    for row in held:  # what the queue said while they waited
        assert row.wait_reason == "quiet_hours" and abs((row.scheduled_for - opens).total_seconds()) < 1
    assert [t for _, _, t in network(org.id, "message")][0] == "Hi OTP 4821"
    assert audit_types(org.id).count("sending_rules_changed") == 2


async def _stay(org_id, rows, seconds: float) -> None:
    """The rows keep waiting (pending, with their reason) for a while: nothing sends or fails them."""
    import asyncio

    await asyncio.sleep(seconds)
    current = rows_of(org_id)
    for row in rows:
        now = current[row.id]
        assert now.status == "pending" and now.attempts == 0 and now.wait_reason, now


def test_a_day_off_holds_the_whole_day(sim, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)
    today = localtime.local_today(localtime.zone_of(org)).strftime("%A").lower()
    set_rules(org.id, quiet_hours={"start": None, "end": None, "days_off": [today]})
    [row] = enqueue(org.id, ["on a day off"])
    tomorrow = localtime.day_start(localtime.local_today(localtime.zone_of(org)) + timedelta(days=1),
                                   localtime.zone_of(org))
    assert (row.wait_reason, row.scheduled_for) == ("quiet_hours", tomorrow)


def test_the_daily_cap_holds_the_rest_until_tomorrow_and_urgent_ones_use_the_reserve(sim, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)
    set_rules(org.id, daily_cap=10, warmup=False)

    async def body():
        async with running(org.id):
            first = enqueue(org.id, [f"n{i}" for i in range(13)])
            await wait_until(lambda: sum(r.status == "completed" for r in rows_of(org.id).values()) == 10,
                             what="ten sends")
            await wait_until(lambda: sum(r.wait_reason == "daily_cap" for r in rows_of(org.id).values()) == 3,
                             what="three held for tomorrow")
            urgent = enqueue(org.id, ["urgent a", "urgent b"], urgent=True)
            await wait_until(lambda: rows_of(org.id)[urgent[0].id].status != "pending"
                             or rows_of(org.id)[urgent[1].id].status != "pending", what="an urgent send")
            await _stay(org.id, [r for r in first if rows_of(org.id)[r.id].status == "pending"], 1.0)
            return urgent

    urgent = run(body)
    rows = rows_of(org.id)
    # Ten went, then one urgent from the 10% reserve (ceil(1.0)); the other urgent waits with the rest.
    assert sorted(r.status for r in rows.values()).count("completed") == 11
    assert sorted(rows[u.id].status for u in urgent) == ["completed", "pending"]
    zone = localtime.zone_of(org)
    tomorrow = localtime.day_start(localtime.local_today(zone) + timedelta(days=1), zone)
    for row in rows.values():
        if row.status == "pending":
            assert (row.wait_reason, row.scheduled_for, row.attempts) == ("daily_cap", tomorrow, 0)
    assert len(network(org.id, "message")) == 11
    with session_scope() as s:
        b = status.budget(session=s, org_id=org.id)
    assert (b.sent, b.allowed, b.reserve) == (11, 10, 1)


def test_a_newly_linked_number_warms_up_from_fifty_a_day(sim, db, org_tpl):
    org, _ = org_tpl
    with session_scope() as s:
        state.record_link(session=s, org_id=org.id, phone="+201000000001")
    with session_scope() as s:
        assert status.budget(session=s, org_id=org.id).allowed == 50
    with get_engine().begin() as conn:  # linked three days ago: 50, 100, 200, now 400
        conn.execute(text("UPDATE sending_state SET linked_at = linked_at - interval '3 days' WHERE org_id = :o"),
                     {"o": org.id})
    with session_scope() as s:
        assert status.budget(session=s, org_id=org.id).allowed == 400
    # Linking the same number again does not start over; another number does.
    with session_scope() as s:
        state.record_link(session=s, org_id=org.id, phone="+201000000001")
    with session_scope() as s:
        assert status.budget(session=s, org_id=org.id).allowed == 400
        state.record_link(session=s, org_id=org.id, phone="+201000000002")
    with session_scope() as s:
        assert status.budget(session=s, org_id=org.id).allowed == 50
    assert scalar_rows("SELECT linked_phone FROM sending_state WHERE org_id = :o", o=org.id) == [("+201000000002",)]


def test_a_template_marked_urgent_makes_its_notifications_skip_quiet_hours(sim, db, org_tpl):
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.messaging import templates

    org, _ = org_tpl
    start, end = _window_around_now(org)
    set_rules(org.id, quiet_hours={"start": start, "end": end})
    otp = templates.create(session=db, org_id=org.id, name="otp", message_template="Code {{name}}", urgent=True,
                           actor=SYSTEM)
    db.commit()
    [ordinary] = enqueue(org.id, ["later"])
    with session_scope() as s:
        from fleet_dashboard.notifications import queue

        [(urgent, _)] = queue.enqueue_many(session=s, org_id=org.id, actor=SYSTEM, items=[
            {"recipient": "+201001234567", "template_id": str(otp.id), "variables": {"name": "4821"}}])
    assert ordinary.wait_reason == "quiet_hours" and ordinary.scheduled_for > utcnow()
    assert urgent.urgent and urgent.wait_reason is None and urgent.scheduled_for <= utcnow()
    # Unmarked again, its next notification waits like any other.
    templates.update_template(session=db, org_id=org.id, template_id=otp.id, urgent=False, actor=SYSTEM)
    db.commit()
    with session_scope() as s:
        from fleet_dashboard.notifications import queue

        [(later, _)] = queue.enqueue_many(session=s, org_id=org.id, actor=SYSTEM, items=[
            {"recipient": "+201001234567", "template_id": str(otp.id), "variables": {"name": "1"}}])
    assert later.wait_reason == "quiet_hours"
