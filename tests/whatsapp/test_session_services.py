"""The sessions and opt-out services as the UI and API call them."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session

from fleet_dashboard.accounts.permissions import SYSTEM, Actor
from fleet_dashboard.core.events import get_bus
from fleet_dashboard.messaging import optouts
from fleet_dashboard.whatsapp import sessions
from tests.whatsapp.conftest import audit_rows


def test_requests_update_the_row_audit_and_command_the_engine(sim_env, db: Session, make_org, make_user):
    org = make_org()
    user = make_user(org=org)

    async def body():
        async with get_bus().subscribe(org_id=org.id) as seen:
            def act():
                sessions.request_connect(session=db, org_id=org.id,
                                         actor=Actor("owner", org.id, user.id, ip_address="10.0.0.9"))
                db.commit()
            await asyncio.to_thread(act)
            first, second = await seen.get(5), await seen.get(5)
            return first, second

    status, command = asyncio.run(body())
    assert (status["type"], status["status"], status["enabled"]) == ("session.status", "connecting", True)
    assert (command["type"], command["action"], command["actor_id"]) == ("session.command", "connect",
                                                                           str(user.id))
    row = audit_rows(org.id, "connect_requested")[0]
    assert (row.actor_id, row.ip_address) == (user.id, "10.0.0.9")

    row = sessions.get_or_create(session=db, org_id=org.id)
    row.status, row.whatsapp_id, row.phone_number = "connected", "201001234567:3@s.whatsapp.net", "+201001234567"
    db.commit()
    sessions.request_stop(session=db, org_id=org.id, actor=Actor("owner", org.id, user.id))
    db.commit()
    view = sessions.get_status(session=db, org_id=org.id)
    assert (view["status"], view["enabled"], view["phone_number"]) == ("disconnected", False, "+201001234567")
    sessions.request_logout(session=db, org_id=org.id, actor=Actor("owner", org.id, user.id))
    db.commit()
    row = sessions.get_or_create(session=db, org_id=org.id)
    assert row.whatsapp_id is None and row.phone_number is None and not row.enabled


def test_status_of_an_org_without_a_session_is_disconnected(sim_env, db: Session, make_org):
    org = make_org()
    view = sessions.get_status(session=db, org_id=org.id)
    assert view["status"] == "disconnected" and view["qr_code"] is None and view["enabled"] is False


@pytest.mark.parametrize("text,outcome", [
    ("STOP", "opted_out"), (" stop ", "opted_out"), ("إيقاف", "opted_out"), ("ايقاف", "opted_out"),
    ("الغاء", "opted_out"), ("إلغاء", "opted_out"), ("Stop.", "opted_out"),
    ("START", "opted_in"), ("اشتراك", "opted_in"),
    ("please stop the messages", None), ("", None), ("hello", None),
])
def test_keywords(text, outcome, sim_env, db: Session, make_org):
    org = make_org()
    assert optouts.handle_inbound(session=db, org_id=org.id, phone="+201001234567", text=text) == outcome


def test_opt_out_is_per_organisation_and_reversible(sim_env, db: Session, make_org):
    a, b = make_org(), make_org()
    optouts.handle_inbound(session=db, org_id=a.id, phone="01001234567", text="STOP")
    optouts.handle_inbound(session=db, org_id=a.id, phone="+201001234567", text="STOP")  # twice is fine
    db.commit()
    assert optouts.is_opted_out(session=db, org_id=a.id, phone="+201001234567")
    assert not optouts.is_opted_out(session=db, org_id=b.id, phone="+201001234567")
    assert [o.phone for o in optouts.list_for_org(session=db, org_id=a.id, actor=SYSTEM)[0]] == ["+201001234567"]
    assert len(audit_rows(a.id, "opted_out")) == 1
    optouts.handle_inbound(session=db, org_id=a.id, phone="+201001234567", text="start")
    db.commit()
    assert not optouts.is_opted_out(session=db, org_id=a.id, phone="+201001234567")
