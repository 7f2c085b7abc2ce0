"""A victim organisation full of things worth stealing, an attacker organisation, and their people."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

from sqlalchemy import text

from fleet_dashboard.accounts import signin
from fleet_dashboard.accounts.permissions import SYSTEM
from tests.support.server import Account, AppServer, _events_through

# The running app signs sessions with this; the tests mint tokens with it (expired ones included).
SECRET = "security-suite-secret-" + "k" * 32
VICTIM_IP = "203.0.113.77"


@contextmanager
def _signing_key():
    with mock.patch.object(signin, "get_settings", return_value=SimpleNamespace(secret_key=SECRET,
                                                                              session_ttl_hours=12)):
        yield


def mint(account: Account, *, signin_version: int = 0, ttl_seconds: int | None = None) -> str:
    """A session token for this person, as the app would issue it."""
    with _signing_key():
        return signin.issue_token(user_id=account.user_id, signin_version=signin_version, ttl_seconds=ttl_seconds)


@dataclass
class Victim:
    """One organisation, its people of every role, and a marker string for each secret it holds."""

    org: SimpleNamespace
    owner: Account
    admin: Account
    member: Account
    template_id: uuid.UUID
    message_id: uuid.UUID
    rows: dict[str, uuid.UUID]
    webhook_id: uuid.UUID
    key_id: uuid.UUID
    markers: dict[str, str] = field(default_factory=dict)

    def ids(self) -> dict[str, str]:
        """The victim's row ids by the handler argument names that take them."""
        return {"template_id": str(self.template_id), "notification_id": str(self.rows["unknown"]),
                "webhook_id": str(self.webhook_id), "key_id": str(self.key_id)}

    def snapshot(self, server: AppServer) -> dict:
        """Everything an attacker might change, to compare before and after."""
        with server.session() as s:
            q = {
                "templates": "SELECT name, is_active, message_template FROM whatsapp_templates WHERE org_id = :o "
                             "ORDER BY name",
                "queue": "SELECT id::text, status FROM notification_queue WHERE org_id = :o ORDER BY id",
                "whatsapp": "SELECT status, enabled, qr_code FROM whatsapp_sessions WHERE org_id = :o",
                "webhooks": "SELECT url, is_active FROM webhooks WHERE org_id = :o ORDER BY url",
                "keys": "SELECT prefix, revoked_at IS NULL FROM api_keys WHERE org_id = :o ORDER BY prefix",
                "messages": "SELECT count(*) FROM whatsapp_messages WHERE org_id = :o",
            }
            return {k: [tuple(r) for r in s.execute(text(v), {"o": self.org.id})] for k, v in q.items()}


def build_victim(server: AppServer) -> Victim:
    """The organisation under attack, with a live QR, history, queue, webhook, key and audit trail."""
    from fleet_dashboard.accounts import audit
    from fleet_dashboard.integrations import api_keys, webhooks
    from fleet_dashboard.notifications import queue
    from fleet_dashboard.whatsapp import sessions

    tag = uuid.uuid4().hex[:8]
    markers = {"org": f"VICTIMORG{tag}", "body": f"VICTIMBODY{tag}", "template": f"victim_tpl_{tag}",
               "qr": f"VICTIMQR{tag}", "hook": f"victim-hook-{tag}.example.com", "ip": VICTIM_IP,
               "audit": f"VICTIMAUDIT{tag}", "phone": "+201005559" + str(int(tag, 16) % 1000).zfill(3)}
    org = server.make_org(markers["org"])
    owner, admin, member = (server.make_user(role, org) for role in ("owner", "admin", "member"))
    template = server.make_template(org.id, markers["template"], f"تذكير {markers['body']} {{{{name}}}}")
    message_id = server.make_message(org.id, markers["phone"], f"رسالة {markers['body']}")
    rows = {}
    with server.session() as s, _events_through(s):
        for status in ("pending", "failed", "unknown"):
            row, _ = queue.enqueue(session=s, org_id=org.id, recipient=markers["phone"],
                                   template_name=markers["template"], variables={"name": status},
                                   scheduled_for=datetime.now(UTC) + timedelta(days=2), idempotency_key=status,
                                   actor=SYSTEM)
            rows[status] = row.id
    with server.session() as s, _events_through(s):
        for status in ("failed", "unknown"):
            s.execute(text("UPDATE notification_queue SET status = :st WHERE id = :i"), {"st": status,
                                                                                       "i": rows[status]})
        hook, _ = webhooks.set_webhook(session=s, org_id=org.id, url=f"https://{markers['hook']}/in",
                                       events=["message.inbound"], actor=SYSTEM)
        key, plain = api_keys.create_key(session=s, org_id=org.id, name="victim", actor=SYSTEM)
        markers["key"] = key.prefix
        audit.record(session=s, org_id=org.id, actor_id=owner.user_id, event_type="template_created",
                     event_data={"name": markers["audit"]}, ip_address=VICTIM_IP)
        row = sessions.get_or_create(session=s, org_id=org.id)
        row.status, row.qr_code = "qr_pending", markers["qr"]
        row.qr_expires_at = datetime.now(UTC) + timedelta(hours=6)
        s.add(row)
    return Victim(org=SimpleNamespace(id=org.id, slug=org.slug, name=org.name), owner=owner, admin=admin,
                  member=member, template_id=template.id, message_id=message_id, rows=rows, webhook_id=hook.id,
                  key_id=key.id, markers=markers)


def audit_rows(server: AppServer, event_type: str, actor_id: uuid.UUID | None = None) -> list[dict]:
    """Audit rows of one type (optionally one actor's), oldest first, with their details."""
    query = "SELECT event_data FROM whatsapp_audit_logs WHERE event_type = :t"
    params: dict = {"t": event_type}
    if actor_id is not None:
        query += " AND actor_id = :a"
        params["a"] = actor_id
    with server.session() as s:
        return [r[0] for r in s.execute(text(query + " ORDER BY created_at"), params)]
