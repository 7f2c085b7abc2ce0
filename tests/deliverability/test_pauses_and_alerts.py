"""Items 6 and 7: a danger pauses the organisation's sending (its queue waits: nothing fails, nothing is tried),
a person may resume (audited), a ban resumes by itself at half pace; every pause, long outage and red number
is one incident: one alert (e-mail to owners and admins in Arabic, `session.alert`, the banner) and one
all-clear, never a storm."""

from __future__ import annotations

import asyncio
import time

import pytest

from fleet_dashboard.accounts.permissions import SYSTEM, Actor
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import Conflict, PermissionDenied
from fleet_dashboard.core.events import get_bus
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import alerts, pauses
from tests.deliverability.conftest import (
    audit_types,
    enqueue,
    network,
    pair,
    rows_of,
    run,
    running,
    scalar_rows,
    wait_until,
)
from tests.support.mail import smtp_env, smtp_server


@pytest.fixture
def smtp_sink(monkeypatch):
    """A real local SMTP server; the app's SMTP settings point at it."""
    from fleet_dashboard.core.settings import get_settings

    with smtp_server() as (sink, port):
        for key, value in smtp_env(port, sender="Fleet <alerts@fleet.local>").items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield sink


def _sweep() -> int:
    return alerts.Sweeper().run_once()


def test_a_ban_pauses_sending_until_it_ends_then_resumes_at_half_pace_with_one_alert_and_one_all_clear(
        sim, db, org_tpl, make_user, smtp_sink):
    org, _ = org_tpl
    owner, admin = make_user("owner", org), make_user("admin", org)
    make_user("member", org)  # members are not alerted
    pair(db, org.id)

    async def body():
        async with get_bus().subscribe(org_id=org.id, types={"session.alert"}) as alerts_seen, \
                running(org.id) as engine:
            engine.factory.apply(org.id, "ban", {"seconds": 3})
            await wait_until(lambda: scalar_rows("SELECT reason FROM sending_pauses WHERE org_id = :o",
                                                 o=org.id) == [("temporary_ban",)], what="the pause")
            held = enqueue(org.id, ["during the ban", "also during"])
            opened = await alerts_seen.wait_for(lambda e: e["state"] == "open", 5)
            await asyncio.to_thread(_sweep)
            await asyncio.to_thread(_sweep)  # again: nothing new to tell
            await asyncio.sleep(0.5)
            assert network(org.id, "message") == []
            for row in held:
                now = rows_of(org.id)[row.id]
                assert (now.status, now.attempts, now.wait_reason) == ("pending", 0, "paused")
            # The ban ends: the session comes back, the rows go, the sweeper ends the pause.
            await wait_until(lambda: all(rows_of(org.id)[r.id].status == "completed" for r in held),
                             timeout=20, what="sends after the ban")
            await asyncio.to_thread(_sweep)
            cleared = await alerts_seen.wait_for(lambda e: e["state"] == "cleared", 5)
            return opened, cleared, held

    opened, cleared, held = run(body)
    assert (opened["kind"], opened["reason"]) == ("paused", "temporary_ban") and "حظر" in opened["text"]
    assert cleared["incident_id"] == opened["incident_id"]
    [(paused_at, resumed_at, until, by)] = scalar_rows(
        "SELECT paused_at, resumed_at, until, resumed_by FROM sending_pauses WHERE org_id = :o", o=org.id)
    assert resumed_at == until and by is None
    # Half pace for a day after the ban.
    [(slow_until,)] = scalar_rows("SELECT slow_until FROM sending_state WHERE org_id = :o", o=org.id)
    assert abs((slow_until - until).total_seconds() - 86400) < 1
    assert {"sending_paused", "sending_resumed", "temporary_ban"} <= set(audit_types(org.id))
    # One opening and one all-clear e-mail, to the owner and the admin, in Arabic; never twice.
    _sweep()
    subjects = {}
    for rcpt, message in smtp_sink.messages:
        for address in rcpt:
            subjects.setdefault(address, []).append(message["Subject"])
    assert set(subjects) == {owner.email, admin.email}
    for sent in subjects.values():
        assert len(sent) == 2 and "تنبيه" in sent[0] and "انتهى التنبيه" in sent[1]
    body = smtp_sink.messages[0][1].get_content()
    assert "حظر واتساب هذا الرقم مؤقتاً" in body and org.name in body


def test_a_person_resumes_a_pause_by_hand_only_as_owner_or_admin_and_it_is_audited(sim, db, org_tpl, make_user):
    org, _ = org_tpl
    owner, member = make_user("owner", org), make_user("member", org)
    pair(db, org.id)
    with session_scope() as s:
        pauses.pause(session=s, org_id=org.id, reason="sends_failing", detail="3 sends in a row failed")

    async def body():
        async with running(org.id):
            [row] = enqueue(org.id, ["waits for a person"])
            await asyncio.sleep(1.0)
            assert rows_of(org.id)[row.id].status == "pending" and network(org.id, "message") == []
            with pytest.raises(PermissionDenied), session_scope() as s:
                pauses.resume(session=s, org_id=org.id, actor=Actor("member", org.id, member.id))
            with session_scope() as s:
                pauses.resume(session=s, org_id=org.id, actor=Actor("owner", org.id, owner.id, ip_address="10.0.0.7"))
            await wait_until(lambda: rows_of(org.id)[row.id].status == "completed", what="the send after resume")
            with pytest.raises(Conflict), session_scope() as s:
                pauses.resume(session=s, org_id=org.id, actor=SYSTEM)

    run(body)
    [(actor, ip, data)] = scalar_rows("SELECT actor_id, ip_address, event_data FROM whatsapp_audit_logs "
                                      "WHERE org_id = :o AND event_type = 'sending_resumed'", o=org.id)
    assert (actor, ip, data["reason"]) == (owner.id, "10.0.0.7", "sends_failing")


def test_a_session_down_longer_than_alert_after_is_one_incident_until_it_is_back(sim, db, org_tpl, monkeypatch):
    """The session comes back by itself once connects work again: at its next retry, so the backoff is capped
    short, as in the engine's own tests. At the product's 2 s base and 300 s cap, a machine slow enough to
    stretch the outage to four or five failed connects put that retry 8 to 32 s past the wait."""
    monkeypatch.setenv("ALERT_AFTER_SECONDS", "1")
    monkeypatch.setenv("RECONNECT_BASE_SECONDS", "0.2")
    monkeypatch.setenv("RECONNECT_MAX_SECONDS", "0.8")
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    org, _ = org_tpl
    pair(db, org.id)

    async def body():
        async with running(org.id) as engine:
            engine.factory.apply(org.id, "fail-connects", {"count": 1000})
            engine.factory.apply(org.id, "drop", {})
            await wait_until(lambda: not engine.is_connected(org.id), what="the drop")
            started = time.monotonic()
            while time.monotonic() - started < 1.5:
                await asyncio.to_thread(_sweep)
                await asyncio.sleep(0.2)
            for _ in range(3):
                await asyncio.to_thread(_sweep)
            opened = scalar_rows("SELECT kind, reason, closed_at FROM sending_incidents WHERE org_id = :o", o=org.id)
            engine.factory.apply(org.id, "fail-connects", {"count": 0})
            await wait_until(lambda: engine.is_connected(org.id), timeout=15, what="the session back")
            await asyncio.to_thread(_sweep)
            return opened

    opened = run(body)
    assert len(opened) == 1 and opened[0][0] == "disconnected" and opened[0][2] is None
    [(closed_at,)] = scalar_rows("SELECT closed_at FROM sending_incidents WHERE org_id = :o", o=org.id)
    assert closed_at is not None and closed_at <= utcnow()


def test_a_restriction_code_from_whatsapp_pauses_sending_and_the_message_waits_not_fails(sim, db, org_tpl):
    """The simulator answers a send with error 463 (the library's own text): the organisation pauses as
    `restricted`, that message and the rest wait (pending, `paused`), and nothing more is tried."""
    org, _ = org_tpl
    pair(db, org.id)

    async def body():
        async with running(org.id) as engine:
            engine.factory.apply(org.id, "fail-sends", {"count": 1, "code": 463})
            rows = enqueue(org.id, ["first", "second", "third"])
            await wait_until(lambda: scalar_rows("SELECT reason FROM sending_pauses WHERE org_id = :o",
                                                 o=org.id) == [("restricted",)], what="the pause")
            await asyncio.sleep(1.0)  # the worker keeps turning: the paused organisation is left out
            return rows

    rows = run(body)
    now = rows_of(org.id)
    assert [(now[r.id].status, now[r.id].wait_reason) for r in rows] == [("pending", "paused")] * 3
    assert [now[r.id].attempts for r in rows].count(0) >= 2  # only the send that met the 463 was tried
    assert network(org.id, "message") == []
    [(detail,)] = scalar_rows("SELECT detail FROM sending_pauses WHERE org_id = :o", o=org.id)
    assert "463" in detail
    assert "sending_paused" in audit_types(org.id)


def test_a_phone_that_unlinks_the_device_pauses_sending_until_the_number_is_linked_again(sim, db, org_tpl):
    """`logged_out_phone`: the queue waits (nothing failed, nothing tried); linking the number again (a new
    QR scanned) ends the pause by itself, and the held message goes."""
    from fleet_dashboard.whatsapp import sessions

    org, _ = org_tpl
    pair(db, org.id)

    def connect_again() -> None:
        with session_scope() as s:
            sessions.request_connect(session=s, org_id=org.id, actor=SYSTEM)

    async def body():
        async with running(org.id) as engine:
            engine.factory.apply(org.id, "logout", {})
            await wait_until(lambda: scalar_rows("SELECT reason, resumed_at FROM sending_pauses WHERE org_id = :o",
                                                 o=org.id) == [("logged_out_phone", None)], what="the pause")
            [row] = enqueue(org.id, ["after the logout"])
            await asyncio.sleep(0.5)
            held = rows_of(org.id)[row.id]
            assert (held.status, held.attempts, held.wait_reason) == ("pending", 0, "paused")
            await asyncio.to_thread(connect_again)
            await wait_until(lambda: scalar_rows("SELECT status FROM whatsapp_sessions WHERE org_id = :o",
                                                 o=org.id) == [("qr_pending",)], what="a new QR")
            engine.factory.apply(org.id, "scan", {"phone": "+201000000001", "name": "Fleet Ops"})
            await wait_until(lambda: rows_of(org.id)[row.id].status == "completed", what="the send after the relink")

    run(body)
    [(resumed_at,)] = scalar_rows("SELECT resumed_at FROM sending_pauses WHERE org_id = :o", o=org.id)
    assert resumed_at is not None
    [data] = [d for (d,) in scalar_rows("SELECT event_data FROM whatsapp_audit_logs WHERE org_id = :o "
                                        "AND event_type = 'sending_resumed'", o=org.id)]
    assert (data["reason"], data["via"]) == ("logged_out_phone", "relinked")
