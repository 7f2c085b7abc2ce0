"""Organisations: the tenants every other row belongs to."""

from __future__ import annotations

import re
import uuid

from slugify import slugify
from sqlmodel import Session, select

from fleet_dashboard.accounts.localtime import validate_zone
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationError

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def clean_name(name: str | None) -> str:
    """A stripped organisation name, or ValidationError `org_name`."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("organisation name must be 1-200 characters", code="org_name")
    # The name goes into e-mail subjects and CSV file names: a line break there is a header of its own.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValidationError("organisation name must not contain control characters", code="org_name")
    return name


def clean_slug(slug: str) -> str:
    """A lower-case slug, or ValidationError `org_slug`."""
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationError(f"invalid slug {slug!r}: use a-z, 0-9 and '-'", code="org_slug", slug=slug)
    return slug


def slug_owner(*, session: Session, slug: str) -> Organization | None:
    """The organisation holding this slug, if any."""
    return session.exec(select(Organization).where(Organization.slug == slug)).first()


def free_slug(*, session: Session, name: str) -> str:
    """A slug made from the name that no organisation holds yet (-2, -3... when taken)."""
    base = (slugify(name, max_length=56, word_boundary=True) or f"org-{uuid.uuid4().hex[:8]}").lower()
    slug, n = base, 1
    while slug_owner(session=session, slug=slug) is not None:
        n += 1
        slug = f"{base}-{n}" if n < 50 else f"{base}-{uuid.uuid4().hex[:6]}"
    return slug


def create_org(*, session: Session, name: str, slug: str | None = None, org_id: uuid.UUID | None = None,
               timezone: str | None = None) -> Organization:
    """Create an organisation; the slug defaults to one made from the name, the id to a new UUID."""
    name = clean_name(name)
    slug = clean_slug(slug or slugify(name) or f"org-{uuid.uuid4().hex[:8]}")
    if slug_owner(session=session, slug=slug):
        raise Conflict(f"an organisation with slug {slug!r} already exists", code="org_exists", slug=slug)
    org = Organization(id=org_id or uuid.uuid4(), name=name, slug=slug,
                       timezone=validate_zone(timezone) if timezone else None)
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


class OrgSuspended(PermissionDenied):
    """The organisation is suspended: nothing it asks for is done until it is resumed."""

    code = "organization_suspended"


def is_suspended(org: Organization | None) -> bool:
    """True for a suspended organisation."""
    return org is not None and org.suspended_at is not None


def ensure_active(*, session: Session, org_id: uuid.UUID) -> None:
    """Raise OrgSuspended (403 `organization_suspended`) when the organisation is suspended.

    Every service that changes an organisation's rows or sends for it calls this first, so the API,
    the dashboard and the CLI refuse the same things."""
    if is_suspended(session.get(Organization, org_id)):
        raise OrgSuspended(f"organisation {org_id} is suspended", org_id=str(org_id))
