"""Organisations over their life as a super_admin drives them: create, rename, time zone, suspend, resume."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from fleet_dashboard.accounts import lifecycle
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.accounts.permissions import SYSTEM, Actor
from fleet_dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from fleet_dashboard.core.events import get_bus
from fleet_dashboard.integrations import api_keys, webhooks
from fleet_dashboard.messaging import messages, templates
from fleet_dashboard.notifications import queue
from fleet_dashboard.whatsapp import sessions, suspension
from tests.accounts.conftest import PLATFORM, actor_of, audit_rows, audit_types

PHONE = "+201001234567"


def test_super_admin_creates_renames_and_sets_the_zone_with_audit(db, make_user):
    root = make_user("super_admin")
    org = lifecycle.create_organization(session=db, actor=actor_of(root), name="النقل السريع",
                                            slug="fast", timezone="Asia/Riyadh")
    db.commit()
    assert lifecycle.org_view(org)["timezone"] == "Asia/Riyadh"
    lifecycle.rename_org(session=db, actor=actor_of(root), org_id=org.id, name="Fast Transport", slug="fast-t")
    lifecycle.rename_org(session=db, actor=actor_of(root), org_id=org.id, name="Fast Transport")  # no change
    lifecycle.set_timezone(session=db, actor=actor_of(root), org_id=org.id, timezone=None)
    db.commit()
    assert (org.name, org.slug, lifecycle.org_view(org)["timezone"]) == ("Fast Transport", "fast-t", "Africa/Cairo")
    assert audit_types(db, org.id) == ["org_created", "org_renamed", "org_timezone_changed"]
    renamed = audit_rows(db, org.id, "org_renamed")[0]
    assert renamed.actor_id == root.id and renamed.event_data["before"] == {"name": "النقل السريع", "slug": "fast"}


def test_lifecycle_refusals(db, make_org, make_user):
    org, other = make_org("One", slug="one"), make_org("Two", slug="two")
    owner = make_user("owner", org)
    with pytest.raises(PermissionDenied):
        lifecycle.create_organization(session=db, actor=actor_of(owner), name="Mine")
    with pytest.raises(PermissionDenied):
        suspension.suspend_org(session=db, actor=actor_of(owner), org_id=org.id)
    with pytest.raises(Conflict):
        lifecycle.rename_org(session=db, actor=PLATFORM, org_id=org.id, name="One", slug="two")
    with pytest.raises(ValidationError) as tz:
        lifecycle.set_timezone(session=db, actor=actor_of(owner), org_id=org.id, timezone="Mars/Olympus")
    assert tz.value.code == "invalid_timezone"
    with pytest.raises(NotFound):  # an owner sets only their own organisation's zone
        lifecycle.set_timezone(session=db, actor=actor_of(owner), org_id=other.id, timezone="Asia/Riyadh")
    lifecycle.set_timezone(session=db, actor=actor_of(owner), org_id=org.id, timezone="Asia/Riyadh")
    db.commit()
    assert db.get(Organization, org.id).timezone == "Asia/Riyadh"


def test_suspension_stops_the_session_refuses_writes_and_resume_restores(fresh_bus, db, make_org, make_user):
    org = make_org()
    owner = make_user("owner", org)
    as_owner = Actor(role=owner.role, org_id=org.id, user_id=owner.id)
    row = sessions.request_connect(session=db, org_id=org.id, actor=as_owner)
    row.status, row.whatsapp_id = "connected", "201001234567:3@s.whatsapp.net"
    db.commit()
    assert org.id in sessions.enabled_org_ids(session=db)

    async def suspend_and_watch():
        async with get_bus().subscribe(org_id=org.id, types={"session.command"}) as seen:
            def act():
                suspension.suspend_org(session=db, actor=PLATFORM, org_id=org.id, reason="unpaid")
                db.commit()
            await asyncio.to_thread(act)
            return await seen.get(5)

    command = asyncio.run(suspend_and_watch())
    assert command["action"] == "stop"
    assert org.id not in sessions.enabled_org_ids(session=db)
    view = sessions.get_status(session=db, org_id=org.id)
    assert (view["status"], view["enabled"], view["connection_error_code"]) == \
        ("disconnected", True, "organization_suspended")

    refusals = [
        lambda: sessions.request_connect(session=db, org_id=org.id, actor=as_owner),
        lambda: sessions.request_logout(session=db, org_id=org.id, actor=as_owner),
        lambda: messages.create_message(session=db, org_id=org.id, recipient=PHONE, text="hi", actor=SYSTEM),
        lambda: queue.enqueue(session=db, org_id=org.id, recipient=PHONE, template_name="trial_welcome",
                              variables={"customer_name": "x", "trial_days": "7", "end_date": "1/1"}, actor=SYSTEM),
        lambda: templates.create(session=db, org_id=org.id, name="promo", message_template="hi {{name}}", actor=SYSTEM),
        lambda: api_keys.create_key(session=db, org_id=org.id, actor=SYSTEM),
        lambda: webhooks.set_webhook(session=db, org_id=org.id, url="https://hooks.example.com/x", actor=SYSTEM),
    ]
    for refused in refusals:
        with pytest.raises(PermissionDenied) as exc:
            refused()
        assert exc.value.code == "organization_suspended"
        db.rollback()
    suspension.suspend_org(session=db, actor=PLATFORM, org_id=org.id)  # idempotent: no second audit row
    suspension.resume_org(session=db, actor=PLATFORM, org_id=org.id)
    db.commit()
    assert org.id in sessions.enabled_org_ids(session=db)
    assert sessions.get_status(session=db, org_id=org.id)["status"] == "connecting"
    assert audit_types(db, org.id)[-2:] == ["org_suspended", "org_resumed"]
    assert audit_rows(db, org.id, "org_suspended")[0].event_data == {"reason": "unpaid", "via": "provisioning",
                                                                     "credential": "service_role"}
    messages.create_message(session=db, org_id=org.id, recipient=PHONE, text="back", actor=SYSTEM)


def test_create_org_keeps_a_given_id(db):
    org_id = uuid.uuid4()
    org = lifecycle.create_organization(session=db, actor=PLATFORM, name="SaaS Org", org_id=org_id)
    assert org.id == org_id and org.slug == "saas-org"
