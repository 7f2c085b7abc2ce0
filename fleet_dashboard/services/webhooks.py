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
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, select

from fleet_dashboard.models import Webhook
from fleet_dashboard.services.errors import NotFound, ValidationError

EVENTS = ("message.status", "session.status", "message.inbound")
# Only these message statuses are worth a call; pending/queued/sending are internal steps.
MESSAGE_STATUSES = {"sent", "delivered", "read", "failed"}
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


def validate_url(url: str) -> str:
    """An absolute http(s) URL, or ValidationError."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ValidationError(f"webhook URL must be an absolute http(s) URL, got {url[:80]!r}",
                              code="webhook_url")
    return url


def set_webhook(*, session: Session, org_id: uuid.UUID, url: str, secret: str | None = None,
                events: list[str] | None = None) -> tuple[Webhook, str | None]:
    """Create or update the organisation's webhook for this URL; returns a new secret when one was made."""
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
    return row, generated


def list_webhooks(*, session: Session, org_id: uuid.UUID | None = None) -> list[Webhook]:
    """The organisation's webhooks, or every organisation's for an operator's CLI."""
    query = select(Webhook).order_by(Webhook.created_at)
    if org_id is not None:
        query = query.where(Webhook.org_id == org_id)
    return list(session.exec(query))


def active_for_event(*, session: Session, org_id: uuid.UUID, event_type: str) -> list[Webhook]:
    """The organisation's active webhooks subscribed to this event type."""
    rows = session.exec(select(Webhook).where(Webhook.org_id == org_id, Webhook.is_active.is_(True)))
    return [w for w in rows if event_type in (w.events or [])]


def delete_webhook(*, session: Session, webhook_id: uuid.UUID | str, org_id: uuid.UUID | None = None) -> Webhook:
    """Delete a webhook by id (within the organisation when one is given)."""
    try:
        webhook_id = uuid.UUID(str(webhook_id))
    except ValueError as exc:
        raise NotFound(f"no webhook {webhook_id!r}", code="unknown_webhook") from exc
    row = session.get(Webhook, webhook_id)
    if row is None or (org_id is not None and row.org_id != org_id):
        raise NotFound(f"no webhook {webhook_id}", code="unknown_webhook")
    session.delete(row)
    session.flush()
    return row


def build_payload(event: dict[str, Any], *, delivery_id: str | None = None) -> bytes:
    """The JSON body sent for a bus event: envelope fields plus the event's own data."""
    data = {k: v for k, v in event.items() if k not in ("type", "org_id")}
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


async def webhooks_lifespan() -> None:
    """The dispatcher as a server lifespan task: delivers bus events to webhooks until cancelled."""
    from fleet_dashboard.services.webhook_delivery import run_dispatcher_forever

    await run_dispatcher_forever()
