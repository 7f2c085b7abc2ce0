"""Account-service fixtures: actors as the entry points build them, and audit look-ups."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.models import WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import Actor


def actor_of(user, ip: str = "10.1.2.3") -> Actor:
    """The actor a signed-in person's event carries."""
    return Actor(user_id=user.id, role=user.role, org_id=user.org_id, ip_address=ip)


PLATFORM = permissions.platform("service_role")


def audit_types(db: Session, org_id: uuid.UUID) -> list[str]:
    """The organisation's audit event types, oldest first."""
    rows = db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id)
                   .order_by(WhatsAppAuditLog.created_at, WhatsAppAuditLog.id))
    return [r.event_type for r in rows]


def audit_rows(db: Session, org_id: uuid.UUID, event_type: str) -> list[WhatsAppAuditLog]:
    """The organisation's audit rows of one type, oldest first."""
    return list(db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.org_id == org_id,
                                                       WhatsAppAuditLog.event_type == event_type)
                        .order_by(WhatsAppAuditLog.created_at)))


@pytest.fixture
def team(db, make_org, make_user):
    """An organisation with an owner, an admin and a member (and another organisation beside it)."""
    org, other = make_org("Acme Fleet"), make_org("Other Fleet")
    owner, admin, member = make_user("owner", org), make_user("admin", org), make_user("member", org)
    outsider = make_user("owner", other)
    return {"org": org, "other": other, "owner": owner, "admin": admin, "member": member, "outsider": outsider}


@pytest.fixture
def fresh_bus(database_url):
    """A bus (and caches) made for this test's event loop, forgotten after it."""
    from tests.support.process_state import reset_process_state

    reset_process_state()
    yield
    reset_process_state()
