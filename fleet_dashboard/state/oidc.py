"""OIDC sign-in through authlib: a round trip to the provider that ends in the same signed session token."""

from __future__ import annotations

import logging

import reflex as rx
from sqlmodel import select

from fleet_dashboard import auth, routes, strings
from fleet_dashboard.db import session_scope
from fleet_dashboard.models import Role, User, utcnow
from fleet_dashboard.services import audit
from fleet_dashboard.services.users import normalize_email
from fleet_dashboard.state.auth import AuthState, allow_anyone

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
        if not auth.oidc_enabled():
            return
        try:
            start = await auth.oidc_start(redirect_uri=self._redirect_uri())
        except Exception:
            log.warning("OIDC discovery failed", exc_info=True)
            self.login_error = strings.LOGIN_OIDC_FAILED
            return
        self._oidc_state, self._oidc_verifier = start.state, start.code_verifier
        return rx.redirect(start.url, is_external=True)

    @rx.event
    @allow_anyone
    async def finish(self):
        """Check the state, exchange the code, and sign in the active user with the provider's email."""
        params = self.router.url.query_parameters
        expected, verifier = self._oidc_state, self._oidc_verifier
        self._oidc_state = self._oidc_verifier = ""
        self.oidc_error = ""
        if not auth.oidc_enabled() or not expected or params.get("state") != expected or not params.get("code"):
            self.oidc_error = strings.LOGIN_OIDC_FAILED
            return
        try:
            email = await auth.oidc_finish(code=params["code"], redirect_uri=self._redirect_uri(),
                                           code_verifier=verifier)
            email = normalize_email(email or "")
        except Exception:
            log.warning("OIDC code exchange failed", exc_info=True)
            self.oidc_error = strings.LOGIN_OIDC_FAILED
            return
        with session_scope() as session:
            user = session.exec(select(User).where(User.email == email, User.is_active.is_(True))).first()
            if user is not None:
                user.last_login_at = utcnow()
                session.add(user)
                audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="login",
                             event_data={"email": user.email, "method": "oidc"}, ip_address=self._client_ip())
        if user is None:
            self.oidc_error = strings.LOGIN_OIDC_FAILED
            return
        self.token = auth.issue_token(user_id=user.id, session_version=user.session_version)
        self._view_org_id = ""
        return rx.redirect(routes.ADMIN if user.role == Role.super_admin.value else routes.HOME)
