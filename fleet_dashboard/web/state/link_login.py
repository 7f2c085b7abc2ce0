"""Sign-in by a one-time link (the SaaS's login-link): the same signed sign-in token as the password form."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import links
from fleet_dashboard.core import offload
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.web.state.auth import AuthState, allow_anyone


class LinkLoginState(AuthState):
    """Uses the link once on page load; a used, expired or unknown link says so in Arabic."""

    link_error: str = ""

    @rx.event
    @allow_anyone
    async def use_link(self):
        """Use the token in ?token=, issue the sign-in, and go where the link says (home by default)."""
        self.link_error = ""
        token = str(self.router.url.query_parameters.get("token", "") or "")
        def use(ip: str):
            with session_scope() as session:
                return links.use_login_link(session=session, token=token, ip_address=ip)

        try:
            signed = await offload.run_sync(use, self._client_ip())
        except DomainError as exc:
            self.link_error = strings.error_text(exc.code)
            return
        await self._start_signin(signed.user, ttl_seconds=signed.session_seconds,
                                  break_glass_by=signed.break_glass_by)
        # replace: the spent link leaves the browser's history, so Back does not show an error page.
        return rx.redirect(signed.next_path, replace=True)
