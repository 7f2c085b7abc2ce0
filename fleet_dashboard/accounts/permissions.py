"""Who may do what: the one permission matrix, and the check every service runs before it acts.

The dashboard's event chokepoint (web/access.py), the API's dependencies (api/auth.py) and the
services all read MATRIX; docs/SECURITY.md prints it. Change a cell here and every entry point follows.
"""

from __future__ import annotations

import enum
import getpass
import os
import uuid
from dataclasses import dataclass
from typing import Any

from fleet_dashboard.accounts.models import Role
from fleet_dashboard.core.errors import NotFound, PermissionDenied


class Action(enum.StrEnum):
    """The matrix's columns: one per thing a person can be allowed or refused."""

    view = "view"                    # read the organisation's WhatsApp session status, history, queue and templates
    connect = "connect"              # pair or resume WhatsApp, and see the pairing QR (it links a phone)
    logout = "logout"                # unlink the organisation's WhatsApp device
    send = "send"                    # send a message now
    schedule = "schedule"            # put a notification on the queue for later
    cancel = "cancel"                # cancel a pending notification
    retry = "retry"                  # retry a failed notification
    retry_unknown = "retry_unknown"  # retry an `unknown` one: WhatsApp may have it already (double send)
    templates = "templates"          # create, edit, switch off, duplicate and delete templates
    export = "export"                # download every matching message (or the opt-out list) as CSV
    opt_outs = "opt_outs"            # add a number to the opt-out list by hand, or take one off it
    audit = "audit"                  # read the audit log, IP addresses included
    api_keys = "api_keys"            # list, create and revoke API keys
    webhooks = "webhooks"            # see (URLs included), add and delete webhooks
    team = "team"                    # invite people, change roles, deactivate
    sending = "sending"              # change the sending rules (typing, quiet hours, cap) and resume a pause
    overview = "overview"            # every organisation's status and volumes
    organizations = "organizations"  # create, rename, suspend and resume organisations; provision their people


ROLES: tuple[str, ...] = (Role.owner.value, Role.admin.value, Role.member.value, Role.super_admin.value)

Y, N = True, False
# Rows: owner, admin, member, super_admin. The super_admin watches every organisation read-only: it
# reads, it never writes, and it sees no integration secrets (webhook URLs, API keys) and exports nothing.
_TABLE: dict[Action, tuple[bool, bool, bool, bool]] = {
    #                      owner admin member super_admin
    Action.view:          (Y,    Y,    Y,     Y),
    Action.connect:       (Y,    Y,    N,     N),
    Action.logout:        (Y,    Y,    N,     N),
    Action.send:          (Y,    Y,    Y,     N),
    Action.schedule:      (Y,    Y,    Y,     N),
    Action.cancel:        (Y,    Y,    Y,     N),
    Action.retry:         (Y,    Y,    Y,     N),
    Action.retry_unknown: (Y,    Y,    N,     N),
    Action.templates:     (Y,    Y,    N,     N),
    Action.export:        (Y,    Y,    N,     N),
    Action.opt_outs:      (Y,    Y,    N,     N),
    Action.audit:         (Y,    Y,    N,     Y),
    Action.api_keys:      (Y,    Y,    N,     N),
    Action.webhooks:      (Y,    Y,    N,     N),
    Action.team:          (Y,    Y,    N,     N),
    Action.sending:       (Y,    Y,    N,     N),
    Action.overview:      (N,    N,    N,     Y),
    Action.organizations: (N,    N,    N,     Y),
}
MATRIX: dict[Action, frozenset[str]] = {
    action: frozenset(role for role, allowed in zip(ROLES, row, strict=True) if allowed)
    for action, row in _TABLE.items()
}
# Actions that need no organisation: the rest always act inside exactly one.
ORGLESS: frozenset[Action] = frozenset({Action.overview, Action.organizations})
# Actions that change nothing; a read-only caller (the super_admin) is never given any other.
READS: frozenset[Action] = frozenset({Action.view, Action.audit, Action.overview, Action.export})

# What an API credential that is not a person stands for: an organisation's own integration.
INTEGRATION_ROLE = Role.owner.value
SYSTEM_ROLE = "system"


def can(role: str | None, action: Action | str) -> bool:
    """The matrix cell for this role and action; unknown roles and actions are refused."""
    try:
        return role in MATRIX[Action(action)]
    except ValueError:
        return False


def allowed_actions(role: str | None) -> dict[str, bool]:
    """Every column for one role, for pages that hide what the role may not do."""
    return {action.value: can(role, action) for action in Action}


@dataclass(frozen=True)
class Actor:
    """Who asks a service to act: a person, an API credential, the fleet SaaS (platform), or the system itself.

    Re-derived by every entry point from a signed sign-in token or a verified credential, never from input."""

    role: str
    org_id: uuid.UUID | None = None  # the organisation they belong to; None for a super_admin or the system
    user_id: uuid.UUID | None = None
    kind: str = "user"  # "user" | "api_key" | "service_role" | "platform" | "system"
    ip_address: str | None = None
    # How the change came in, kept in the audit row: dashboard, api, cli, provisioning, jwt_claims.
    via: str = "dashboard"
    # A platform credential's label (service_role, api_key:<prefix>), audited where there is no user.
    credential: str | None = None

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def audit_data(self, **data: Any) -> dict[str, Any]:
        """Event data with how the change came in, so the audit log tells the SaaS from a person."""
        extra: dict[str, Any] = {"via": self.via}
        if self.credential:
            extra["credential"] = self.credential
        return {**data, **extra}


# The worker and the engine: trusted code, not a caller from outside.
SYSTEM = Actor(role=SYSTEM_ROLE, kind="system", via="system")


def operator(name: str | None = None) -> Actor:
    """Whoever runs `fleet-dashboard` on the server (trusted like the system), audited as `operator:<account>`
    (the operating-system account that ran the command)."""
    if name is None:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # a container's uid with no passwd entry
            name = f"uid {os.getuid()}"
    return Actor(role=SYSTEM_ROLE, kind="system", via="cli", credential=f"operator:{name}")


def platform(credential: str, *, ip_address: str | None = None, via: str = "provisioning") -> Actor:
    """The fleet SaaS's own credentials (service-role JWT, platform API key): the super_admin's row, no user."""
    return Actor(role=Role.super_admin.value, kind="platform", ip_address=ip_address, via=via,
                 credential=credential)


def require(actor: Actor, action: Action, org_id: uuid.UUID | str | None = None) -> None:
    """Raise PermissionDenied unless the actor may do `action` in organisation `org_id`."""
    if not isinstance(actor, Actor):
        raise PermissionDenied("no caller was named for this action", action=str(action))
    if actor.is_system:
        return
    if not can(actor.role, action):
        raise PermissionDenied(f"{actor.role} may not {action}", action=str(action), role=actor.role)
    if actor.org_id is None or org_id is None:
        if actor.role == Role.super_admin.value or action in ORGLESS:
            return
        raise PermissionDenied(f"{actor.role} acts only inside an organisation", action=str(action))
    if str(actor.org_id) != str(org_id):
        raise PermissionDenied(f"{actor.role} of another organisation may not {action}", action=str(action))


def require_in_org(actor: Actor, action: Action, org_id: uuid.UUID | str | None) -> None:
    """`action` inside organisation `org_id` (the account services: Action.team for people, say).

    Whoever holds the `organizations` column (the super_admin, the fleet SaaS) runs every organisation and its
    people, so it is checked for that column instead. Another organisation's rows look missing (NotFound)."""
    if isinstance(actor, Actor) and not actor.is_system and can(actor.role, Action.organizations):
        require(actor, Action.organizations)
        return
    if (isinstance(actor, Actor) and can(actor.role, action) and actor.org_id is not None and org_id is not None
            and str(actor.org_id) != str(org_id)):
        raise NotFound(f"unknown organisation {org_id}", code="unknown_org")
    require(actor, action, org_id)


def matrix_markdown() -> str:
    """The matrix as the Markdown table docs/SECURITY.md prints (a test keeps the two identical)."""
    lines = ["| action | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for action in Action:
        lines.append(f"| `{action.value}` | " + " | ".join("✓" if can(role, action) else "—" for role in ROLES)
                     + " |")
    return "\n".join(lines)
