"""Single-use links (sign-in, invitations): a random token given once, only its SHA-256 kept, used at most once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlmodel import Session, select

from fleet_dashboard import routes
from fleet_dashboard.models import LinkPurpose, OneTimeLink, utcnow
from fleet_dashboard.services.errors import DomainError, NotFound
from fleet_dashboard.settings import get_settings

# 256 random bits: guessing is hopeless, so a fast hash lets each use look the token up directly.
_TOKEN_BYTES = 32
# The dashboard pages the links open.
PATHS = {LinkPurpose.login.value: routes.LOGIN_LINK, LinkPurpose.invite.value: routes.INVITE}


class LinkError(DomainError):
    """A link that cannot be used; the code says why (link_invalid, link_used, link_expired)."""

    status = 410
    code = "link_invalid"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def issue(*, session: Session, purpose: str, ttl: timedelta, org_id: uuid.UUID | None = None,
          user_id: uuid.UUID | None = None, email: str | None = None, role: str | None = None,
          next_path: str | None = None, created_by: uuid.UUID | None = None) -> tuple[OneTimeLink, str]:
    """Create a link and return it with its token, which is never stored or shown again."""
    purpose = LinkPurpose(purpose).value
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row = OneTimeLink(token_hash=hash_token(token), purpose=purpose, org_id=org_id, user_id=user_id,
                      email=email, role=role, next_path=next_path, created_by=created_by,
                      expires_at=utcnow() + ttl)
    session.add(row)
    session.flush()
    return row, token


def url_for(token: str, purpose: str, *, base_url: str | None = None) -> str:
    """The absolute link: PUBLIC_URL (else the caller's base URL) + the page + the token."""
    base = (get_settings().public_url or base_url or "").rstrip("/")
    return f"{base}{PATHS[LinkPurpose(purpose).value]}?token={quote(token)}"


def _find(session: Session, token: str, purpose: str, *, lock: bool) -> OneTimeLink:
    query = select(OneTimeLink).where(OneTimeLink.token_hash == hash_token(token),
                                      OneTimeLink.purpose == LinkPurpose(purpose).value)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.exec(query).first() if token else None
    if row is None:
        raise LinkError("this link is not valid", code="link_invalid")
    return row


def _usable(row: OneTimeLink, now: datetime) -> OneTimeLink:
    if row.used_at is not None:
        raise LinkError("this link was already used", code="link_used")
    if row.revoked_at is not None:
        raise LinkError("this link was cancelled", code="link_revoked")
    if row.expires_at <= now:
        raise LinkError("this link has expired", code="link_expired")
    return row


def peek(*, session: Session, token: str, purpose: str) -> OneTimeLink:
    """The usable link behind a token, without using it (the invitation page shows whom it invites)."""
    return _usable(_find(session, token, purpose, lock=False), utcnow())


def consume(*, session: Session, token: str, purpose: str) -> OneTimeLink:
    """Use the link once: locked, checked and stamped in the caller's transaction (a second use is link_used)."""
    row = _usable(_find(session, token, purpose, lock=True), utcnow())
    row.used_at = utcnow()
    session.add(row)
    session.flush()
    return row


def revoke(*, session: Session, link_id: uuid.UUID, org_id: uuid.UUID | None = None) -> OneTimeLink:
    """Cancel an unused link (an invitation sent to the wrong address); revoking twice keeps the first time."""
    row = session.get(OneTimeLink, link_id)
    if row is None or (org_id is not None and row.org_id != org_id):
        raise NotFound(f"unknown link {link_id}", code="unknown_link")
    if row.revoked_at is None and row.used_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return row


def pending(*, session: Session, org_id: uuid.UUID, purpose: str) -> list[OneTimeLink]:
    """The organisation's unused, unexpired, uncancelled links of a purpose, newest first."""
    query = (select(OneTimeLink)
             .where(OneTimeLink.org_id == org_id, OneTimeLink.purpose == LinkPurpose(purpose).value,
                    OneTimeLink.used_at.is_(None), OneTimeLink.revoked_at.is_(None),
                    OneTimeLink.expires_at > utcnow())
             .order_by(OneTimeLink.created_at.desc()))
    return list(session.exec(query))
