"""Organisations: the tenants every other row belongs to."""

from __future__ import annotations

import re
import uuid

from slugify import slugify
from sqlmodel import Session, select

from fleet_dashboard.models import Organization
from fleet_dashboard.services.errors import Conflict, NotFound, ValidationError

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def create_org(*, session: Session, name: str, slug: str | None = None) -> Organization:
    """Create an organisation; the slug defaults to one made from the name."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("organisation name must be 1-200 characters", code="org_name")
    slug = (slug or slugify(name) or f"org-{uuid.uuid4().hex[:8]}").lower()
    if not SLUG_RE.match(slug):
        raise ValidationError(f"invalid slug {slug!r}: use a-z, 0-9 and '-'", code="org_slug", slug=slug)
    if session.exec(select(Organization).where(Organization.slug == slug)).first():
        raise Conflict(f"an organisation with slug {slug!r} already exists", code="org_exists", slug=slug)
    org = Organization(name=name, slug=slug)
    session.add(org)
    session.flush()
    return org


def get_org(*, session: Session, org_id: uuid.UUID) -> Organization:
    """The organisation with this id, or NotFound."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"unknown organisation {org_id}", code="unknown_org")
    return org


def get_org_by_slug(*, session: Session, slug: str) -> Organization:
    """The organisation with this slug, or NotFound."""
    org = session.exec(select(Organization).where(Organization.slug == slug.lower())).first()
    if org is None:
        raise NotFound(f"unknown organisation {slug!r}", code="unknown_org", slug=slug)
    return org


def list_orgs(*, session: Session) -> list[Organization]:
    """Every organisation, by name; only the super_admin's views call this."""
    return list(session.exec(select(Organization).order_by(Organization.name)))
