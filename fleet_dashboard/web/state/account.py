"""One's own account: change the password, sign out everywhere. Every signed-in person, every role."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import people
from fleet_dashboard.core import offload, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.web.state.auth import AuthState, allow_signed_in


class AccountState(AuthState):
    """The password form and the sign-out-everywhere button; the services audit both."""

    account_email: str = ""
    password_error: str = ""

    @rx.event
    @allow_signed_in
    def load(self):
        self._authorize(org=False)
        self.password_error = ""
        user = self._user()
        self.account_email = user.email if user is not None else ""

    @rx.event
    @allow_signed_in
    async def change_password(self, form_data: dict):
        """New password (the current one required); other browsers are signed out, this tab stays in."""
        ctx = self._authorize(org=False)
        if ctx.break_glass_by is not None:  # a new password (and its fresh token) would outlast the break-glass
            self.password_error = strings.error_text("break_glass_account")
            return
        new = str(form_data.get("new_password", ""))[:1024]
        if new != str(form_data.get("new_password_again", ""))[:1024]:
            self.password_error = strings.PASSWORDS_DIFFER
            return
        actor, current = ctx.actor, str(form_data.get("current_password", ""))[:1024]

        def change():
            with session_scope() as session:
                return people.change_password(session=session, actor=actor, current_password=current,
                                              new_password=new)

        try:
            user = await offload.run_sync(change)  # argon2 twice: never on the event loop
        except DomainError as exc:
            self.password_error = strings.error_text(exc.code, **exc.params)
            return
        self.password_error = ""
        await self._start_signin(user)  # this tab's token, under the new sign-in version
        self.account_email = user.email  # the new sign-in's first load reset the page's rows: show it again
        return rx.toast.success(strings.ACCOUNT_PASSWORD_CHANGED)

    @rx.event
    @allow_signed_in
    async def sign_out_everywhere(self):
        """End every sign-in of this person, this tab's included, and go to the login page."""
        ctx = self._authorize(org=False)
        with session_scope() as session:
            people.sign_out_everywhere(session=session, actor=ctx.actor)
        await self._wipe_tab()
        self._clear_identity()
        return rx.redirect(routes.LOGIN)
