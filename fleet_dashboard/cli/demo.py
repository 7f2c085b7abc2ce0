"""The demo organisation and accounts a fresh install starts with."""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import lifecycle, people
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.permissions import operator


def seed_demo(*, session: Session) -> list[tuple[str, str, str]]:
    """Create a demo org with an owner, and a super_admin, when no user exists; return their logins."""
    if session.exec(select(User.id)).first():
        return []
    actor = operator("demo")
    org = lifecycle.create_organization(session=session, actor=actor, name=strings.DEMO_ORG_NAME, slug="demo")
    created = []
    for role, email, org_slug in (("owner", "owner@example.com", org.slug),
                                  ("super_admin", "admin@example.com", None)):
        password = secrets.token_urlsafe(12)
        people.create_account(session=session, actor=actor, email=email, password=password, role=role,
                              org_slug=org_slug,
                              full_name=strings.DEMO_OWNER_NAME if role == "owner" else strings.DEMO_ADMIN_NAME)
        created.append((role, email, password))
    return created
