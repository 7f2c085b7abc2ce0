"""The organisation's people (owners and admins): invite by link with a role, change roles, deactivate."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import people
from fleet_dashboard.accounts.models import OneTimeLink, Role, User
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError, NotFound
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.web.format import stamp
from fleet_dashboard.web.state.auth import AuthState, Ctx, allow


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"unknown invitation {value}", code="unknown_link") from None


def person_row(user: User, me: str, zone: ZoneInfo) -> dict[str, str]:
    return {"id": str(user.id), "name": user.full_name or "", "email": user.email, "role": user.role,
            "label": user.full_name or user.email,
            "role_label": strings.ROLES.get(user.role, user.role), "active": "1" if user.is_active else "",
            "me": "1" if str(user.id) == me else "", "last_login_at": stamp(user.last_login_at, zone)}


def invitation_row(link: OneTimeLink, zone: ZoneInfo) -> dict[str, str]:
    return {"id": str(link.id), "email": link.email or "", "role_label": strings.ROLES.get(link.role or "", ""),
            "expires_at": stamp(link.expires_at, zone)}


class PeopleState(AuthState):
    """The organisation's members and waiting invitations; every change is audited by services/people."""

    person_rows: list[dict[str, str]] = []
    invitation_rows: list[dict[str, str]] = []
    invite_error: str = ""
    invite_url: str = ""
    invite_email: str = ""
    invite_note: str = ""
    # Whether this person may make and touch owners (an owner may, an admin may not).
    gives_owner: bool = False
    # A role picked in a row, waiting for the confirmation that names the person ("" when none is asked).
    role_ask_id: str = ""
    role_ask_value: str = ""
    role_ask_name: str = ""
    role_ask_from: str = ""
    role_ask_to: str = ""

    def _actor(self) -> tuple[Ctx, Actor]:
        ctx = self._authorize(Action.team)
        return ctx, ctx.actor

    def _reload(self) -> None:
        ctx, actor = self._actor()
        with session_scope() as session:
            members = people.list_members(session=session, actor=actor, org_id=ctx.org_id)
            waiting = people.list_invitations(session=session, actor=actor, org_id=ctx.org_id)
        self.gives_owner = ctx.role == Role.owner.value
        zone = self._zone()
        self.person_rows = [person_row(u, str(ctx.user_id), zone) for u in members]
        self.invitation_rows = [invitation_row(link, zone) for link in waiting]

    @rx.var
    def invite_title(self) -> str:
        return strings.INVITE_LINK_TITLE.format(hours=get_settings().invitation_ttl_hours)

    @rx.var
    def role_choices(self) -> list[dict[str, str]]:
        """The roles this person may give: an admin never makes an owner (the service refuses it too)."""
        return [{"value": r, "label": strings.ROLES[r]} for r in people.ORG_ROLES
                if r != Role.owner.value or self.gives_owner]

    @rx.event
    @allow(Action.team)
    def load(self):
        self.invite_error = ""
        self.invite_url = self.invite_email = self.invite_note = ""
        self._reload()

    @rx.event
    @allow(Action.team)
    def invite(self, form_data: dict):
        """A one-time invitation link with a role, shown to copy and e-mailed when SMTP is set."""
        ctx, actor = self._actor()
        self.invite_url = self.invite_email = self.invite_note = ""
        try:
            with session_scope() as session:
                invitation = people.invite(session=session, actor=actor, org_id=ctx.org_id,
                                           email=str(form_data.get("email", ""))[:320],
                                           role=str(form_data.get("role", "member"))[:20],
                                           base_url=self._link_base())
        except DomainError as exc:
            self.invite_error = strings.error_text(exc.code, **exc.params)
            return
        self.invite_error = ""
        emailed = people.email_invitation(invitation)
        self.invite_url, self.invite_email = invitation.url, invitation.link.email or ""
        self.invite_note = strings.INVITE_EMAILED if emailed else strings.INVITE_NOT_EMAILED
        self._reload()

    def _change(self, change, done: str | None = None, **args):
        """One audited change by the people service, then the fresh list (and a toast saying what was done)."""
        ctx, actor = self._actor()
        with session_scope() as session:
            change(session=session, actor=actor, org_id=ctx.org_id, **args)
        self._reload()
        return rx.toast.success(done) if done else None

    @rx.event
    @allow(Action.team)
    def change_role(self, user_id: str, role: str):
        return self._change(people.change_role, strings.ROLE_CHANGED, user_id=user_id, role=role[:20])

    def _drop_ask(self) -> None:
        self.role_ask_id = self.role_ask_value = self.role_ask_name = self.role_ask_from = self.role_ask_to = ""

    @rx.event
    @allow(Action.team)
    def ask_role(self, user_id: str, role: str):
        """A role picked in the list: nothing changes until the dialog naming the person is confirmed."""
        self._authorize()
        row = next((r for r in self.person_rows if r["id"] == str(user_id)), None)
        if row is None or role == row["role"] or role not in strings.ROLES:
            self._drop_ask()
            return
        self.role_ask_id, self.role_ask_value = row["id"], role
        self.role_ask_name = row.get("label") or row["email"]
        self.role_ask_from, self.role_ask_to = row["role_label"], strings.ROLES[role]

    @rx.event
    @allow(Action.team)
    def confirm_role(self):
        """The confirmed change, through the people service (which checks and audits it as always)."""
        user_id, role = self.role_ask_id, self.role_ask_value
        self._drop_ask()
        if not user_id:
            return None
        return self._change(people.change_role, strings.ROLE_CHANGED, user_id=user_id, role=role[:20])

    @rx.event
    @allow(Action.team)
    def drop_role_change(self):
        self._drop_ask()

    @rx.event
    @allow(Action.team)
    def role_dialog_changed(self, open_: bool):
        if not open_:
            self._drop_ask()

    @rx.event
    @allow(Action.team)
    def deactivate(self, user_id: str):
        return self._change(people.deactivate, strings.PERSON_DEACTIVATED, user_id=user_id)

    @rx.event
    @allow(Action.team)
    def reactivate(self, user_id: str):
        return self._change(people.reactivate, strings.PERSON_REACTIVATED, user_id=user_id)

    @rx.event
    @allow(Action.team)
    def revoke_invitation(self, link_id: str):
        return self._change(people.revoke_invitation, strings.INVITE_REVOKED, link_id=_uuid(link_id))
