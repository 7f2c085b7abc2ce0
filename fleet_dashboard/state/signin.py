"""Signing in and out, and what every page's frame sends: the events of the AuthState every page state extends."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from fleet_dashboard import auth, routes, strings
from fleet_dashboard.db import session_scope
from fleet_dashboard.models import Role
from fleet_dashboard.services import audit, users
from fleet_dashboard.state.access import allow_anyone, allow_signed_in


class SignIn(rx.State, mixin=True):
    """Mixed into AuthState (state/auth.py), whose identity and checks these handlers use."""

    login_error: str = ""
    login_busy: bool = False

    @rx.event
    @allow_signed_in
    def require_session(self):
        """on_load of pages that need a signed-in person but no organisation."""
        self._authorize(org=False)

    @rx.event
    @allow_anyone
    def login_page_load(self):
        """Send a person who is already signed in straight on."""
        self.login_error = ""
        self.login_busy = False
        if self._user() is not None:
            return rx.redirect(routes.safe_next(self.router.url.query_parameters.get("next")))

    @rx.event
    @allow_anyone
    def login(self, form_data: dict):
        """Check the password (argon2), count failures, and issue a signed session token."""
        email = str(form_data.get("email", ""))[:320].strip()
        password = str(form_data.get("password", ""))[:1024]
        ip = self._client_ip()
        limiter = auth.login_limiter()
        self.login_busy = False
        if not limiter.allowed(email=email, ip=ip):
            self.login_error = strings.error_text("rate_limited")
            return
        with session_scope() as session:
            user = users.authenticate(session=session, email=email, password=password)
            if user is None:
                audit.record(session=session, org_id=None, event_type="login_failed",
                             event_data={"email": email[:320]}, ip_address=ip)
            else:
                audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="login",
                             event_data={"email": user.email}, ip_address=ip)
        if user is None:
            limiter.failed(email=email, ip=ip)
            self.login_error = strings.error_text("bad_credentials")
            return
        limiter.succeeded(email=email)
        self.login_error = ""
        self.token = auth.issue_token(user_id=user.id, session_version=user.session_version)
        self._view_org_id = ""
        self._data_owner = f"{user.id}:{user.session_version}"
        self._show_identity(user, user.org_id)
        home = routes.ADMIN if user.role == Role.super_admin.value else routes.HOME
        next_path = routes.safe_next(self.router.url.query_parameters.get("next"))
        return rx.redirect(home if next_path == routes.HOME else next_path)

    @rx.event
    @allow_anyone
    async def logout(self):
        """End every session of this person (all tabs, every copy of the token), audit, and forget this tab's data."""
        user = self._user()
        if user is not None:
            with session_scope() as session:
                users.end_sessions(session=session, user_id=user.id)
                audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="logout",
                             event_data={"email": user.email}, ip_address=self._client_ip())
        await self._wipe_tab()  # the token, the identity and every page's rows
        self._clear_identity()
        return rx.redirect(routes.LOGIN)

    @rx.event
    @allow_signed_in
    def leave_org(self):
        """A super_admin goes back from an organisation to the overview."""
        self._view_org_id = ""
        self.org_label = ""
        return rx.redirect(routes.ADMIN)

    @rx.event
    @allow_anyone
    def set_timezone(self, tz: str):
        """Remember the browser's time zone (sent once per page by the frame)."""
        tz = str(tz)[:64]
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return
        self._tz = tz

    @rx.var
    def oidc_enabled(self) -> bool:
        return auth.oidc_enabled()
