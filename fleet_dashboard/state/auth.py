"""The signed-in person: session cookie, login and logout, and the server-side role check every page uses."""

from __future__ import annotations

import functools
import inspect
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from fleet_dashboard import auth, routes, strings
from fleet_dashboard.db import session_scope
from fleet_dashboard.models import Role, User
from fleet_dashboard.services import audit, orgs, users
from fleet_dashboard.services.errors import DomainError, PermissionDenied
from fleet_dashboard.settings import get_settings

MANAGERS = {Role.owner.value, Role.admin.value}


class NotSignedIn(Exception):
    """No valid session: the browser goes to the login page."""


class NoOrgChosen(Exception):
    """A super_admin opened an organisation page without picking an organisation."""


@dataclass(frozen=True)
class Ctx:
    """What one event may touch: always re-derived from the signed token, never from the client."""

    user_id: uuid.UUID
    role: str
    org_id: uuid.UUID | None
    read_only: bool

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.super_admin.value


def guarded(fn):
    """Turn a refused or failed handler into a login redirect or an Arabic toast, never a traceback."""

    def outcome(self, exc: Exception):
        if isinstance(exc, NotSignedIn):
            return rx.redirect(routes.login_url(self.router.url.path))
        if isinstance(exc, NoOrgChosen):
            return rx.redirect(routes.ADMIN)
        return rx.toast.error(strings.error_text(exc.code, **exc.params), duration=6000)

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_handler(self, *args, **kwargs):
            try:
                return await fn(self, *args, **kwargs)
            except (NotSignedIn, NoOrgChosen, DomainError) as exc:
                return outcome(self, exc)
        return async_handler

    @functools.wraps(fn)
    def handler(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except (NotSignedIn, NoOrgChosen, DomainError) as exc:
            return outcome(self, exc)
    return handler


class AuthState(rx.State):
    """Parent of every page state, so each handler can check the token it came with."""

    token: str = rx.Cookie("", name="fd_session", max_age=get_settings().session_ttl_hours * 3600,
                           same_site="strict")
    signed_in: bool = False
    user_label: str = ""
    role_label: str = ""
    org_label: str = ""
    is_super_admin: bool = False
    can_manage: bool = False
    read_only: bool = False
    login_error: str = ""
    login_busy: bool = False
    # A super_admin's chosen organisation; only the admin pages set it, after checking the role.
    _view_org_id: str = ""
    # Whose name org_label shows, so it is read once per organisation, not on every event.
    _label_org_id: str = ""
    # The browser's IANA time zone, so dates typed into filters and schedules mean local time.
    _tz: str = ""

    # ---- identity ----
    def _user(self) -> User | None:
        claims = auth.read_token(self.token)
        if claims is None:
            return None
        with session_scope() as session:
            user = session.get(User, claims.user_id)
            return user if user is not None and user.is_active else None

    def _authorize(self, action: str | None = None, *, manage: bool = False, write: bool = False,
                   org: bool = True) -> Ctx:
        """The caller's context; raises unless the token is valid and the role may do `action`."""
        user = self._user()
        if user is None:
            self._clear_identity()
            raise NotSignedIn()
        org_id, read_only = user.org_id, False
        if user.role == Role.super_admin.value:
            read_only = True
            org_id = uuid.UUID(self._view_org_id) if self._view_org_id else None
            if org and org_id is None:
                self._show_identity(user, None)
                raise NoOrgChosen()
        self._show_identity(user, org_id)
        ctx = Ctx(user_id=user.id, role=user.role, org_id=org_id, read_only=read_only)
        refused = (manage and (user.role not in MANAGERS)) or ((manage or write) and read_only)
        if refused:
            self._audit_denied(ctx, action or "unknown")
            raise PermissionDenied(f"{user.role} may not {action}")
        return ctx

    def _show_identity(self, user: User, org_id: uuid.UUID | None) -> None:
        self.signed_in = True
        self.user_label = user.full_name or user.email
        self.role_label = strings.ROLES.get(user.role, user.role)
        self.is_super_admin = user.role == Role.super_admin.value
        self.can_manage = user.role in MANAGERS
        self.read_only = self.is_super_admin
        if org_id is None:
            self.org_label, self._label_org_id = "", ""
            return
        if self._label_org_id == str(org_id) and self.org_label:
            return  # every event passes here: read the organisation's name once, not per click
        with session_scope() as session:
            self.org_label = orgs.get_org(session=session, org_id=org_id).name
        self._label_org_id = str(org_id)

    def _clear_identity(self) -> None:
        self.signed_in = self.is_super_admin = self.can_manage = self.read_only = False
        self.user_label = self.role_label = self.org_label = ""

    def _audit_denied(self, ctx: Ctx, action: str) -> None:
        # A refused event is worth a row: it is either a stale button or someone crafting events.
        with session_scope() as session:
            audit.record(session=session, org_id=ctx.org_id, actor_id=ctx.user_id, event_type="access_denied",
                         event_data={"action": action, "role": ctx.role, "page": self.router.url.path},
                         ip_address=self._client_ip())

    def _client_ip(self) -> str:
        return self.router.session.client_ip or ""

    def _audit(self, ctx: Ctx, event_type: str, **data) -> None:
        """Write one audit row for what this person just did."""
        with session_scope() as session:
            audit.record(session=session, org_id=ctx.org_id, actor_id=ctx.user_id, event_type=event_type,
                         event_data=data, ip_address=self._client_ip())

    # ---- events ----
    @rx.event
    @guarded
    def require_session(self):
        """on_load of pages that need a signed-in person but no organisation."""
        self._authorize(org=False)

    @rx.event
    def login_page_load(self):
        """Send a person who is already signed in straight on."""
        self.login_error = ""
        self.login_busy = False
        if self._user() is not None:
            return rx.redirect(routes.safe_next(self.router.url.query_parameters.get("next")))

    @rx.event
    def login(self, form_data: dict):
        """Check the password (argon2), count failures, and issue a signed session token."""
        email = str(form_data.get("email", "")).strip()
        password = str(form_data.get("password", ""))
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
        limiter.succeeded(email=email, ip=ip)
        self.login_error = ""
        self.token = auth.issue_token(user_id=user.id)
        self._view_org_id = ""
        self._show_identity(user, user.org_id)
        home = routes.ADMIN if user.role == Role.super_admin.value else routes.HOME
        next_path = routes.safe_next(self.router.url.query_parameters.get("next"))
        return rx.redirect(home if next_path == routes.HOME else next_path)

    @rx.event
    def logout(self):
        """Audit, then forget the token in the browser and in this state."""
        user = self._user()
        if user is not None:
            with session_scope() as session:
                audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="logout",
                             event_data={"email": user.email}, ip_address=self._client_ip())
        self.token = ""
        self._view_org_id = ""
        self._clear_identity()
        return rx.redirect(routes.LOGIN)

    @rx.event
    def leave_org(self):
        """A super_admin goes back from an organisation to the overview."""
        self._view_org_id = ""
        self.org_label = ""
        return rx.redirect(routes.ADMIN)

    @rx.event
    def set_timezone(self, tz: str):
        """Remember the browser's time zone (sent once per page by the frame)."""
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            return
        self._tz = str(tz)

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self._tz or "UTC")

    @rx.var
    def oidc_enabled(self) -> bool:
        return auth.oidc_enabled()
