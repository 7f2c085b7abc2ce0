"""OIDC sign-in through authlib: a round trip to the provider that ends in the same signed sign-in token."""

from __future__ import annotations

import logging

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import identities, signin
from fleet_dashboard.accounts.models import Role
from fleet_dashboard.core import offload, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.web.state.auth import AuthState, allow_anyone

log = logging.getLogger(__name__)


class OidcState(AuthState):
    """Remembers the state and PKCE verifier between leaving for the provider and coming back."""

    oidc_error: str = ""
    _oidc_state: str = ""
    _oidc_verifier: str = ""

    def _redirect_uri(self) -> str:
        return f"{self.router.url.origin}{routes.OIDC_CALLBACK}"

    @rx.event
    @allow_anyone
    async def begin(self):
        """Send the browser to the identity provider."""
        if not signin.oidc_enabled():
            return
        try:
            start = await signin.oidc_start(redirect_uri=self._redirect_uri())
        except Exception:
            log.warning("OIDC discovery failed", exc_info=True)
            self.login_error = strings.LOGIN_OIDC_FAILED
            return
        self._oidc_state, self._oidc_verifier = start.state, start.code_verifier
        return rx.redirect(start.url, is_external=True)

    @rx.event
    @allow_anyone
    async def finish(self):
        """Check the state, exchange the code, and sign in the account linked to the provider identity."""
        params = self.router.url.query_parameters
        expected, verifier = self._oidc_state, self._oidc_verifier
        self._oidc_state = self._oidc_verifier = ""
        self.oidc_error = ""
        if not signin.oidc_enabled() or not expected or params.get("state") != expected or not params.get("code"):
            self.oidc_error = strings.LOGIN_OIDC_FAILED
            return
        try:
            identity = await signin.oidc_finish(code=params["code"], redirect_uri=self._redirect_uri(),
                                              code_verifier=verifier)
        except Exception:
            log.warning("OIDC code exchange failed", exc_info=True)
            self.oidc_error = strings.LOGIN_OIDC_FAILED
            return
        if identity is None:
            self.oidc_error = strings.LOGIN_OIDC_FAILED
            return
        def sign_in(ip: str):
            with session_scope() as session:
                return identities.sign_in(session=session, issuer=identity.issuer, subject=identity.subject,
                                          email=identity.email, email_verified=identity.email_verified,
                                          ip_address=ip)

        outcome = await offload.run_sync(sign_in, self._client_ip())
        user = outcome.user
        if user is None:
            self.oidc_error = strings.error_text(outcome.refused or "oidc_no_account")
            return
        await self._start_signin(user)
        return rx.redirect(routes.ADMIN if user.role == Role.super_admin.value else routes.HOME)
