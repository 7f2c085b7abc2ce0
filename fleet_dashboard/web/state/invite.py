"""The invitation page: whom the link invites, then the person's name and password; the link works once."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import people
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.web.state.auth import AuthState, allow_anyone


class InviteState(AuthState):
    """Reads the token from ?token=, shows the invitation, and creates the account on accept."""

    invite_ready: bool = False
    invite_intro: str = ""
    invite_link_error: str = ""
    accept_error: str = ""

    def _token(self) -> str:
        return str(self.router.url.query_parameters.get("token", "") or "")[:200]

    @rx.event
    @allow_anyone
    def load(self):
        """Check the link without using it: a used, cancelled or expired one says so in Arabic."""
        self.invite_ready, self.accept_error, self.invite_link_error = False, "", ""
        try:
            with session_scope() as session:
                info = people.invitation_info(session=session, token=self._token())
        except DomainError as exc:
            self.invite_link_error = strings.error_text(exc.code)
            return
        self.invite_intro = strings.INVITE_INTRO.format(org=info.org_name, role=strings.ROLES.get(info.role, ""),
                                                        email=info.email)
        self.invite_ready = True

    @rx.event
    @allow_anyone
    async def accept(self, form_data: dict):
        """Create the account with this name and password, sign it in, and open its first page."""
        password = str(form_data.get("password", ""))[:1024]
        if password != str(form_data.get("password_again", ""))[:1024]:
            self.accept_error = strings.PASSWORDS_DIFFER
            return
        try:
            with session_scope() as session:
                user = people.accept_invitation(session=session, token=self._token(),
                                                full_name=str(form_data.get("full_name", ""))[:300],
                                                password=password, ip_address=self._client_ip() or None)
        except DomainError as exc:
            self.accept_error = strings.error_text(exc.code)
            if exc.code.startswith("link_"):
                self.invite_ready, self.invite_link_error = False, self.accept_error
            return
        self.accept_error = ""
        await self._start_signin(user)
        # replace: the spent link leaves the browser's history.
        return rx.redirect(routes.HOME, replace=True)
