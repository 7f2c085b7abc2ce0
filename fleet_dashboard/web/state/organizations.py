"""The super_admin's organisations page: create, rename, suspend and resume, and invite each one's first owner."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import lifecycle, people
from fleet_dashboard.accounts.models import Organization, Role
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError, NotFound
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.web.format import stamp
from fleet_dashboard.web.state.auth import AuthState, Ctx, allow
from fleet_dashboard.whatsapp import suspension


def org_row(org: Organization, zone: ZoneInfo) -> dict[str, str]:
    """One organisation as a row; its time in the reader's zone, the one the page's caption names (a column of
    each organisation's own offsets under one caption read wrong)."""
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "suspended": "1" if org.suspended_at else "",
            "created_at": stamp(org.created_at, zone)}


def _org_id(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"unknown organisation {value}", code="unknown_org") from None


class OrganizationsState(AuthState):
    """Every organisation with its state; each change goes through lifecycle, suspension or people, which audit it."""

    org_rows: list[dict[str, str]] = []
    search: str = ""
    create_error: str = ""
    # The invitation just made: its link is shown to copy (once; it is not stored in plain text).
    invite_url: str = ""
    invite_email: str = ""
    invite_org: str = ""
    invite_note: str = ""

    def _actor(self) -> tuple[Ctx, Actor]:
        ctx = self._authorize(Action.organizations, org=False)
        return ctx, ctx.actor

    def _reload(self) -> None:
        _, actor = self._actor()
        with session_scope() as session:
            rows = lifecycle.list_organizations(session=session, actor=actor, search=self.search)
        zone = self._zone()
        self.org_rows = [org_row(o, zone) for o in rows]

    def _clear_invite(self) -> None:
        self.invite_url = self.invite_email = self.invite_org = self.invite_note = ""

    def _invite_owner(self, actor: Actor, org_id: uuid.UUID, email: str) -> None:
        """Invite the organisation's owner; the link is shown to copy, and e-mailed when SMTP is set."""
        with session_scope() as session:
            invitation = people.invite(session=session, actor=actor, org_id=org_id, email=email,
                                       role=Role.owner.value, base_url=self._link_base())
        emailed = people.email_invitation(invitation)
        self.invite_url, self.invite_email, self.invite_org = invitation.url, invitation.link.email or email, \
            invitation.org_name
        self.invite_note = strings.INVITE_EMAILED if emailed else strings.INVITE_NOT_EMAILED

    @rx.var
    def invite_hours(self) -> str:
        return strings.INVITE_LINK_TITLE.format(hours=get_settings().invitation_ttl_hours)

    @rx.event
    @allow(Action.organizations)
    def load(self):
        self.create_error = ""
        self._clear_invite()
        self._reload()

    @rx.event
    @allow(Action.organizations)
    def apply_search(self, form_data: dict):
        self.search = str(form_data.get("search", "")).strip()[:200]
        self._reload()

    @rx.event
    @allow(Action.organizations)
    def create_org(self, form_data: dict):
        """Create an organisation and, with an owner's e-mail, invite its first owner at once."""
        _, actor = self._actor()
        self._clear_invite()
        name = str(form_data.get("name", "")).strip()[:200]
        slug = str(form_data.get("slug", "")).strip()[:64] or None
        email = str(form_data.get("owner_email", "")).strip()[:320]
        try:
            with session_scope() as session:
                org = lifecycle.create_organization(session=session, actor=actor, name=name, slug=slug)
                org_id = org.id
            self.create_error = ""
            if email:
                self._invite_owner(actor, org_id, email)
        except DomainError as exc:
            self.create_error = strings.error_text(exc.code, **exc.params)
            self._reload()
            return
        self._reload()
        return rx.toast.success(strings.ORG_CREATED)

    @rx.event
    @allow(Action.organizations)
    def rename_org(self, form_data: dict):
        _, actor = self._actor()
        with session_scope() as session:
            lifecycle.rename_org(session=session, actor=actor, org_id=_org_id(form_data.get("org_id")),
                                     name=str(form_data.get("name", ""))[:200])
        self._reload()
        return rx.toast.success(strings.ORG_RENAMED)

    @rx.event
    @allow(Action.organizations)
    def suspend_org(self, form_data: dict):
        _, actor = self._actor()
        with session_scope() as session:
            suspension.suspend_org(session=session, actor=actor, org_id=_org_id(form_data.get("org_id")),
                                      reason=str(form_data.get("reason", ""))[:500])
        self._reload()
        return rx.toast.success(strings.ORG_SUSPENDED_TOAST)

    @rx.event
    @allow(Action.organizations)
    def resume_org(self, org_id: str):
        _, actor = self._actor()
        with session_scope() as session:
            suspension.resume_org(session=session, actor=actor, org_id=_org_id(org_id))
        self._reload()
        return rx.toast.success(strings.ORG_RESUMED_TOAST)

    @rx.event
    @allow(Action.organizations)
    def invite_owner(self, form_data: dict):
        """A (new) one-time owner invitation for an existing organisation."""
        _, actor = self._actor()
        self._clear_invite()
        self._invite_owner(actor, _org_id(form_data.get("org_id")), str(form_data.get("email", ""))[:320])
