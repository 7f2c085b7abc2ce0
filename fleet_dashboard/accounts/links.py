"""Single-use links (sign-in, invitations): a random token given once, only its SHA-256 kept, used at most once.

The sign-in link on top of them is how the fleet SaaS opens our dashboard for one of its users from its own UI."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import update
from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import audit, mailer, permissions
from fleet_dashboard.accounts.models import LinkPurpose, OneTimeLink, Role, User, WhatsAppAuditLog
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import routes
from fleet_dashboard.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow

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
          next_path: str | None = None, created_by: uuid.UUID | None = None,
          session_seconds: int | None = None) -> tuple[OneTimeLink, str]:
    """Create a link and return it with its token, which is never stored or shown again."""
    purpose = LinkPurpose(purpose).value
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row = OneTimeLink(token_hash=hash_token(token), purpose=purpose, org_id=org_id, user_id=user_id,
                      email=email, role=role, next_path=next_path, created_by=created_by,
                      session_seconds=session_seconds, expires_at=utcnow() + ttl)
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


def revoke_login_links(*, session: Session, user_id: uuid.UUID) -> int:
    """Cancel every unused sign-in link of this person (their access changed); how many there were."""
    result = session.execute(
        update(OneTimeLink)
        .where(OneTimeLink.user_id == user_id, OneTimeLink.purpose == LinkPurpose.login.value,
               OneTimeLink.used_at.is_(None), OneTimeLink.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return result.rowcount


def pending(*, session: Session, org_id: uuid.UUID, purpose: str) -> list[OneTimeLink]:
    """The organisation's unused, unexpired, uncancelled links of a purpose, newest first."""
    query = (select(OneTimeLink)
             .where(OneTimeLink.org_id == org_id, OneTimeLink.purpose == LinkPurpose(purpose).value,
                    OneTimeLink.used_at.is_(None), OneTimeLink.revoked_at.is_(None),
                    OneTimeLink.expires_at > utcnow())
             .order_by(OneTimeLink.created_at.desc()))
    return list(session.exec(query))


def _org_user(session: Session, user_id: uuid.UUID) -> User:
    """The active organisation user a sign-in link may open; never a super_admin."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"unknown user {user_id}", code="unknown_user")
    if user.role == Role.super_admin.value:
        raise PermissionDenied("login links are for organisation users only", code="forbidden")
    if not user.is_active:
        raise Conflict(f"user {user_id} is deactivated", code="user_inactive")
    return user


def _sign_in_link(session: Session, actor: Actor, user: User, next_path: str | None,
                  session_seconds: int | None = None) -> tuple[OneTimeLink, str]:
    wanted = routes.safe_next(next_path) if next_path else None
    return issue(session=session, purpose=LinkPurpose.login.value,
                 ttl=timedelta(seconds=get_settings().login_link_ttl_seconds), org_id=user.org_id, user_id=user.id,
                 created_by=actor.user_id, next_path=wanted if wanted != routes.HOME else None,
                 session_seconds=session_seconds)


def issue_login_link(*, session: Session, actor: Actor, user_id: uuid.UUID, next_path: str | None = None,
                     base_url: str | None = None) -> tuple[OneTimeLink, str]:
    """A link valid LOGIN_LINK_TTL_SECONDS that signs this active organisation user in once; (link, url).

    Only for the fleet SaaS's platform credentials (service-role JWT, platform API key): it opens the SaaS's own
    users from its own UI. A super_admin (a person) who must act as an organisation uses `break_glass`, which
    is audited, shown to the organisation and time-limited; never for a super_admin's own account."""
    permissions.require(actor, Action.organizations)
    if actor.kind != "platform":
        raise PermissionDenied("login links need a platform credential; a super_admin uses break-glass",
                               code="platform_credential_required")
    user = _org_user(session, user_id)
    link, token = _sign_in_link(session, actor, user, next_path)
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="login_link_created",
                        user_id=str(user.id), email=user.email, expires_at=link.expires_at.isoformat())
    return link, url_for(token, link.purpose, base_url=base_url)


@dataclass(frozen=True)
class BreakGlass:
    """A super_admin's break-glass link, and what the organisation's owners are told about it."""

    link: OneTimeLink
    url: str
    org_id: uuid.UUID
    by_email: str
    user_email: str
    reason: str
    session_expires_at: datetime


def break_glass(*, session: Session, actor: Actor, user_id: uuid.UUID, reason: str, minutes: int,
                next_path: str | None = None, base_url: str | None = None) -> BreakGlass:
    """A super_admin's explicit, time-limited entry into an organisation as one of its users.

    Only a super_admin person (their own JWT: someone answers for it), with a reason. The link works once within
    LOGIN_LINK_TTL_SECONDS; the sign-in it opens ends by itself after `minutes` (at most BREAK_GLASS_MAX_MINUTES)
    and every audit row it writes names the super_admin (`via: break_glass`). The organisation's audit log shows
    `break_glass_started` (who, as whom, why, until) and the caller e-mails its owners (`email_break_glass`)."""
    permissions.require(actor, Action.organizations)
    if actor.kind != "user" or actor.role != Role.super_admin.value or actor.user_id is None:
        raise PermissionDenied("break-glass is a super_admin's own step", code="super_admin_only")
    reason = " ".join((reason or "").split())
    if not 10 <= len(reason) <= 500:
        raise ValidationError("say why, in 10 to 500 characters", code="break_glass_reason")
    limit = get_settings().break_glass_max_minutes
    if not 1 <= int(minutes) <= limit:
        raise ValidationError(f"a break-glass session lasts 1 to {limit} minutes", code="break_glass_minutes",
                              limit=limit)
    user = _org_user(session, user_id)
    admin = session.get(User, actor.user_id)
    link, token = _sign_in_link(session, actor, user, next_path, session_seconds=int(minutes) * 60)
    until = link.expires_at + timedelta(minutes=int(minutes))
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="break_glass_started",
                        user_id=str(user.id), email=user.email, by=admin.email if admin else "", reason=reason,
                        minutes=int(minutes), until=until.isoformat())
    return BreakGlass(link=link, url=url_for(token, link.purpose, base_url=base_url), org_id=user.org_id,
                      by_email=admin.email if admin else "", user_email=user.email, reason=reason,
                      session_expires_at=until)


def open_break_glass(*, session: Session, org_id: uuid.UUID, now: datetime | None = None) -> list[dict[str, object]]:
    """The organisation's break-glass windows still open (the link may still be used, or its sign-in is running):
    who, as whom, why and until when, oldest first. Every page of the organisation shows them."""
    now = now or utcnow()
    settings = get_settings()
    # No window outlasts its link's life plus the longest sign-in: older rows need not be read.
    oldest = now - timedelta(seconds=settings.login_link_ttl_seconds, minutes=settings.break_glass_max_minutes + 1)
    rows = session.exec(select(WhatsAppAuditLog).where(
        WhatsAppAuditLog.org_id == org_id, WhatsAppAuditLog.event_type == "break_glass_started",
        WhatsAppAuditLog.created_at >= oldest).order_by(WhatsAppAuditLog.created_at)).all()
    out: list[dict[str, object]] = []
    for row in rows:
        data = row.event_data or {}
        try:
            until = datetime.fromisoformat(str(data.get("until")))
        except ValueError:
            continue
        if until > now:
            out.append({"id": str(row.id), "by": str(data.get("by") or ""), "user": str(data.get("email") or ""),
                        "reason": str(data.get("reason") or ""), "until": until})
    return out


def email_break_glass(*, session: Session, notice: BreakGlass) -> int:
    """Tell the organisation's active owners by e-mail (when SMTP is set); call after the commit. How many went."""
    owners = session.exec(select(User.email).where(User.org_id == notice.org_id, User.role == Role.owner.value,
                                                   User.is_active.is_(True))).all()
    body = strings.BREAK_GLASS_EMAIL_BODY.format(by=notice.by_email, user=notice.user_email, reason=notice.reason,
                                                 until=notice.session_expires_at.strftime("%Y-%m-%d %H:%M UTC"))
    return sum(mailer.send(to=email, subject=strings.BREAK_GLASS_EMAIL_SUBJECT, body=body) for email in owners)


@dataclass(frozen=True)
class LinkSignIn:
    """Whom a used sign-in link signs in, where to, and on what terms (a break-glass sign-in is short and named)."""

    user: User
    next_path: str
    session_seconds: int | None = None
    break_glass_by: uuid.UUID | None = None


def use_login_link(*, session: Session, token: str, ip_address: str | None = None) -> LinkSignIn:
    """Use a sign-in link once: the active user it names and where to go, or LinkError / user_inactive."""
    link = consume(session=session, token=token, purpose=LinkPurpose.login.value)
    user = session.get(User, link.user_id) if link.user_id else None
    if user is None or not user.is_active:
        raise LinkError("the account behind this link is deactivated", code="user_inactive")
    by = link.created_by if link.session_seconds else None
    user.last_login_at = utcnow()
    session.add(user)
    event = {"email": user.email, "method": "break_glass" if by else "link"}
    if by:
        event["break_glass_by"] = str(by)
    audit.record(session=session, org_id=user.org_id, actor_id=by or user.id, event_type="login", event_data=event,
                 ip_address=ip_address)
    return LinkSignIn(user=user, next_path=link.next_path or routes.HOME, session_seconds=link.session_seconds,
                      break_glass_by=by)
