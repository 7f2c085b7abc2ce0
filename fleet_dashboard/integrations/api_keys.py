"""Organisation API keys: shown once at creation, stored only as a SHA-256 hash, scoped and revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.errors import NotFound, PermissionDenied, ValidationError
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.integrations.models import ApiKey

KEY_PREFIX = "fdk_"
SCOPES = ("send", "sessions", "read")
# A platform key (no organisation) has only this scope: the /api/admin provisioning routes, nothing else.
ADMIN_SCOPE = "admin"
# A key is 256 random bits, so a fast hash is safe and lets every request look it up by hash.
_SECRET_BYTES = 32
_PREFIX_CHARS = 12
_TOUCH_EVERY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    """True when a bearer credential is one of our API keys rather than a JWT."""
    return credential.startswith(KEY_PREFIX)


def normalize_scopes(scopes: list[str] | tuple[str, ...] | None) -> list[str]:
    """Known scopes in a stable order; no scopes given means all of them."""
    if not scopes:
        return list(SCOPES)
    flat = [s.strip().lower() for item in scopes for s in str(item).split(",") if s.strip()]
    unknown = sorted(set(flat) - set(SCOPES))
    if unknown:
        raise ValidationError(f"unknown scope(s) {', '.join(unknown)}: use send, sessions, read",
                              code="invalid_scope", scopes=unknown)
    return [s for s in SCOPES if s in flat]


def create_key(*, session: Session, org_id: uuid.UUID, name: str = "default",
               scopes: list[str] | None = None, actor: Actor) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never stored or shown again."""
    permissions.require(actor, Action.api_keys, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    name = (name or "default").strip()[:100] or "default"
    return _insert(session, actor, org_id=org_id, name=name, scopes=normalize_scopes(scopes))


def create_platform_key(*, session: Session, name: str = "platform", actor: Actor) -> tuple[ApiKey, str]:
    """A key for the fleet SaaS's provisioning calls (/api/admin), tied to no organisation; shown once.

    Only the operator (the CLI, a system actor) makes one: nobody signed in can."""
    if not actor.is_system:
        raise PermissionDenied("only the operator creates platform keys", action="api_keys")
    return _insert(session, actor, org_id=None, name=(name or "platform").strip()[:100] or "platform",
                   scopes=[ADMIN_SCOPE])


def _insert(session: Session, actor: Actor, *, org_id: uuid.UUID | None, name: str,
            scopes: list[str]) -> tuple[ApiKey, str]:
    plain = KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = ApiKey(org_id=org_id, name=name, prefix=plain[:_PREFIX_CHARS], key_hash=hash_key(plain), scopes=scopes)
    session.add(row)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="api_key_created",
                        api_key_id=str(row.id), name=row.name, prefix=row.prefix, scopes=row.scopes)
    return row, plain


def list_platform_keys(*, session: Session) -> list[ApiKey]:
    """The platform keys, newest first, revoked ones included."""
    query = select(ApiKey).where(ApiKey.org_id.is_(None)).order_by(ApiKey.created_at.desc())
    return list(session.exec(query))


def authenticate_key(*, session: Session, key: str) -> ApiKey | None:
    """The live key row for a presented key, or None when unknown or revoked."""
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    # Stamp last use at most once a minute, so a busy key does not write on every request.
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
        session.add(row)
        session.flush()
    return row


def list_keys(*, session: Session, org_id: uuid.UUID, actor: Actor) -> list[ApiKey]:
    """The organisation's keys, newest first, revoked ones included."""
    permissions.require(actor, Action.api_keys, org_id)
    query = select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at.desc())
    return list(session.exec(query))


def find_key(*, session: Session, key_id_or_prefix: str, org_id: uuid.UUID | None = None) -> ApiKey:
    """One key by id or by its displayed prefix; an ambiguous prefix is refused."""
    text = (key_id_or_prefix or "").strip()
    try:
        condition = ApiKey.id == uuid.UUID(text)
    except ValueError:
        if len(text) < 6:
            raise ValidationError("give the key id or at least 6 characters of its prefix",
                                  code="api_key_ref") from None
        condition = or_(ApiKey.prefix == text[:_PREFIX_CHARS], ApiKey.prefix.startswith(text, autoescape=True))
    query = select(ApiKey).where(condition)
    if org_id is not None:
        query = query.where(ApiKey.org_id == org_id)
    rows = list(session.exec(query.limit(2)))
    if not rows:
        raise NotFound(f"no API key matches {text!r}", code="unknown_api_key")
    if len(rows) > 1:
        raise ValidationError(f"{text!r} matches several keys: give the key id", code="api_key_ref")
    return rows[0]


def revoke_key(*, session: Session, key_id_or_prefix: str, org_id: uuid.UUID | None = None,
               actor: Actor) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first time."""
    permissions.require(actor, Action.api_keys, org_id)
    row = find_key(session=session, key_id_or_prefix=key_id_or_prefix, org_id=org_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
        audit.record_action(session=session, actor=actor, org_id=row.org_id, event_type="api_key_revoked",
                            api_key_id=str(row.id), name=row.name, prefix=row.prefix)
    return row
