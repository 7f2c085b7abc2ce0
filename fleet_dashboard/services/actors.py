"""Who is acting, as the account services see it, and the one place their roles are checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fleet_dashboard.models import Role
from fleet_dashboard.services.errors import NotFound, PermissionDenied

# The fleet SaaS's own credentials (service-role JWT, platform API key): a super_admin with no user row.
PLATFORM = "platform"

# action -> the organisation roles that may do it to their own organisation. A super_admin and the platform
# may do everything. At merge this maps onto the permission matrix's `team` column (see `allowed`).
_ORG_ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "team": frozenset({Role.owner.value, Role.admin.value}),
    "org_settings": frozenset({Role.owner.value, Role.admin.value}),
    "manage_orgs": frozenset(),
}


@dataclass(frozen=True)
class Actor:
    """The caller, re-derived by the entry point from a signed session or credential, never from input."""

    user_id: uuid.UUID | None
    role: str
    org_id: uuid.UUID | None
    ip_address: str | None = None
    # How the change came in, kept in the audit row: dashboard, api, cli, provisioning, jwt_claims.
    via: str = "dashboard"
    # A credential label for the platform (service_role, admin_key:<prefix>), audited instead of a user.
    credential: str | None = None

    @property
    def is_platform(self) -> bool:
        """A super_admin or the SaaS itself: acts on any organisation."""
        return self.role in (Role.super_admin.value, PLATFORM)

    def audit_data(self, **data: Any) -> dict[str, Any]:
        """Event data with how the change came in, so the audit log tells the SaaS from a person."""
        extra = {"via": self.via}
        if self.credential:
            extra["credential"] = self.credential
        return {**data, **extra}


def platform(credential: str, *, ip_address: str | None = None, via: str = "provisioning") -> Actor:
    """The actor for a platform credential that names no user."""
    return Actor(user_id=None, role=PLATFORM, org_id=None, ip_address=ip_address, via=via, credential=credential)


def allowed(role: str, action: str) -> bool:
    """True when `role` may do `action` (in its own organisation for org roles)."""
    if role in (Role.super_admin.value, PLATFORM):
        return True
    return role in _ORG_ROLE_ACTIONS.get(action, frozenset())


def check(actor: Actor, action: str, org_id: uuid.UUID | None = None) -> None:
    """Raise unless the actor may do `action` to `org_id`; another organisation's rows look missing."""
    if not allowed(actor.role, action):
        raise PermissionDenied(f"{actor.role} may not {action}", code="forbidden")
    if org_id is not None and not actor.is_platform and actor.org_id != org_id:
        raise NotFound(f"unknown organisation {org_id}", code="unknown_org")
