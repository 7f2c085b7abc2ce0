"""The provisioning bridge: the fleet SaaS's organisations and users, kept under the SaaS's own ids.

Every call is an idempotent "make it so": a repeat changes nothing and writes no audit row. The SaaS is the
source of truth here, so the team rules (last owner) that bind people in the dashboard do not bind it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, lifecycle, orgs, people, permissions, users
from fleet_dashboard.accounts.localtime import validate_zone, zone_name_of
from fleet_dashboard.accounts.models import Organization, Role, User
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.errors import Conflict, NotFound, ValidationError
from fleet_dashboard.core.tables import utcnow

log = logging.getLogger(__name__)


def _locked(session: Session, model: Any, row_id: uuid.UUID) -> Any:
    query = (select(model).where(model.id == row_id).with_for_update()
             .execution_options(populate_existing=True))
    return session.exec(query).first()


def _insert(session: Session, row: Any) -> bool:
    """Insert in a savepoint; False when a unique rule refused it (a concurrent twin, or a taken value)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


# ---- organisations --------------------------------------------------------------------------------

def upsert_org(*, session: Session, actor: Actor, org_id: uuid.UUID, name: str, slug: str | None = None,
               timezone: str | None = None) -> tuple[Organization, bool]:
    """Create the organisation with this id, or bring its name, slug and zone up to date; (org, created)."""
    permissions.require(actor, Action.organizations)
    name = orgs.clean_name(name)
    slug = orgs.clean_slug(slug) if slug else None
    for _ in range(2):
        org = _locked(session, Organization, org_id)
        if org is not None:
            break
        holder = orgs.slug_owner(session=session, slug=slug) if slug else None
        if holder is not None:
            raise Conflict(f"slug {slug!r} belongs to another organisation", code="org_exists", slug=slug)
        new = Organization(id=org_id, name=name, slug=slug or orgs.free_slug(session=session, name=name),
                           timezone=validate_zone(timezone) if timezone else None)
        if _insert(session, new):
            audit.record_action(session=session, actor=actor, org_id=new.id, event_type="org_created",
                                name=new.name, slug=new.slug, timezone=zone_name_of(new))
            return new, True
        # Either the same id arrived at once from another request (loop: update it) or the slug was just taken.
        if session.get(Organization, org_id) is None and slug:
            raise Conflict(f"slug {slug!r} belongs to another organisation", code="org_exists", slug=slug)
    if org is None:
        raise Conflict("the organisation could not be created; try again", code="conflict")
    org = lifecycle.rename_org(session=session, actor=actor, org_id=org.id, name=name, slug=slug)
    if timezone is not None:
        org = lifecycle.set_timezone(session=session, actor=actor, org_id=org.id, timezone=timezone or None)
    return org, False


# ---- users ----------------------------------------------------------------------------------------

def _email_free(session: Session, email: str, user_id: uuid.UUID) -> None:
    holder = session.exec(select(User.id).where(User.email == email)).first()
    if holder is not None and holder != user_id:
        raise Conflict(f"email {email} belongs to another user", code="email_exists", email=email)


def _apply(session: Session, actor: Actor, user: User, *, org_id: uuid.UUID, email: str, role: str,
           full_name: str | None, reactivate: bool) -> User:
    """Bring an existing user to the wanted state; audit what changed (nothing changed = no row)."""
    changes: dict[str, Any] = {}
    if user.email != email:
        _email_free(session, email, user.id)
        changes["email"], user.email = [user.email, email], email
    if user.role != role:
        changes["role"], user.role = [user.role, role], role
    if full_name is not None and user.full_name != full_name:
        changes["full_name"], user.full_name = [user.full_name, full_name], full_name
    moved_from = user.org_id if user.org_id != org_id else None
    if moved_from is not None:
        changes["org_id"], user.org_id = [str(moved_from), str(org_id)], org_id
    if reactivate and not user.is_active:
        changes["is_active"], user.is_active = [False, True], True
    user.saas_org_id, user.saas_role = org_id, role  # what the SaaS says now, changed or not
    session.add(user)
    if not changes:
        session.flush()
        return user
    if changes.keys() & {"role", "org_id", "is_active"}:
        users.access_changed(session=session, user=user)
    user.updated_at = utcnow()
    session.flush()
    if moved_from is not None:
        audit.record_action(session=session, actor=actor, org_id=moved_from, event_type="user_moved_out",
                            user_id=str(user.id), email=user.email, to_org=str(org_id))
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="user_updated",
                        user_id=str(user.id), email=user.email, changes=changes)
    return user


def upsert_user(*, session: Session, actor: Actor, org_id: uuid.UUID, user_id: uuid.UUID, email: str,
                role: str, full_name: str | None = None) -> tuple[User, bool]:
    """Create the user with this id in the organisation (no password: they come in by login link), or update
    their email, role, name and organisation, reactivating them; (user, created)."""
    permissions.require(actor, Action.organizations)
    role = people.check_role(role)
    email = users.normalize_email(email)
    full_name = full_name.strip()[:200] if full_name is not None else None
    orgs.get_org(session=session, org_id=org_id)
    people.guard_super_admin_grant(session, actor, org_id, role)  # a super_admin's own JWT: a first owner only
    for _ in range(2):
        user = _locked(session, User, user_id)
        if user is not None:
            break
        _email_free(session, email, user_id)
        new = User(id=user_id, email=email, password_hash=None, role=role, org_id=org_id, full_name=full_name or "",
                   saas_org_id=org_id, saas_role=role)
        if _insert(session, new):
            audit.record_action(session=session, actor=actor, org_id=org_id, event_type="user_provisioned",
                                user_id=str(user_id), email=email, role=role)
            return new, True
        if session.get(User, user_id) is None:
            raise Conflict(f"email {email} belongs to another user", code="email_exists", email=email)
    if user is None:
        raise Conflict("the user could not be created; try again", code="conflict")
    if user.role == Role.super_admin.value:
        raise Conflict("this id belongs to a super_admin, who has no organisation", code="user_is_super_admin")
    return _apply(session, actor, user, org_id=org_id, email=email, role=role, full_name=full_name,
                  reactivate=True), False


def deprovision_user(*, session: Session, actor: Actor, org_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """Deactivate the organisation's user (idempotent); their rows and audit history stay."""
    permissions.require(actor, Action.organizations)
    orgs.get_org(session=session, org_id=org_id)
    user = _locked(session, User, user_id)
    if user is None or user.org_id != org_id:
        raise NotFound(f"user {user_id} is not in organisation {org_id}", code="unknown_user")
    if user.is_active:
        user.is_active = False
        users.access_changed(session=session, user=user)
        audit.record_action(session=session, actor=actor, org_id=org_id, event_type="user_deactivated",
                            user_id=str(user.id), email=user.email, role=user.role)
    return user


# ---- just-in-time provisioning from a verified user JWT ---------------------------------------------

def _claims_target(claims: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    meta = claims.get("app_metadata")
    if not isinstance(meta, dict):
        return None
    try:
        user_id, org_id = uuid.UUID(str(claims.get("sub"))), uuid.UUID(str(meta.get("org_id")))
    except ValueError:
        return None
    role = meta.get("role")
    return (user_id, org_id, role) if role in people.ORG_ROLES else None


def _claims_name(claims: dict[str, Any]) -> str | None:
    meta = claims.get("user_metadata")
    if isinstance(meta, dict):
        for key in ("full_name", "name"):
            if isinstance(meta.get(key), str) and meta[key].strip():
                return meta[key].strip()[:200]
    return None


def _issued_at(claims: dict[str, Any]) -> datetime | None:
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        return None
    try:
        return datetime.fromtimestamp(issued, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def provision_from_claims(*, session: Session, claims: dict[str, Any], ip_address: str | None = None) -> User | None:
    """Create or update the user a verified JWT describes (`sub`, `email`, `app_metadata.org_id|role`).

    Only for an organisation that exists. A deactivated user stays deactivated, a super_admin is never
    touched, a token issued before the user's last change does not undo that change, and claims that say what
    the SaaS said before (every fresh token repeats them) do not undo a change made since on the dashboard."""
    target = _claims_target(claims)
    if target is None:
        return None
    user_id, org_id, role = target
    if session.get(Organization, org_id) is None:
        return None
    actor = permissions.platform("user_jwt", ip_address=ip_address, via="jwt_claims")
    issued = _issued_at(claims)
    known = session.get(User, user_id)  # every request passes here: lock only when something may change
    if known is not None and (issued is None or issued <= known.updated_at):
        return known
    user = _locked(session, User, user_id)
    if user is None:
        email = users.normalize_email(str(claims.get("email") or ""))
        user, _ = upsert_user(session=session, actor=actor, org_id=org_id, user_id=user_id, email=email,
                              role=role, full_name=_claims_name(claims) or "")
        return user
    if not user.is_active or user.role == Role.super_admin.value:
        return user
    if issued is None or issued <= user.updated_at:
        return user  # an older token must not undo a newer change made through the bridge or the dashboard
    if (user.saas_org_id, user.saas_role) == (org_id, role):
        # Claims the SaaS already gave: a change made since on the dashboard (a demotion) stands.
        org_id, role = user.org_id, user.role
    email = str(claims.get("email") or "") or user.email
    try:
        email = users.normalize_email(email)
    except ValidationError:
        email = user.email
    return _apply(session, actor, user, org_id=org_id, email=email, role=role, full_name=_claims_name(claims),
                  reactivate=False)
