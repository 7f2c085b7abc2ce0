"""Per-organisation webhooks: where events go, and how each JSON payload is signed.

Signature scheme (verify it on the receiving side):

    X-Fleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body bytes)>

Compute the HMAC over the exact bytes received, compare in constant time, and refuse a
timestamp more than 5 minutes from your clock (replay protection). A retry is signed afresh
with a new timestamp but keeps the same `X-Fleet-Delivery` id (and payload `id`), so a receiver
can drop duplicates by that id. Other headers: `X-Fleet-Event` (the event type) and
`Content-Type: application/json`. Payload: `{"id", "type", "org_id", "created_at", "data"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import safe_http
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.events import WEBHOOK_EVENTS
from fleet_dashboard.core.pagination import get_owned
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.integrations.models import Webhook, WebhookDelivery
from fleet_dashboard.messaging.models import SETTLED_MESSAGE_STATUSES

# The bus events a webhook may subscribe to (events.EventType says which are public).
EVENTS = WEBHOOK_EVENTS
# Only settled message statuses are worth a call; in-flight ones (pending/queued/sending) are internal steps.
MESSAGE_STATUSES = frozenset(SETTLED_MESSAGE_STATUSES)
SIGNATURE_HEADER = "X-Fleet-Signature"
TOLERANCE_SECONDS = 300


def normalize_events(events: list[str] | tuple[str, ...] | None) -> list[str]:
    """Known event types in a stable order; none given means all of them."""
    if not events:
        return list(EVENTS)
    flat = [e.strip() for item in events for e in str(item).split(",") if e.strip()]
    unknown = sorted(set(flat) - set(EVENTS))
    if unknown:
        raise ValidationError(f"unknown webhook event(s) {', '.join(unknown)}: use {', '.join(EVENTS)}",
                              code="webhook_events", events=unknown)
    return [e for e in EVENTS if e in flat]


def blocked_address(url: str, *, resolve: bool) -> str | None:
    """Why the server must not call `url`, or None: a loopback, private, link-local or reserved address.

    Without `resolve` only literal addresses and localhost are judged (DNS may be down when a URL is saved);
    with it, every address the host name resolves to. WEBHOOK_ALLOW_PRIVATE_NETWORKS=true turns this off.
    Delivery checks again where it dials (safe_http), so this is the early, clear refusal, not the only one."""
    if get_settings().webhook_allow_private_networks:
        return None
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine"
    try:
        literal = safe_http.literal_address(host)
        addresses = [literal] if literal else []
        if not addresses and resolve:
            addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    return safe_http.refusal(host, addresses)


def validate_url(url: str) -> str:
    """An absolute http(s) URL to a public address, or ValidationError."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ValidationError(f"webhook URL must be an absolute http(s) URL, got {url[:80]!r}",
                              code="webhook_url")
    reason = blocked_address(url, resolve=False)
    if reason:
        raise ValidationError(f"webhook URL refused: {reason}; set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true "
                              "to allow internal receivers", code="webhook_private")
    return url


def set_webhook(*, session: Session, org_id: uuid.UUID, url: str, secret: str | None = None,
                events: list[str] | None = None, actor: Actor) -> tuple[Webhook, str | None]:
    """Create or update the organisation's webhook for this URL; returns a new secret when one was made."""
    permissions.require(actor, Action.webhooks, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    url = validate_url(url)
    events = normalize_events(events)
    if secret is not None and len(secret) < 16:
        raise ValidationError("webhook secret must be at least 16 characters", code="webhook_secret")
    row = session.exec(select(Webhook).where(Webhook.org_id == org_id, Webhook.url == url)).first()
    generated = None
    if secret is None and row is None:
        secret = generated = "whsec_" + secrets.token_urlsafe(32)
    if row is None:
        row = Webhook(org_id=org_id, url=url, secret=secret, events=events)
    else:
        row.events, row.is_active = events, True
        if secret is not None:
            row.secret = secret
    session.add(row)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="webhook_saved",
                        webhook_id=str(row.id), url=row.url, events=row.events)
    return row, generated


def recent_deliveries(*, session: Session, org_id: uuid.UUID, actor: Actor,
                      limit: int = 10) -> list[tuple[WebhookDelivery, str]]:
    """The organisation's latest deliveries, newest first, each with its webhook's URL: what happened to the events
    sent to its links (the audit log keeps people's actions, not every attempt)."""
    permissions.require(actor, Action.webhooks, org_id)
    query = (select(WebhookDelivery, Webhook.url).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
             .where(WebhookDelivery.org_id == org_id)
             .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(max(1, min(limit, 50))))
    return [(delivery, url) for delivery, url in session.exec(query)]


def list_webhooks(*, session: Session, org_id: uuid.UUID | None = None, actor: Actor) -> list[Webhook]:
    """The organisation's webhooks, or every organisation's for an operator's CLI."""
    permissions.require(actor, Action.webhooks, org_id)
    query = select(Webhook).order_by(Webhook.created_at)
    if org_id is not None:
        query = query.where(Webhook.org_id == org_id)
    return list(session.exec(query))


def active_for_event(*, session: Session, org_id: uuid.UUID, event_type: str) -> list[Webhook]:
    """The organisation's active webhooks subscribed to this event type."""
    rows = session.exec(select(Webhook).where(Webhook.org_id == org_id, Webhook.is_active.is_(True)))
    return [w for w in rows if event_type in (w.events or [])]


def delete_webhook(*, session: Session, webhook_id: uuid.UUID | str, org_id: uuid.UUID | None = None,
                   actor: Actor) -> Webhook:
    """Delete a webhook by id (within the organisation when one is given)."""
    permissions.require(actor, Action.webhooks, org_id)
    row = get_owned(session, Webhook, org_id=org_id, row_id=webhook_id, code="unknown_webhook", noun="webhook")
    session.delete(row)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=row.org_id, event_type="webhook_deleted",
                        webhook_id=str(row.id), url=row.url)
    return row


# What links a phone as the organisation's WhatsApp: only a caller with the `connect` column sees them (the QR
# route, the status route); a webhook receiver, and the deliveries kept for it, never do.
PAIRING_SECRETS = frozenset({"qr_code", "pair_code"})


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as webhooks get it (and as their deliveries are stored): without the pairing secrets."""
    return {k: v for k, v in event.items() if k not in PAIRING_SECRETS}


def build_payload(event: dict[str, Any], *, delivery_id: str | None = None) -> bytes:
    """The JSON body sent for a bus event: envelope fields plus the event's own data, pairing secrets left out."""
    data = {k: v for k, v in public_event(event).items() if k not in ("type", "org_id")}
    body = {
        "id": delivery_id or str(uuid.uuid4()),
        "type": event["type"],
        "org_id": str(event["org_id"]),
        "created_at": datetime.now(UTC).isoformat(),
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The X-Fleet-Signature header value for a body."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """True when the header signs this body with this secret and its timestamp is recent."""
    try:
        fields = dict(part.strip().split("=", 1) for part in (header or "").split(","))
        ts = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    expected = sign(secret, body, timestamp=ts).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
