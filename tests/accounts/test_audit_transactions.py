"""One way to audit: each write and its audit row are one transaction, written by the service with the caller's
Actor. A write rolled back leaves no audit row; an audit row that cannot be written takes its write with it;
the operator's CLI writes are audited like the dashboard's (who, how it came in, from where)."""

from __future__ import annotations

import dataclasses
import getpass
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from fleet_dashboard.accounts import people
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.models import WhatsAppAuditLog as AuditLog
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.integrations import api_keys, webhooks
from fleet_dashboard.integrations.models import ApiKey, Webhook
from fleet_dashboard.messaging import templates
from fleet_dashboard.messaging.models import WhatsAppTemplate
from tests.support.cli import Ran, run_cli

# Each audited write: what it does, the audit event it must leave, and the rows it writes (to see them vanish).
WRITES: dict[str, tuple[Callable[[Session, Actor, Any], Any], str, type]] = {
    "template": (lambda s, actor, org: templates.create(session=s, org_id=org.id, name="invoice_ready",
                                                        message_template="Hi {{name}}", actor=actor),
                 "template_created", WhatsAppTemplate),
    "webhook": (lambda s, actor, org: webhooks.set_webhook(session=s, org_id=org.id, url="https://hooks.example.com/a",
                                                           events=["message.status"], actor=actor),
                "webhook_saved", Webhook),
    "api_key": (lambda s, actor, org: api_keys.create_key(session=s, org_id=org.id, name="billing", scopes=["read"],
                                                          actor=actor),
                "api_key_created", ApiKey),
}


def _owner_actor(owner: User) -> Actor:
    return Actor(role=owner.role, org_id=owner.org_id, user_id=owner.id, ip_address="203.0.113.7", via="dashboard")


def _audit_rows(org_id: uuid.UUID, event_type: str) -> list[AuditLog]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.org_id == org_id, AuditLog.event_type == event_type)))


def _count(model: type, org_id: uuid.UUID) -> int:
    with Session(get_engine()) as s:
        return len(list(s.exec(select(model).where(model.org_id == org_id))))


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_the_write_and_its_audit_row_commit_together_with_the_callers_actor(db, make_org, make_user, kind):
    write, event_type, model = WRITES[kind]
    org = make_org()
    owner = make_user("owner", org)
    with session_scope() as s:
        write(s, _owner_actor(owner), org)
    assert _count(model, org.id) == 1
    [row] = _audit_rows(org.id, event_type)
    assert row.actor_id == owner.id and row.ip_address == "203.0.113.7"
    assert row.event_data["via"] == "dashboard"


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_write_rolled_back_leaves_no_audit_row(db, make_org, make_user, kind):
    write, event_type, model = WRITES[kind]
    org = make_org()
    owner = make_user("owner", org)
    with Session(get_engine()) as s:
        write(s, _owner_actor(owner), org)
        s.rollback()  # the caller's transaction fails after the service returned
    assert _count(model, org.id) == 0
    assert _audit_rows(org.id, event_type) == []


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_an_audit_row_that_cannot_be_written_takes_its_write_with_it(db, make_org, make_user, kind):
    write, event_type, model = WRITES[kind]
    org = make_org()
    owner = make_user("owner", org)
    # The audit log refuses this row at the database (its ip_address column holds 64 characters).
    unauditable = dataclasses.replace(_owner_actor(owner), ip_address="2001:db8:" + "f" * 100)
    with pytest.raises(DBAPIError), session_scope() as s:
        write(s, unauditable, org)
    assert _count(model, org.id) == 0, "the write survived without its audit row"
    assert _audit_rows(org.id, event_type) == []


def _cli(database_url: str, *args: str, stdin: str | None = None) -> Ran:
    return run_cli(*args, env={"DATABASE_URL": database_url}, stdin=stdin)


def _all_audit(event_type: str) -> list[AuditLog]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.event_type == event_type)))


def test_the_operators_cli_writes_are_audited_as_the_operator(database_url, db):
    operator = f"operator:{getpass.getuser()}"
    slug = f"cli-audit-{uuid.uuid4().hex[:6]}"
    steps = [
        (["create-org", "CLI Audit", "--slug", slug], "org_created"),
        (["create-user", f"owner-{slug}@example.com", "--role", "owner", "--org", slug,
          "--password", "correct-horse-1"], "user_created"),
        (["api-key", "create", "--org", slug, "--name", "billing", "--scopes", "read"], "api_key_created"),
        (["webhook", "set", "--org", slug, "--url", "https://hooks.example.com/cli", "--events", "message.status"],
         "webhook_saved"),
        (["user", "password", f"owner-{slug}@example.com", "--password", "another-horse-2"], "password_changed"),
        (["user", "deactivate", f"owner-{slug}@example.com"], "user_deactivated"),
        (["user", "sign-out", f"owner-{slug}@example.com"], "signed_out_everywhere"),
    ]
    for args, event_type in steps:
        out = _cli(database_url, *args)
        assert out.returncode == 0, (args, out.stderr)
        rows = [r for r in _all_audit(event_type) if r.event_data.get("credential") == operator]
        assert len(rows) == 1, (event_type, [r.event_data for r in _all_audit(event_type)])
        assert rows[0].event_data["via"] == "cli" and rows[0].org_id is not None, rows[0].event_data
    key_id = next(r for r in _all_audit("api_key_created") if r.event_data.get("credential") == operator)
    assert _cli(database_url, "api-key", "revoke", key_id.event_data["api_key_id"]).returncode == 0
    assert [r.event_data["via"] for r in _all_audit("api_key_revoked")] == ["cli"]


def test_an_account_an_operator_creates_is_audited_in_its_organisation(db, make_org):
    org = make_org()
    operator = Actor(role="system", kind="system", via="cli", credential="operator:ops")
    user = people.create_account(session=db, actor=operator, email="new@example.com", password="correct-horse-1",
                                 role="member", org_id=org.id)
    db.commit()
    [row] = _audit_rows(org.id, "user_created")
    assert row.event_data == {"user_id": str(user.id), "email": "new@example.com", "role": "member", "via": "cli",
                              "credential": "operator:ops"}
