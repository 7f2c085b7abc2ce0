"""An organisation's people: invitations by one-time link, roles, deactivation and passwords, each audited.

Rules a team needs: only owners and admins manage people, and only in their own organisation; an admin
neither makes nor touches an owner; the last active owner can be neither demoted nor deactivated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case
from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import audit, links, mailer, orgs, permissions, signin, users
from fleet_dashboard.accounts.models import LinkPurpose, OneTimeLink, Role, User
from fleet_dashboard.accounts.passwords import hash_password, verify_password
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.errors import (
    AuditedRefusal,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from fleet_dashboard.core.settings import get_settings

ORG_ROLES = (Role.owner.value, Role.admin.value, Role.member.value)


def check_role(role: str | None) -> str:
    """An organisation role (owner, admin, member), or ValidationError `invalid_role`."""
    if role not in ORG_ROLES:
        raise ValidationError(f"unknown role {role!r}: use owner, admin or member", code="invalid_role",
                              role=str(role)[:20])
    return role


def _member(session: Session, org_id: uuid.UUID, user_id: uuid.UUID | str) -> User:
    """The organisation's user, locked; anyone else (another organisation's, a super_admin) is NotFound."""
    try:
        user_id = uuid.UUID(str(user_id))
    except ValueError:
        raise NotFound(f"unknown user {user_id}", code="unknown_user") from None
    query = (select(User).where(User.id == user_id, User.org_id == org_id).with_for_update()
             .execution_options(populate_existing=True))
    user = session.exec(query).first()
    if user is None:
        raise NotFound(f"unknown user {user_id}", code="unknown_user")
    return user


def _active_owners(session: Session, org_id: uuid.UUID) -> int:
    """Active owners, counted with their rows locked, so two owners cannot demote each other at once."""
    query = (select(User.id).where(User.org_id == org_id, User.role == Role.owner.value, User.is_active.is_(True))
             .with_for_update())
    return len(list(session.exec(query)))


def guard_super_admin_grant(session: Session, actor: Actor, org_id: uuid.UUID, role: str) -> None:
    """A super_admin (a person: it only reads inside organisations) gives access to an organisation only to its
    first owner, while it has no active owner: an invitation, or a user through the provisioning bridge. Acting as
    an organisation that has owners is break-glass (audited, e-mailed to the owners, time-limited), never an
    account of its own that would outlast it."""
    if actor.role != Role.super_admin.value or actor.kind in ("system", "platform"):
        return  # the operator and the SaaS's own platform credentials provision its people
    if role != Role.owner.value or _active_owners(session, org_id) > 0:
        raise PermissionDenied("a super_admin invites only the first owner of an organisation without one; "
                               "break-glass acts as an organisation that has owners", code="first_owner_only")


def _guard_owner_change(session: Session, actor: Actor, target: User, *, losing_owner: bool) -> None:
    if target.role == Role.owner.value and actor.role == Role.admin.value:
        raise PermissionDenied("an admin cannot change an owner", code="admin_cannot_touch_owner")
    if losing_owner and target.role == Role.owner.value and target.is_active and \
            _active_owners(session, target.org_id) <= 1:
        raise Conflict("the organisation must keep at least one active owner", code="last_owner")


def create_account(*, session: Session, actor: Actor, email: str, password: str, role: str,
                   org_slug: str | None = None, org_id: uuid.UUID | None = None, full_name: str = "") -> User:
    """A person added directly with a password (the operator's `create-user`), audited `user_created`."""
    if org_slug:
        org_id = orgs.get_org_by_slug(session=session, slug=org_slug).id
    if org_id is None:
        permissions.require(actor, Action.organizations)
    else:
        permissions.require_in_org(actor, Action.team, org_id)
    user = users.create_user(session=session, email=email, password=password, role=role, org_id=org_id,
                             full_name=full_name)
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="user_created",
                        user_id=str(user.id), email=user.email, role=user.role)
    return user


# ---- listing --------------------------------------------------------------------------------------

def list_members(*, session: Session, actor: Actor, org_id: uuid.UUID) -> list[User]:
    """The organisation's people (deactivated ones too), by role then email."""
    permissions.require_in_org(actor, Action.team, org_id)
    order = case({r: i for i, r in enumerate(ORG_ROLES)}, value=User.role, else_=len(ORG_ROLES))
    return list(session.exec(select(User).where(User.org_id == org_id).order_by(order, User.email)))


def list_invitations(*, session: Session, actor: Actor, org_id: uuid.UUID) -> list[OneTimeLink]:
    """Invitations still waiting (unused, unexpired, not cancelled), newest first."""
    permissions.require_in_org(actor, Action.team, org_id)
    return links.pending(session=session, org_id=org_id, purpose=LinkPurpose.invite.value)


# ---- invitations ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invitation:
    """A created invitation: the URL is shown once to copy (and e-mailed when SMTP is set)."""

    link: OneTimeLink
    url: str
    org_name: str

    @property
    def expires_at(self) -> datetime:
        return self.link.expires_at


def invite(*, session: Session, actor: Actor, org_id: uuid.UUID, email: str, role: str,
           base_url: str | None = None) -> Invitation:
    """Invite a person by a one-time link (INVITATION_TTL_HOURS); a new invitation replaces one to the same email.

    The super_admin invites an organisation's first owner the same way (role="owner")."""
    permissions.require_in_org(actor, Action.team, org_id)
    role = check_role(role)
    if role == Role.owner.value and actor.role == Role.admin.value:
        raise PermissionDenied("an admin cannot make an owner", code="admin_cannot_touch_owner")
    org = orgs.get_org(session=session, org_id=org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    guard_super_admin_grant(session, actor, org_id, role)
    email = users.normalize_email(email)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(f"a user with email {email} already exists", code="email_exists", email=email)
    replaced = [old for old in links.pending(session=session, org_id=org_id, purpose=LinkPurpose.invite.value)
                if old.email == email]
    if actor.role == Role.admin.value and any(old.role == Role.owner.value for old in replaced):
        raise PermissionDenied("an admin cannot change an owner", code="admin_cannot_touch_owner")
    for old in replaced:
        links.revoke(session=session, link_id=old.id)
    ttl = timedelta(hours=get_settings().invitation_ttl_hours)
    link, token = links.issue(session=session, purpose=LinkPurpose.invite.value, ttl=ttl,
                                       org_id=org_id, email=email, role=role, created_by=actor.user_id)
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="member_invited", email=email,
                        role=role, expires_at=link.expires_at.isoformat())
    return Invitation(link=link, url=links.url_for(token, link.purpose, base_url=base_url),
                      org_name=org.name)


def email_invitation(invitation: Invitation) -> bool:
    """E-mail the invitation when SMTP is configured; call after the commit. False = copy the link instead."""
    link = invitation.link
    body = strings.INVITE_EMAIL_BODY.format(org=invitation.org_name, role=strings.ROLES.get(link.role, link.role),
                                            url=invitation.url, hours=get_settings().invitation_ttl_hours)
    return mailer.send(to=link.email, subject=strings.INVITE_EMAIL_SUBJECT.format(org=invitation.org_name),
                       body=body)


def revoke_invitation(*, session: Session, actor: Actor, org_id: uuid.UUID, link_id: uuid.UUID) -> OneTimeLink:
    """Cancel a waiting invitation of the organisation."""
    permissions.require_in_org(actor, Action.team, org_id)
    link = session.get(OneTimeLink, link_id)
    if link is None or link.org_id != org_id or link.purpose != LinkPurpose.invite.value:
        raise NotFound(f"unknown invitation {link_id}", code="unknown_link")
    if link.role == Role.owner.value and actor.role == Role.admin.value:
        raise PermissionDenied("an admin cannot change an owner", code="admin_cannot_touch_owner")
    if link.revoked_at is None and link.used_at is None:
        links.revoke(session=session, link_id=link.id)
        audit.record_action(session=session, actor=actor, org_id=org_id, event_type="invitation_revoked",
                            email=link.email, role=link.role)
    return link


@dataclass(frozen=True)
class InvitationInfo:
    """What the invitation page shows before the person accepts."""

    org_name: str
    email: str
    role: str
    expires_at: datetime


def invitation_info(*, session: Session, token: str) -> InvitationInfo:
    """Whom a usable invitation is for, without using it (else LinkError: invalid, used, revoked, expired)."""
    link = links.peek(session=session, token=token, purpose=LinkPurpose.invite.value)
    org = orgs.get_org(session=session, org_id=link.org_id)
    return InvitationInfo(org_name=org.name, email=link.email or "", role=link.role or "", expires_at=link.expires_at)


def accept_invitation(*, session: Session, token: str, full_name: str, password: str,
                      ip_address: str | None = None) -> User:
    """Use the invitation: create the person with their name and password; the link then works no more."""
    full_name = (full_name or "").strip()
    if not full_name or len(full_name) > 200:
        raise ValidationError("full name must be 1-200 characters", code="full_name")
    users.check_password(password)
    link = links.consume(session=session, token=token, purpose=LinkPurpose.invite.value)
    orgs.ensure_active(session=session, org_id=link.org_id)
    if session.exec(select(User.id).where(User.email == link.email)).first() is not None:
        raise Conflict(f"a user with email {link.email} already exists", code="email_exists", email=link.email)
    user = User(email=link.email, password_hash=hash_password(password), full_name=full_name,
                role=check_role(link.role), org_id=link.org_id)
    session.add(user)
    session.flush()
    link.user_id = user.id
    session.add(link)
    audit.record(session=session, org_id=link.org_id, actor_id=user.id, event_type="invitation_accepted",
                 event_data={"email": user.email, "role": user.role, "via": "dashboard"}, ip_address=ip_address)
    return user


# ---- roles and activity ---------------------------------------------------------------------------

def change_role(*, session: Session, actor: Actor, org_id: uuid.UUID, user_id: uuid.UUID | str, role: str) -> User:
    """Give a person another role in the organisation."""
    permissions.require_in_org(actor, Action.team, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    role = check_role(role)
    target = _member(session, org_id, user_id)
    if role == Role.owner.value and actor.role == Role.admin.value:
        raise PermissionDenied("an admin cannot make an owner", code="admin_cannot_touch_owner")
    if target.role == role:
        return target
    _guard_owner_change(session, actor, target, losing_owner=role != Role.owner.value)
    before = target.role
    target.role = role
    users.access_changed(session=session, user=target)
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="role_changed",
                        user_id=str(target.id), email=target.email, before=before, role=role)
    return target


def _set_active(session: Session, actor: Actor, org_id: uuid.UUID, user_id: uuid.UUID | str, *,
                active: bool) -> User:
    """Give a member access or take it away, audited; nothing to do when they already are so."""
    permissions.require_in_org(actor, Action.team, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    target = _member(session, org_id, user_id)
    if not active and actor.user_id == target.id:
        raise PermissionDenied("you cannot deactivate yourself", code="cannot_deactivate_self")
    if target.is_active == active:
        return target
    _guard_owner_change(session, actor, target, losing_owner=not active)
    target.is_active = active
    users.access_changed(session=session, user=target)
    audit.record_action(session=session, actor=actor, org_id=org_id,
                        event_type="user_reactivated" if active else "user_deactivated",
                        user_id=str(target.id), email=target.email, role=target.role)
    return target


def deactivate(*, session: Session, actor: Actor, org_id: uuid.UUID, user_id: uuid.UUID | str) -> User:
    """Take a person's access away at once (their sign-ins and JWTs stop working); their history stays."""
    return _set_active(session, actor, org_id, user_id, active=False)


def reactivate(*, session: Session, actor: Actor, org_id: uuid.UUID, user_id: uuid.UUID | str) -> User:
    """Give a deactivated person their access back, with the role they had."""
    return _set_active(session, actor, org_id, user_id, active=True)


def change_password(*, session: Session, actor: Actor, current_password: str | None, new_password: str) -> User:
    """A person changes their own password; the current one is required when they have one."""
    if actor.user_id is None:
        raise PermissionDenied("only a signed-in person can change a password", code="forbidden")
    users.check_password(new_password)  # before the (slow, on purpose) hash check of the current one
    # Counted before the row is locked or the password checked: parallel guesses cannot outrun the limit.
    attempt = signin.login_limiter().attempt_current_password(user_id=actor.user_id, ip=actor.ip_address or "-")
    if not attempt.allowed:
        raise RateLimited("too many guesses at the current password", code="password_locked",
                          seconds=attempt.retry_after)
    user = session.exec(select(User).where(User.id == actor.user_id).with_for_update()
                        .execution_options(populate_existing=True)).first()
    if user is None or not user.is_active:
        raise NotFound("unknown user", code="unknown_user")
    if user.password_hash is not None and not verify_password(current_password or "", user.password_hash):
        audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="password_change_refused",
                            email=user.email, reason="wrong_password")
        raise AuditedRefusal("the current password is wrong", code="wrong_password")
    user.password_hash = hash_password(new_password)
    # Whoever held the old password (another browser, a stolen cookie) is signed out; the caller re-issues
    # the token of the tab that asked.
    user.session_version += 1
    session.add(user)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="password_changed",
                        email=user.email)
    return user


def sign_out_everywhere(*, session: Session, actor: Actor) -> User:
    """End every sign-in of the caller at once (each browser, each copied token), audited."""
    if actor.user_id is None:
        raise PermissionDenied("only a signed-in person has sessions", code="forbidden")
    user = users.end_signins(session=session, user_id=actor.user_id)
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="signed_out_everywhere",
                        email=user.email)
    return user
