"""One-time sign-in links: how the fleet SaaS opens our dashboard for one of its users from its own UI."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session

from fleet_dashboard import routes
from fleet_dashboard.models import LinkPurpose, OneTimeLink, Role, User, utcnow
from fleet_dashboard.services import audit, one_time_links, permissions
from fleet_dashboard.services.errors import Conflict, NotFound, PermissionDenied
from fleet_dashboard.services.permissions import Action, Actor
from fleet_dashboard.settings import get_settings


def issue_login_link(*, session: Session, actor: Actor, user_id: uuid.UUID, next_path: str | None = None,
                     base_url: str | None = None) -> tuple[OneTimeLink, str]:
    """A link valid LOGIN_LINK_TTL_SECONDS that signs this active organisation user in once; (link, url).

    Never for a super_admin: the SaaS's credentials must not open the platform's own console."""
    permissions.require(actor, Action.organizations)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"unknown user {user_id}", code="unknown_user")
    if user.role == Role.super_admin.value:
        raise PermissionDenied("login links are for organisation users only", code="forbidden")
    if not user.is_active:
        raise Conflict(f"user {user_id} is deactivated", code="user_inactive")
    wanted = routes.safe_next(next_path) if next_path else None
    link, token = one_time_links.issue(session=session, purpose=LinkPurpose.login.value,
                                       ttl=timedelta(seconds=get_settings().login_link_ttl_seconds),
                                       org_id=user.org_id, user_id=user.id, created_by=actor.user_id,
                                       next_path=wanted if wanted != routes.HOME else None)
    audit.record(session=session, org_id=user.org_id, actor_id=actor.user_id, event_type="login_link_created",
                 event_data=actor.audit_data(user_id=str(user.id), email=user.email,
                                             expires_at=link.expires_at.isoformat()),
                 ip_address=actor.ip_address)
    return link, one_time_links.url_for(token, link.purpose, base_url=base_url)


def use_login_link(*, session: Session, token: str, ip_address: str | None = None) -> tuple[User, str]:
    """Use a sign-in link once: the active user it names and where to go, or LinkError / user_inactive."""
    link = one_time_links.consume(session=session, token=token, purpose=LinkPurpose.login.value)
    user = session.get(User, link.user_id) if link.user_id else None
    if user is None or not user.is_active:
        raise one_time_links.LinkError("the account behind this link is deactivated", code="user_inactive")
    user.last_login_at = utcnow()
    session.add(user)
    audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="login",
                 event_data={"email": user.email, "method": "link"}, ip_address=ip_address)
    return user, link.next_path or routes.HOME
