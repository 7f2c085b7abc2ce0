"""One way to audit: each write and its audit row are one transaction, written by the service with the caller's
Actor. A write rolled back leaves no audit row; an audit row that cannot be written takes its write with it;
the operator's CLI writes are audited like the dashboard's (who, how it came in, from where)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from fleet_dashboard.accounts import lifecycle, links, people, users
from fleet_dashboard.accounts.models import OneTimeLink, Organization, User
from fleet_dashboard.accounts.models import WhatsAppAuditLog as AuditLog
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.deliverability import pauses, rules
from fleet_dashboard.deliverability.models import PauseReason, SendingPause
from fleet_dashboard.integrations import api_keys, webhooks
from fleet_dashboard.integrations.models import ApiKey, Webhook
from fleet_dashboard.messaging import optouts, templates
from fleet_dashboard.messaging.models import OptOut, WhatsAppTemplate
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.whatsapp import sessions, suspension
from fleet_dashboard.whatsapp.models import WhatsAppSession
from tests.support.cli import run_cli


# Each audited write: what to set up first (committed), the write itself, the audit event it must leave, and a
# probe of what it writes (to see it vanish). Every service that a person's action reaches is here: settings,
# sending rules, pauses, break-glass, integrations, the opt-out list, the queue, the session, the team.
@dataclasses.dataclass(frozen=True)
class Write:
    event_type: str
    write: Callable[[Session, Actor, Any, Any], Any]  # (session, actor, org, what setup gave)
    probe: Callable[[Session, Any], Any]  # what the write changes, read in a fresh session
    setup: Callable[[Session, Any, Any], Any] = lambda s, org, owner: None
    by: str = "owner"  # whose Actor: the organisation's owner, or a super_admin


def _count(model: type, org_id: uuid.UUID, *where) -> Callable[[Session, Any], int]:
    return lambda s, org: len(list(s.exec(select(model).where(model.org_id == org.id, *where))))


def _org_field(name: str) -> Callable[[Session, Any], Any]:
    return lambda s, org: getattr(s.get(Organization, org.id), name)


def _scheduled(s: Session, org, owner) -> uuid.UUID:
    actor = Actor(role="owner", org_id=org.id, user_id=owner.id)
    return queue.schedule_text(session=s, org_id=org.id, recipient=PHONE, text_body="later", actor=actor,
                               scheduled_for=datetime.now(UTC) + timedelta(days=1)).id


def _member(s: Session, org, owner) -> uuid.UUID:
    return users.create_user(session=s, email=f"m{uuid.uuid4().hex[:6]}@example.com", password="correct-horse-1",
                             role="member", org_id=org.id).id


PHONE = "+201001234567"
WRITES: dict[str, Write] = {
    "template": Write("template_created", lambda s, a, org, _: templates.create(
        session=s, org_id=org.id, name="invoice_ready", message_template="Hi {{name}}", actor=a),
        lambda s, org: _count(WhatsAppTemplate, org.id)(s, org)),
    "webhook": Write("webhook_saved", lambda s, a, org, _: webhooks.set_webhook(
        session=s, org_id=org.id, url="https://hooks.example.com/a", events=["message.status"], actor=a),
        lambda s, org: _count(Webhook, org.id)(s, org)),
    "api_key": Write("api_key_created", lambda s, a, org, _: api_keys.create_key(
        session=s, org_id=org.id, name="billing", scopes=["read"], actor=a),
        lambda s, org: _count(ApiKey, org.id)(s, org)),
    "timezone_setting": Write("org_timezone_changed", lambda s, a, org, _: lifecycle.set_timezone(
        session=s, actor=a, org_id=org.id, timezone="Africa/Cairo"), _org_field("timezone")),
    "org_name": Write("org_renamed", lambda s, a, org, _: lifecycle.rename_org(
        session=s, actor=a, org_id=org.id, name="Renamed Fleet"), _org_field("name"), by="super_admin"),
    "suspension": Write("org_suspended", lambda s, a, org, _: suspension.suspend_org(
        session=s, actor=a, org_id=org.id, reason="unpaid"), _org_field("suspended_at"), by="super_admin"),
    "sending_rules": Write("sending_rules_changed", lambda s, a, org, _: rules.set_rules(
        session=s, org_id=org.id, actor=a, body={"daily_cap": 250}),
        lambda s, org: rules.get_rules(session=s, org_id=org.id).daily_cap),
    "pause_resumed": Write("sending_resumed", lambda s, a, org, _: pauses.resume(session=s, org_id=org.id, actor=a),
                           lambda s, org: _count(SendingPause, org.id, SendingPause.resumed_at.is_(None))(s, org),
                           setup=lambda s, org, owner: pauses.pause(session=s, org_id=org.id,
                                                                    reason=PauseReason.sends_failing)),
    "break_glass": Write("break_glass_started", lambda s, a, org, owner_id: links.break_glass(
        session=s, actor=a, user_id=owner_id, reason="a customer's complaint about lost invoices", minutes=15),
        lambda s, org: _count(OneTimeLink, org.id)(s, org), setup=lambda s, org, owner: owner.id,
        by="super_admin"),
    "opt_out_added": Write("opt_out_added", lambda s, a, org, _: optouts.add(
        session=s, org_id=org.id, phone=PHONE, reason="asked by phone", actor=a),
        lambda s, org: _count(OptOut, org.id)(s, org)),
    "opt_out_removed": Write("opt_out_removed", lambda s, a, org, _: optouts.remove(
        session=s, org_id=org.id, phone=PHONE, actor=a), lambda s, org: _count(OptOut, org.id)(s, org),
        setup=lambda s, org, owner: optouts.opt_out(session=s, org_id=org.id, phone=PHONE, keyword_used="STOP")),
    "message_scheduled": Write("message_scheduled", lambda s, a, org, _: queue.schedule_text(
        session=s, org_id=org.id, recipient=PHONE, text_body="later", actor=a,
        scheduled_for=datetime.now(UTC) + timedelta(days=1)),
        lambda s, org: _count(NotificationQueue, org.id)(s, org)),
    "queue_cancelled": Write("queue_cancelled", lambda s, a, org, row_id: queue.cancel(
        session=s, org_id=org.id, notification_id=row_id, actor=a),
        lambda s, org: [r.status for r in s.exec(select(NotificationQueue).where(
            NotificationQueue.org_id == org.id))], setup=_scheduled),
    "connect_requested": Write("connect_requested", lambda s, a, org, _: sessions.request_connect(
        session=s, org_id=org.id, actor=a),
        lambda s, org: [(r.enabled, r.command_seq) for r in s.exec(select(WhatsAppSession).where(
            WhatsAppSession.org_id == org.id))]),
    "member_invited": Write("member_invited", lambda s, a, org, _: people.invite(
        session=s, actor=a, org_id=org.id, email="new.driver@example.com", role="member"),
        lambda s, org: _count(OneTimeLink, org.id)(s, org)),
    "role_changed": Write("role_changed", lambda s, a, org, member_id: people.change_role(
        session=s, actor=a, org_id=org.id, user_id=member_id, role="admin"),
        lambda s, org: sorted(u.role for u in s.exec(select(User).where(User.org_id == org.id))),
        setup=_member),
}


def _actor(kind: str, org, owner: User, root: User | None) -> Actor:
    if kind == "super_admin":
        return Actor(role="super_admin", user_id=root.id, ip_address="203.0.113.7", via="dashboard")
    return Actor(role=owner.role, org_id=owner.org_id, user_id=owner.id, ip_address="203.0.113.7", via="dashboard")


def _audit_rows(org_id: uuid.UUID, event_type: str) -> list[AuditLog]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.org_id == org_id, AuditLog.event_type == event_type)))


def _arrange(kind: str, make_org, make_user):
    case = WRITES[kind]
    org = make_org()
    owner = make_user("owner", org)
    root = make_user("super_admin", None) if case.by == "super_admin" else None
    with session_scope() as s:
        given = case.setup(s, org, owner)
    with Session(get_engine()) as s:
        before = case.probe(s, org)
    return case, org, owner, root, given, before


def _probe(case: Write, org) -> Any:
    with Session(get_engine()) as s:
        return case.probe(s, org)


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_the_write_and_its_audit_row_commit_together_with_the_callers_actor(db, make_org, make_user, kind):
    case, org, owner, root, given, before = _arrange(kind, make_org, make_user)
    actor = _actor(case.by, org, owner, root)
    with session_scope() as s:
        case.write(s, actor, org, given)
    assert _probe(case, org) != before, "the write changed nothing: the probe reads the wrong thing"
    [row] = _audit_rows(org.id, case.event_type)
    assert row.actor_id == actor.user_id and row.ip_address == "203.0.113.7"
    assert row.event_data["via"] == "dashboard"


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_write_rolled_back_leaves_no_audit_row(db, make_org, make_user, kind):
    case, org, owner, root, given, before = _arrange(kind, make_org, make_user)
    with Session(get_engine()) as s:
        case.write(s, _actor(case.by, org, owner, root), org, given)
        s.rollback()  # the caller's transaction fails after the service returned
    assert _probe(case, org) == before
    assert _audit_rows(org.id, case.event_type) == []


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_an_audit_row_that_cannot_be_written_takes_its_write_with_it(db, make_org, make_user, kind):
    case, org, owner, root, given, before = _arrange(kind, make_org, make_user)
    # The audit log refuses this row at the database (its ip_address column holds 64 characters).
    unauditable = dataclasses.replace(_actor(case.by, org, owner, root), ip_address="2001:db8:" + "f" * 100)
    with pytest.raises(DBAPIError), session_scope() as s:
        case.write(s, unauditable, org, given)
    assert _probe(case, org) == before, "the write survived without its audit row"
    assert _audit_rows(org.id, case.event_type) == []


def _all_audit(event_type: str) -> list[AuditLog]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.event_type == event_type)))


def _org_and_owner(database_url: str, slug: str) -> str:
    """An organisation and its owner made by the operator; the owner's e-mail."""
    email = f"owner-{slug}@example.com"
    for args in (["create-org", "CLI Audit", "--slug", slug],
                 ["create-user", email, "--role", "owner", "--org", slug, "--password", "correct-horse-1"]):
        out = run_cli(*args, env={"DATABASE_URL": database_url})
        assert out.returncode == 0, (args, out.stderr)
    return email


def _key_id(database_url: str, slug: str) -> str:
    _org_and_owner(database_url, slug)
    out = run_cli("api-key", "create", "--org", slug, "--name", "billing", "--scopes", "read",
                  env={"DATABASE_URL": database_url})
    assert out.returncode == 0, out.stderr
    return next(r.event_data["api_key_id"] for r in _all_audit("api_key_created"))


def _webhook_id(database_url: str, slug: str) -> str:
    _org_and_owner(database_url, slug)
    out = run_cli("webhook", "set", "--org", slug, "--url", "https://hooks.example.com/cli", "--events",
                  "message.status", env={"DATABASE_URL": database_url})
    assert out.returncode == 0, out.stderr
    return next(r.event_data["webhook_id"] for r in _all_audit("webhook_saved"))


def _deactivated(database_url: str, slug: str) -> str:
    email = _org_and_owner(database_url, slug)
    assert run_cli("user", "deactivate", email, env={"DATABASE_URL": database_url}).returncode == 0
    return email


# Every command of `fleet-dashboard` that writes: (what to prepare, given the database and a fresh slug, returning
# what the command needs), the command, and the audit event it must leave as the operator.
CLI_WRITES: dict[str, tuple[Callable[[str, str], Any], Callable[[str, Any], list[str]], str]] = {
    "create-org": (lambda url, slug: slug, lambda slug, _: ["create-org", "CLI Audit", "--slug", slug], "org_created"),
    "create-user": (lambda url, slug: run_cli("create-org", "CLI Audit", "--slug", slug,
                                              env={"DATABASE_URL": url}),
                    lambda slug, _: ["create-user", f"owner-{slug}@example.com", "--role", "owner", "--org", slug,
                                     "--password", "correct-horse-1"], "user_created"),
    "user password": (_org_and_owner, lambda slug, email: ["user", "password", email, "--password",
                                                           "another-horse-2"], "password_changed"),
    "user deactivate": (_org_and_owner, lambda slug, email: ["user", "deactivate", email], "user_deactivated"),
    "user activate": (_deactivated, lambda slug, email: ["user", "activate", email], "user_activated"),
    "user sign-out": (_org_and_owner, lambda slug, email: ["user", "sign-out", email], "signed_out_everywhere"),
    "api-key create": (_org_and_owner, lambda slug, _: ["api-key", "create", "--org", slug, "--name", "billing",
                                                        "--scopes", "read"], "api_key_created"),
    "api-key revoke": (_key_id, lambda slug, key_id: ["api-key", "revoke", key_id], "api_key_revoked"),
    "webhook set": (_org_and_owner, lambda slug, _: ["webhook", "set", "--org", slug, "--url",
                                                     "https://hooks.example.com/cli", "--events", "message.status"],
                    "webhook_saved"),
    "webhook delete": (_webhook_id, lambda slug, hook_id: ["webhook", "delete", hook_id], "webhook_deleted"),
    "demo": (lambda url, slug: None, lambda slug, _: ["demo"], "user_created"),
    "purge": (lambda url, slug: None, lambda slug, _: ["purge"], "retention_purged"),
}
# Commands that write nothing an operator did (they read, or run the product's processes).
CLI_NO_WRITES = {"run", "serve", "migrate", "engine", "worker", "api-key list", "webhook list"}


def test_every_cli_command_is_either_an_audited_write_or_writes_nothing():
    from fleet_dashboard.cli import build_parser

    def leaves(parser, prefix: str = "") -> set[str]:
        found: set[str] = set()
        for action in parser._actions:  # argparse has no public walk of its sub-commands
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found |= leaves(sub, f"{prefix}{name} ") or {f"{prefix}{name}"}
        return found

    assert leaves(build_parser()) == set(CLI_WRITES) | CLI_NO_WRITES


@pytest.mark.parametrize("command", sorted(CLI_WRITES))
def test_each_cli_write_is_audited_as_the_operator(database_url, db, command):
    prepare, args, event_type = CLI_WRITES[command]
    slug = f"cli-{uuid.uuid4().hex[:6]}"
    given = prepare(database_url, slug)
    before = {r.id for r in _all_audit(event_type)}
    out = run_cli(*args(slug, given), env={"DATABASE_URL": database_url})
    assert out.returncode == 0, (command, out.stdout, out.stderr)
    rows = [r for r in _all_audit(event_type) if r.id not in before]
    assert rows, f"{command} left no {event_type} row"
    operator = "operator:demo" if command == "demo" else f"operator:{getpass.getuser()}"
    for row in rows:
        assert (row.event_data.get("via"), row.event_data.get("credential")) == ("cli", operator), row.event_data
    # In the organisation's own log, where its people read it (the purge's fleet-wide row aside).
    assert any(r.org_id is not None for r in rows) or command == "purge"


def test_an_account_an_operator_creates_is_audited_in_its_organisation(db, make_org):
    org = make_org()
    operator = Actor(role="system", kind="system", via="cli", credential="operator:ops")
    user = people.create_account(session=db, actor=operator, email="new@example.com", password="correct-horse-1",
                                 role="member", org_id=org.id)
    db.commit()
    [row] = _audit_rows(org.id, "user_created")
    assert row.event_data == {"user_id": str(user.id), "email": "new@example.com", "role": "member", "via": "cli",
                              "credential": "operator:ops"}
