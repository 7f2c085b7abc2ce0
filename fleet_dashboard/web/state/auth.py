"""The signed-in person: sign-in cookie, login and logout, and the server-side role check every page uses."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import audit, localtime, orgs, permissions, signin, users
from fleet_dashboard.accounts.models import Role, User
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import offload, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import PermissionDenied
from fleet_dashboard.core.ratelimit import client_address
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.messaging import inbound
from fleet_dashboard.web.access import (  # noqa: F401  (re-exported: pages and states import them from here)
    ANYONE,
    SIGNED_IN,
    Ctx,
    NoOrgChosen,
    NotSignedIn,
    Rule,
    allow,
    allow_anyone,
    allow_signed_in,
    current_caller,
    current_rule,
    guarded,
)

MANAGERS = {Role.owner.value, Role.admin.value}
# A countdown loop that has not beaten for this long is gone (its worker died): the next event may start one.
COUNTDOWN_STALE_SECONDS = 3.0
# How stale the navigation's unread-replies badge may get on pages that do not follow replies live.
UNREAD_EVERY = 10.0


def zone_caption(zone: ZoneInfo) -> str:
    """`الرياض (UTC+03:00)`: the zone by its Arabic city name (else its IANA name), its offset now kept left to
    right inside the Arabic caption."""
    return f"{strings.zone_name(zone.key)} (\u2066{localtime.offset_label(datetime.now(UTC).astimezone(zone))}\u2069)"


class AuthState(rx.State):
    """Parent of every page state: the sign-in cookie, the identity the pages show, and the check behind
    the chokepoint (web/access.py) that every event passes."""

    token: str = rx.Cookie("", name=signin.SIGNIN_COOKIE, max_age=get_settings().session_ttl_hours * 3600,
                           same_site="strict", secure=get_settings().cookie_secure)
    signed_in: bool = False
    user_label: str = ""
    role_label: str = ""
    org_label: str = ""
    is_super_admin: bool = False
    can_manage: bool = False
    read_only: bool = False
    # The permission matrix's row for this person (action -> allowed), so pages offer only what is allowed.
    may: dict[str, bool] = {}
    login_error: str = ""
    login_busy: bool = False
    # Seconds until the sign-in limits take another attempt from this tab's address and account (0: now).
    login_retry_seconds: int = 0
    # Why this tab was sent to the login page, when its sign-in ended elsewhere (another device, a deactivation).
    login_note: str = ""
    _ended_reason: str = ""
    # The sign-in limits' lock ends at this wall-clock time; the refusal counts down to it.
    _locked_until: float = 0.0
    _counting: bool = False
    # When the tab's countdown loop last ran: one loop per tab, however often a script sends the event (it is open
    # to anyone). A loop lost with its worker stops beating, so another may start after COUNTDOWN_STALE_SECONDS.
    _countdown_beat: float = 0.0
    # A super_admin's chosen organisation; only the admin pages set it, after checking the role.
    _view_org_id: str = ""
    # Whose name org_label shows, so it is read once per organisation, not on every event.
    _label_org_id: str = ""
    # The browser's IANA time zone (kept for reference only: the dashboard shows and reads the organisation's).
    _tz: str = ""
    # Customers' replies nobody of the organisation has read yet: the navigation's badge (refreshed at most every
    # UNREAD_EVERY seconds by any event, at once by the history and conversation pages).
    unread_replies: int = 0
    _unread_at: float = 0.0
    _unread_org: str = ""
    # The organisation's zone as the pages caption it, e.g. "الرياض (UTC+03:00)" (zone_caption).
    zone_label: str = ""
    _zone_key: str = ""
    # The sign-in ("user:version") whose refusal this tab already audited: one row per tab and sign-in.
    _refused_signin: str = ""
    # Whose sign-in ("user:version") loaded the data this tab's states hold; a page hydrating under any other
    # sign-in (logged out, expired, another person) gets them all reset first.
    _data_owner: str = ""

    # ---- identity ----
    def _signin_user(self) -> tuple[User | None, str]:
        """The person this tab's token speaks for, and why not when it speaks for nobody."""
        return signin.signin_user(self.token)

    def _user(self) -> User | None:
        return self._signin_user()[0]

    def _signed_in_ctx(self, *, handler: str = "") -> Ctx:
        """The caller behind a live sign-in (org not yet required); raises NotSignedIn and audits a dead one."""
        user, verdict = self._signin_user()
        if user is None:
            if verdict != "anonymous":
                self._audit_refused_signin(verdict, handler)
            self._clear_identity()
            raise NotSignedIn()
        org_id = user.org_id
        if user.role == Role.super_admin.value:
            org_id = uuid.UUID(self._view_org_id) if self._view_org_id else None
        self._show_identity(user, org_id)
        self._set(_data_owner=f"{user.id}:{user.session_version}")
        claims = signin.read_token(self.token)
        ctx = Ctx(user_id=user.id, role=user.role, org_id=org_id, read_only=user.role == Role.super_admin.value,
                  home_org_id=user.org_id, signin_version=user.session_version,
                  ip_address=self._client_ip() or None, break_glass_by=claims.break_glass_by if claims else None)
        self._refresh_unread(ctx)
        return ctx

    def _refresh_unread(self, ctx: Ctx, *, now: bool = False) -> None:
        """Count the organisation's unread replies for the navigation's badge: one indexed count, at most every
        UNREAD_EVERY seconds per tab unless `now`."""
        if ctx.org_id is None:
            self._set(unread_replies=0, _unread_org="")
            return
        moment = time.monotonic()
        if not now and self._unread_org == str(ctx.org_id) and moment - self._unread_at < UNREAD_EVERY:
            return
        with session_scope() as session:
            count = inbound.unread_count(session=session, org_id=ctx.org_id, actor=ctx.actor)
        self._set(unread_replies=count, _unread_org=str(ctx.org_id))
        self._unread_at = moment

    @rx.var
    def unread_label(self) -> str:
        """The badge's text: the count, or 99+."""
        return "99+" if self.unread_replies > 99 else str(self.unread_replies)

    def _admit(self, rule: Rule, *, handler: str = "") -> Ctx | None:
        """The chokepoint's check: the caller `rule` admits, or NotSignedIn / NoOrgChosen / PermissionDenied."""
        if rule.kind == "anyone":
            return None
        ctx = self._signed_in_ctx(handler=handler)
        if rule.kind == "action":
            self._require(ctx, rule.action)
        return ctx

    def _require(self, ctx: Ctx, action: Action) -> None:
        if not permissions.can(ctx.role, action):
            self._refuse(ctx, action.value)
        if action not in permissions.ORGLESS and ctx.org_id is None:
            raise NoOrgChosen()

    def _refuse(self, ctx: Ctx, action: str):
        self._audit_denied(ctx, action)
        exc = PermissionDenied(f"{ctx.role} may not {action}")
        exc.audited = True
        raise exc

    def _authorize(self, action: str | Action | None = None, *, manage: bool = False, write: bool = False,
                   org: bool = True) -> Ctx:
        """The caller of this event as the chokepoint admitted it (re-derived when there is none).

        `action` may name a further matrix column to require; `manage`/`write` keep the older checks."""
        ctx = current_caller() or self._signed_in_ctx()
        if isinstance(action, Action):
            self._require(ctx, action)
        if (manage and ctx.role not in MANAGERS) or ((manage or write) and ctx.read_only):
            self._refuse(ctx, str(action or "unknown"))
        if org and ctx.org_id is None:
            raise NoOrgChosen()
        return ctx

    def _still_admitted(self, started: Ctx, rule: Rule | None) -> bool:
        """A watcher's re-check before each batch: the same person, sign-in, role and organisation, still allowed."""
        user, verdict = self._signin_user()
        ok = (user is not None and user.id == started.user_id and user.role == started.role
              and user.org_id == started.home_org_id and user.session_version == started.signin_version
              and (rule is None or rule.kind != "action" or permissions.can(user.role, rule.action)))
        if ok and user.role == Role.super_admin.value:
            ok = (self._view_org_id or None) == (str(started.org_id) if started.org_id else None)
        if not ok:
            if verdict not in ("anonymous", users.SigninVerdict.ok):
                self._audit_refused_signin(verdict, "watch")
            self._clear_identity()
        return ok

    async def _forget_other_signins_data(self, token: str) -> None:
        """Before a page hydrates: reset every page state unless its data was loaded by this same live sign-in."""
        owner = await offload.run_sync(signin.signin_owner, token)
        if owner == self._data_owner:
            return
        if self._data_owner:  # the sign-in that loaded this tab's data: ended since? then this is its refusal
            verdict = await offload.run_sync(signin.owner_verdict, self._data_owner)
            if verdict != users.SigninVerdict.ok:
                await offload.run_sync(self._audit_refused_signin, verdict, "hydrate",
                                       user_id=uuid.UUID(self._data_owner.split(":")[0]), key=self._data_owner)
        await self._wipe_tab()
        self._data_owner = owner

    async def _wipe_tab(self) -> None:
        """Reset this tab's states, every page's included (loaded first, so none is missed); keep the time zone."""
        pending = list(self.get_substates())
        while pending:
            cls = pending.pop()
            await self.get_state(cls)
            pending.extend(cls.get_substates())
        tz, refused, ended = self._tz, self._refused_signin, self._ended_reason
        self.reset()
        self._tz, self._refused_signin, self._ended_reason = tz, refused, ended

    def _forget_private(self) -> None:
        """What a page clears when its watcher loses the caller (a QR, say); pages override it."""

    def _set(self, **values) -> None:
        # Every event passes here: assign only what changed, so an unchanged identity adds nothing to the delta.
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _show_identity(self, user: User, org_id: uuid.UUID | None) -> None:
        super_admin = user.role == Role.super_admin.value
        self._set(signed_in=True, user_label=user.full_name or user.email,
                  role_label=strings.ROLES.get(user.role, user.role), is_super_admin=super_admin,
                  can_manage=user.role in MANAGERS, read_only=super_admin, may=permissions.allowed_actions(user.role))
        if org_id is None:
            self._set(org_label="", _label_org_id="", zone_label=zone_caption(localtime.zone_of(None)))
            return
        if self._label_org_id == str(org_id) and self.org_label:
            return  # every event passes here: read the organisation's name once, not per click
        with session_scope() as session:
            org = orgs.get_org(session=session, org_id=org_id)
            self.org_label = org.name
            self.zone_label = zone_caption(localtime.zone_of(org))
        self._label_org_id = str(org_id)

    def _clear_identity(self) -> None:
        self._set(signed_in=False, is_super_admin=False, can_manage=False, read_only=False, user_label="",
                  role_label="", org_label="", _label_org_id="", zone_label="", may={})

    def _audit_refused_signin(self, reason: str, handler: str, *, user_id: uuid.UUID | None = None,
                               key: str | None = None) -> None:
        """A genuine token that no longer opens anything: logged out elsewhere, deactivated, or expired."""
        key = key or signin.token_owner(self.token) or self.token
        self._ended_reason = reason  # the login page this tab is sent to says why
        if self._refused_signin == key:
            return
        self._refused_signin = key
        user_id = user_id or signin.token_user_id(self.token)
        with session_scope() as session:
            user = session.get(User, user_id) if user_id else None
            audit.record(session=session, org_id=user.org_id if user else None, actor_id=user.id if user else None,
                         event_type="session_refused",
                         event_data={"reason": reason, "handler": handler, "page": self.router.url.path},
                         ip_address=self._client_ip())

    def _audit_denied(self, ctx: Ctx, action: str) -> None:
        # A refused event is worth a row: it is either a stale button or someone crafting events.
        with session_scope() as session:
            audit.record(session=session, org_id=ctx.org_id or ctx.home_org_id, actor_id=ctx.user_id,
                         event_type="access_denied",
                         event_data={"action": action, "role": ctx.role, "page": self.router.url.path},
                         ip_address=self._client_ip())

    def _audit_service_refusal(self, exc: PermissionDenied) -> None:
        ctx = current_caller()
        if ctx is not None:
            self._audit_denied(ctx, str(exc.params.get("action") or "unknown"))

    def _client_ip(self) -> str:
        """The tab's client address, by the one rule every audit row and limit uses (TRUSTED_PROXIES)."""
        raw = self.router.headers.raw_headers
        peer = raw.get("asgi-scope-client")
        if not peer:  # no socket scope recorded: Reflex's own reading, which follows the same setting
            return self.router.session.client_ip or ""
        return client_address(peer, raw.get("x-forwarded-for"))

    def _link_base(self) -> str:
        """The origin this tab reached us at, for one-time links when PUBLIC_URL is not set."""
        origin = str(self.router.url.origin or "")
        return origin.rstrip("/") if origin.startswith(("http://", "https://")) else ""

    # ---- events ----
    @rx.event
    @allow_anyone
    def login_page_load(self):
        """Send a person who is already signed in straight on."""
        self.login_error = ""
        self.login_busy = False
        self.login_retry_seconds = 0
        self._counting = False
        if self._user() is not None:
            return rx.redirect(routes.safe_next(self.router.url.query_parameters.get("next")))
        reason, self._ended_reason = self._ended_reason, ""
        self.login_note = strings.SIGNIN_ENDED.get(reason, strings.SIGNIN_ENDED_OTHER) if reason else ""

    @rx.event
    @allow_anyone
    async def login(self, form_data: dict):
        """Check the password (argon2), count failures, and issue a signed sign-in token."""
        email = str(form_data.get("email", ""))[:320].strip()
        password = str(form_data.get("password", ""))[:1024]
        self.login_busy = False
        # argon2, the limiter (Redis when configured) and the audit rows run on the offload pool, not the loop.
        verdict, user, wait = await offload.run_sync(self._check_password, email, password, self._client_ip())
        self.login_retry_seconds = wait
        if verdict:
            self.login_error = strings.error_text(verdict, seconds=wait)
            if verdict == "login_locked" and wait > 0:
                self._locked_until = time.time() + wait
                if not self._counting:
                    self._counting = True
                    return AuthState.login_countdown
            return
        self.login_error = self.login_note = ""
        await self._start_signin(user)
        home = routes.ADMIN if user.role == Role.super_admin.value else routes.HOME
        next_path = routes.safe_next(self.router.url.query_parameters.get("next"))
        return rx.redirect(home if next_path == routes.HOME else next_path)

    @rx.event(background=True)
    @allow_anyone
    async def login_countdown(self):
        """The lock's refusal counts down its seconds, once a second, and goes when the form takes attempts again."""
        async with self:
            if not self.login_retry_seconds or time.time() - self._countdown_beat < COUNTDOWN_STALE_SECONDS:
                return  # nothing to count, or this tab's loop already runs: a repeated event starts none
            self._countdown_beat = time.time()
        try:
            while True:
                await asyncio.sleep(1.0)
                async with self:
                    self._countdown_beat = time.time()
                    if not self.login_retry_seconds:  # an attempt since was not locked out: its own message stays
                        self._counting = False
                        return
                    left = max(0, math.ceil(self._locked_until - time.time()))
                    self.login_retry_seconds = left
                    self.login_error = strings.error_text("login_locked", seconds=left) if left else ""
                    if not left:
                        self._counting = False
                        return
        finally:
            async with self:
                self._countdown_beat = 0.0

    @staticmethod
    def _check_password(email: str, password: str, ip: str) -> tuple[str, User | None, int]:
        """("", user, 0) for a right password; else the refusal's code and, when limited, the seconds to wait.

        The attempt is counted before the password is checked, so parallel guesses cannot all be checked."""
        limiter = signin.login_limiter()
        attempt = limiter.attempt(email=email, ip=ip)
        if not attempt.allowed:
            return "login_locked", None, attempt.retry_after
        with session_scope() as session:
            user = users.sign_in(session=session, email=email, password=password, ip_address=ip)
        if user is None:
            return "bad_credentials", None, 0
        limiter.succeeded(email=email, ip=ip)
        return "", user, 0

    async def _start_signin(self, user: User, *, ttl_seconds: int | None = None,
                             break_glass_by: uuid.UUID | None = None) -> None:
        """Sign this tab in as `user` (password, one-time link or OIDC): a token of their current sign-in version;
        a break-glass link's token is shorter-lived and names the super_admin acting through it."""
        owner = f"{user.id}:{user.session_version}"
        if self._data_owner and self._data_owner != owner:
            await self._wipe_tab()  # rows another sign-in loaded into this tab are not this person's
        self.token = signin.issue_token(user_id=user.id, signin_version=user.session_version, ttl_seconds=ttl_seconds,
                                        break_glass_by=break_glass_by)
        self._view_org_id = ""
        self._data_owner = owner
        await offload.run_sync(self._show_identity, user, user.org_id)

    @rx.event
    @allow_anyone
    async def logout(self):
        """End every sign-in of this person (all tabs, every copy of the token), audit, and forget this tab's data."""
        await offload.run_sync(self._end_signins)
        await self._wipe_tab()  # the token, the identity and every page's rows
        self._clear_identity()
        return rx.redirect(routes.LOGIN)

    def _end_signins(self) -> None:
        user = self._user()
        if user is not None:
            with session_scope() as session:
                users.log_out(session=session, user_id=user.id, ip_address=self._client_ip())

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

    def _zone(self) -> ZoneInfo:
        """The zone every time on the dashboard is shown and typed in: the organisation's (else DEFAULT_TIMEZONE).

        Read afresh (one primary-key lookup), so a change on the settings page shows on the next read."""
        ctx = current_caller()
        org_id = ctx.org_id if ctx is not None else None
        if ctx is None:  # not inside an admitted event: the organisation this tab's sign-in shows
            user = self._user()
            org_id = uuid.UUID(self._view_org_id) if self._view_org_id else (user.org_id if user else None)
        with session_scope() as session:
            zone = localtime.org_zone(session=session, org_id=org_id)
        self._set(zone_label=zone_caption(zone), _zone_key=zone.key)
        return zone

    def _zone_cached(self) -> ZoneInfo:
        """The zone the last `_zone()` read, for live updates that format many events (read once per page load)."""
        return ZoneInfo(self._zone_key) if self._zone_key else self._zone()

    @rx.var
    def oidc_enabled(self) -> bool:
        return signin.oidc_enabled()
