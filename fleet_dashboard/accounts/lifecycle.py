"""Organisations over their life: create, rename and time zone, each audited (suspend and resume are in
whatsapp/suspension.py: they close and reopen the organisation's WhatsApp session)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.localtime import validate_zone, zone_name_of
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.errors import Conflict
from fleet_dashboard.core.pagination import matching


def org_view(org: Organization) -> dict[str, Any]:
    """The organisation as the admin pages and the bridge show it."""
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "timezone": zone_name_of(org),
            "timezone_is_default": org.timezone is None, "suspended": org.suspended_at is not None,
            "suspended_at": org.suspended_at.isoformat() if org.suspended_at else None,
            "created_at": org.created_at.isoformat() if org.created_at else None}


def list_organizations(*, session: Session, actor: Actor, search: str = "", limit: int = 200) -> list[Organization]:
    """The organisations the super_admin manages, by name; `search` matches the name or the slug."""
    permissions.require(actor, Action.organizations)
    query = select(Organization)
    query = matching(session, query, (Organization.name, Organization.slug), search)
    return list(session.exec(query.order_by(Organization.name, Organization.id).limit(limit)))


def locked_org(session: Session, org_id: uuid.UUID) -> Organization:
    """The organisation row, locked for this transaction (404 when it does not exist)."""
    orgs.get_org(session=session, org_id=org_id)
    query = (select(Organization).where(Organization.id == org_id).with_for_update()
             .execution_options(populate_existing=True))
    return session.exec(query).one()


def create_organization(*, session: Session, actor: Actor, name: str, slug: str | None = None,
                        org_id: uuid.UUID | None = None, timezone: str | None = None) -> Organization:
    """Create an organisation (super_admin or platform); audited as `org_created` in its own log."""
    permissions.require(actor, Action.organizations)
    org = orgs.create_org(session=session, name=name, slug=slug, org_id=org_id, timezone=timezone)
    audit.record_action(session=session, actor=actor, org_id=org.id, event_type="org_created",
                        name=org.name, slug=org.slug, timezone=zone_name_of(org))
    return org


def rename_org(*, session: Session, actor: Actor, org_id: uuid.UUID, name: str,
               slug: str | None = None) -> Organization:
    """Change the name (and the slug when given); a slug held by another organisation is a 409."""
    permissions.require(actor, Action.organizations)
    org = locked_org(session, org_id)
    name = orgs.clean_name(name)
    new_slug = orgs.clean_slug(slug) if slug else org.slug
    if new_slug != org.slug:
        holder = orgs.slug_owner(session=session, slug=new_slug)
        if holder is not None and holder.id != org.id:
            raise Conflict(f"an organisation with slug {new_slug!r} already exists", code="org_exists",
                           slug=new_slug)
    if (name, new_slug) == (org.name, org.slug):
        return org
    before = {"name": org.name, "slug": org.slug}
    org.name, org.slug = name, new_slug
    session.add(org)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=org.id, event_type="org_renamed",
                        before=before, name=name, slug=new_slug)
    return org


def set_timezone(*, session: Session, actor: Actor, org_id: uuid.UUID, timezone: str | None) -> Organization:
    """Set the organisation's IANA zone (owners and admins of their own, or the platform); None = default."""
    permissions.require_in_org(actor, Action.team, org_id)
    zone = validate_zone(timezone) if timezone else None
    org = locked_org(session, org_id)
    if org.timezone == zone:
        return org
    before = zone_name_of(org)
    org.timezone = zone
    session.add(org)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=org.id, event_type="org_timezone_changed",
                        before=before, timezone=zone_name_of(org))
    return org
