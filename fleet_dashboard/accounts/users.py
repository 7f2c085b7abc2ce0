"""Accounts: creation with role rules, and password sign-in."""

from __future__ import annotations

import re
import uuid

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit
from fleet_dashboard.accounts.models import Role, User
from fleet_dashboard.accounts.orgs import get_org, get_org_by_slug
from fleet_dashboard.accounts.passwords import hash_password, verify_password
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.errors import Conflict, NotFound, ValidationError
from fleet_dashboard.core.tables import utcnow

ORG_ROLES = {Role.owner.value, Role.admin.value, Role.member.value}
MANAGER_ROLES = {Role.owner.value, Role.admin.value, Role.super_admin.value}


# Company mail often lives on names the public internet reserves (RFC 6761/6762): accept them for accounts.
# `invalid` and `onion` stay refused: nothing can deliver there.
INTERNAL_SUFFIXES = ("local", "localhost", "test", "internal", "lan", "home.arpa", "corp", "intranet", "private")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _internal_domain(domain: str) -> bool:
    labels = domain.split(".")
    return (all(_HOST_LABEL.match(label) for label in labels) and len(domain) <= 253
            and any(domain == s or domain.endswith("." + s) for s in INTERNAL_SUFFIXES))


def normalize_email(email: str) -> str:
    """Lower-case, syntax-checked email, company domains such as fleet.local included; no DNS look-up."""
    text = (email or "").strip()
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        local, at, domain = text.rpartition("@")
        if not (at and _internal_domain(domain.lower())):
            raise ValidationError(f"invalid email {email!r}: {exc}", code="invalid_email") from exc
    # email-validator's special-use rule is for the public internet; check the local part on its own.
    try:
        checked = validate_email(f"{local}@example.com", check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"invalid email {email!r}: {exc}", code="invalid_email") from exc
    return f"{checked.local_part}@{domain}".lower()


def check_password(password: str | None) -> str:
    """The password if it is long enough (8+), else ValidationError `weak_password`."""
    if len(password or "") < 8:
        raise ValidationError("password must be at least 8 characters", code="weak_password")
    if len(password) > 1024:
        raise ValidationError("password must be at most 1024 characters", code="weak_password")
    return password


def create_user(
    *,
    session: Session,
    email: str,
    password: str,
    role: str,
    org_slug: str | None = None,
    org_id: uuid.UUID | None = None,
    full_name: str = "",
) -> User:
    """Create a user, enforcing that only a super_admin lives outside an organisation."""
    if role not in {r.value for r in Role}:
        raise ValidationError(
            f"unknown role {role!r}: use owner, admin, member or super_admin", code="invalid_role", role=role
        )
    if role == Role.super_admin.value and (org_slug or org_id):
        raise ValidationError("a super_admin belongs to no organisation: drop --org", code="super_admin_org")
    if role != Role.super_admin.value and not (org_slug or org_id):
        raise ValidationError(f"a user with role {role} needs an organisation: pass --org", code="role_needs_org")
    check_password(password)
    email = normalize_email(email)
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"a user with email {email} already exists", code="email_exists", email=email)
    if org_slug:
        org_id = get_org_by_slug(session=session, slug=org_slug).id
    elif org_id:
        org_id = get_org(session=session, org_id=org_id).id
    user = User(email=email, password_hash=hash_password(password), role=role, org_id=org_id,
                full_name=full_name.strip())
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, stamped with last_login_at, or None."""
    try:
        email = normalize_email(email)
    except ValidationError:
        verify_password(password, None)
        return None
    user = session.exec(select(User).where(User.email == email)).first()
    if not verify_password(password, user.password_hash if user else None) or not user or not user.is_active:
        return None
    user.last_login_at = utcnow()
    session.add(user)
    session.flush()
    return user


def sign_in(*, session: Session, email: str, password: str, ip_address: str | None) -> User | None:
    """Password sign-in, audited in the same transaction: `login` for the account it opens, or `login_failed`
    (no account named, so a wrong guess tells nobody which accounts exist)."""
    user = authenticate(session=session, email=email, password=password)
    if user is None:
        audit.record(session=session, org_id=None, event_type="login_failed",
                     event_data={"email": email[:320], "reason": "bad_credentials"}, ip_address=ip_address)
    else:
        audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="login",
                     event_data={"email": user.email}, ip_address=ip_address)
    return user


def log_out(*, session: Session, user_id: uuid.UUID, ip_address: str | None) -> User:
    """A person logs out: every sign-in of theirs ends (each tab, each copied token), audited as `logout`."""
    user = end_signins(session=session, user_id=user_id)
    audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="logout",
                 event_data={"email": user.email}, ip_address=ip_address)
    return user


def get_user(*, session: Session, user_id: uuid.UUID) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"unknown user {user_id}", code="unknown_user")
    return user


# ---- sign-ins: one version number per user (users.session_version), carried by every sign-in token ----

class SigninVerdict:
    """Why a sign-in token is or is not honoured; the names are what the audit log records."""

    ok = "ok"
    unknown_user = "unknown_user"
    deactivated = "deactivated"
    ended = "ended"  # logged out, password changed, or deactivated since the token was issued


def signin_verdict(user: User | None, signin_version: int) -> str:
    """Whether a token issued under `signin_version` (the user's session_version then) still speaks for them."""
    if user is None:
        return SigninVerdict.unknown_user
    if not user.is_active:
        return SigninVerdict.deactivated
    if user.session_version != signin_version:
        return SigninVerdict.ended
    return SigninVerdict.ok


def end_signins(*, session: Session, user_id: uuid.UUID) -> User:
    """End every sign-in of this user at once: each tab and each copied token is refused at its next event."""
    user = get_user(session=session, user_id=user_id)
    user.session_version += 1
    session.add(user)
    session.flush()
    return user


def access_changed(*, session: Session, user: User) -> User:
    """The person's organisation, role or active state changed: every sign-in of theirs ends (each tab, each
    watcher, each copied token: a new sign-in version) and every unused sign-in link is cancelled, so nothing
    issued for the old access outlives it, not even across a deactivation and a reactivation."""
    from fleet_dashboard.accounts import links

    user.session_version += 1
    user.updated_at = utcnow()
    session.add(user)
    links.revoke_login_links(session=session, user_id=user.id)
    session.flush()
    return user


def set_password(*, session: Session, user_id: uuid.UUID, password: str, actor: Actor) -> User:
    """A new argon2 hash (an operator resets it); every sign-in made with the old password ends."""
    if len(password or "") < 8:
        raise ValidationError("password must be at least 8 characters", code="weak_password")
    user = get_user(session=session, user_id=user_id)
    user.password_hash = hash_password(password)
    session.add(user)
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="password_changed",
                        email=user.email)
    return end_signins(session=session, user_id=user_id)


def set_active(*, session: Session, user_id: uuid.UUID, active: bool, actor: Actor) -> User:
    """Deactivate (ending every sign-in) or reactivate; a reactivated user signs in again."""
    user = get_user(session=session, user_id=user_id)
    user.is_active = bool(active)
    session.add(user)
    audit.record_action(session=session, actor=actor, org_id=user.org_id,
                        event_type="user_activated" if active else "user_deactivated", email=user.email)
    return access_changed(session=session, user=user)


def sign_out(*, session: Session, user_id: uuid.UUID, actor: Actor) -> User:
    """End every sign-in of this person for `actor` (an operator), audited `signed_out_everywhere`."""
    user = end_signins(session=session, user_id=user_id)
    audit.record_action(session=session, actor=actor, org_id=user.org_id, event_type="signed_out_everywhere",
                        email=user.email)
    return user


def find_by_email(*, session: Session, email: str) -> User:
    """The user with this email, or NotFound."""
    user = session.exec(select(User).where(User.email == normalize_email(email))).first()
    if user is None:
        raise NotFound(f"no user with email {email}", code="unknown_user")
    return user
