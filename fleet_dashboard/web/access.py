"""The dashboard's one authorization chokepoint: every Reflex event passes here before its handler runs.

A handler is reachable only when it declares who may call it, right under `@rx.event`:

    @rx.event
    @allow(Action.view)         # a matrix column (accounts/permissions.py); the role must have it
    def load(self): ...

    @allow_anyone               # login, logout, the time zone: no sign-in needed
    @allow_signed_in            # any valid sign-in, no organisation needed

`AccessMiddleware` runs for browser events, events chained from other handlers and background events
alike (Reflex calls app middleware before every handler, background ones included). An undeclared
handler -- Reflex's generated `setvar` among them -- is refused. The handler then reads the checked
caller with `current_caller()` / `AuthState._authorize()`; background watchers re-check it on every
batch through `AuthState._still_admitted()`.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import time
import types
import typing
import uuid
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import redis.exceptions
import reflex as rx
import sqlalchemy.exc
from reflex.event import EventSpec
from reflex.middleware import Middleware
from reflex.state import StateUpdate

from fleet_dashboard import strings
from fleet_dashboard.accounts.models import Role
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.accounts.signin import SIGNIN_COOKIE
from fleet_dashboard.core import offload, routes
from fleet_dashboard.core.errors import DomainError, PermissionDenied
from fleet_dashboard.web import reflex_internals

log = logging.getLogger(__name__)

ATTR = "__fd_access__"
# A string longer than this in any event payload is refused before a handler sees it.
MAX_STRING = 64 * 1024


@dataclass(frozen=True)
class Ctx:
    """What one event may touch: always re-derived from the signed token, never from the client."""

    user_id: uuid.UUID
    role: str
    org_id: uuid.UUID | None
    read_only: bool
    home_org_id: uuid.UUID | None = None
    signin_version: int = 0  # the users.session_version the token was issued under
    # The tab's client address (TRUSTED_PROXIES honoured), for the audit rows the services write.
    ip_address: str | None = None
    # A break-glass sign-in: the super_admin acting as this user, named in every audit row it writes.
    break_glass_by: uuid.UUID | None = None

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.super_admin.value

    @property
    def actor(self) -> Actor:
        """The caller as the services know it, to pass to every service that checks the matrix."""
        if self.break_glass_by is not None:
            return Actor(role=self.role, org_id=self.home_org_id, user_id=self.user_id, ip_address=self.ip_address,
                         via="break_glass", credential=f"super_admin:{self.break_glass_by}")
        return Actor(role=self.role, org_id=self.home_org_id, user_id=self.user_id, ip_address=self.ip_address,
                     via="dashboard")


class NotSignedIn(Exception):
    """No valid sign-in: the browser goes to the login page."""


class NoOrgChosen(Exception):
    """A super_admin opened an organisation page without picking an organisation."""


@dataclass(frozen=True)
class Rule:
    """Who may call one handler: anyone, any signed-in person, or the roles the matrix gives an action."""

    kind: str  # "anyone" | "signed_in" | "action" | "framework"
    action: Action | None = None

    def __str__(self) -> str:
        return self.action.value if self.action else self.kind


ANYONE, SIGNED_IN, FRAMEWORK, NOBODY = Rule("anyone"), Rule("signed_in"), Rule("framework"), Rule("nobody")

# Reflex's own handlers the page runtime sends: hydration, on_load dispatch, client storage (the
# sign-in cookie reaches the state this way; it is verified on every later event), error reports.
# `setvar`, which Reflex generates on every state and which would call any `set_*` method by name, is
# declared NOBODY: no page uses it. Anything else without a declaration is refused as well.
FRAMEWORK_HANDLERS = frozenset({
    ("State", "hydrate"), ("State", "hydrate_and_load"), ("State", "set_is_hydrated"),
    ("OnLoadInternalState", "on_load_internal"), ("OnLoadInternalState", "set_is_hydrated"),
    ("UpdateVarsInternalState", "update_vars_internal"),
    ("FrontendEventExceptionState", "handle_frontend_exception"),
})

# A (re)connecting page gets the whole state tree back: it must not carry what another (or a dead) sign-in loaded.
HYDRATE_HANDLERS = frozenset({"hydrate", "hydrate_and_load"})

_CALLER: contextvars.ContextVar[tuple[Rule, Ctx] | None] = contextvars.ContextVar("fd_caller", default=None)


def current_caller() -> Ctx | None:
    """The caller the chokepoint admitted for the event this task is running, if any."""
    admitted = _CALLER.get()
    return admitted[1] if admitted else None


def current_rule() -> Rule | None:
    """The declaration the running event was admitted under."""
    admitted = _CALLER.get()
    return admitted[0] if admitted else None


def admit(rule: Rule, ctx: Ctx | None) -> None:
    """Remember the admitted caller for the rest of this event's task."""
    _CALLER.set((rule, ctx) if ctx is not None else None)


# ---- declarations ----

def _outcome(state: Any, exc: Exception):
    """A refused or failed handler becomes a login redirect or an Arabic toast, never a traceback."""
    if isinstance(exc, NotSignedIn):
        return rx.redirect(routes.login_url(state.router.url.path))
    if isinstance(exc, NoOrgChosen):
        return rx.redirect(routes.ADMIN)
    if isinstance(exc, PermissionDenied) and exc.code == "forbidden" and not getattr(exc, "audited", False):
        state._audit_service_refusal(exc)  # a service said no where the declaration said yes
    return rx.toast.error(strings.error_text(exc.code, **exc.params), duration=6000)


def guarded(fn):
    """Turn NotSignedIn / NoOrgChosen / DomainError out of a handler into a redirect or a toast.

    A synchronous handler (database reads and writes, CSV, hashing) becomes an async one that runs on the
    offload pool (offload.py): the event loop keeps serving every other tab while it works. Its state is
    the one Reflex locked for this event, so no other event touches it meanwhile."""
    caught = (NotSignedIn, NoOrgChosen, DomainError)
    if inspect.isasyncgenfunction(fn):
        return fn
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        async def generator_handler(self, *args, **kwargs):
            try:
                async for event in offload.iterate_sync(lambda: fn(self, *args, **kwargs)):
                    yield event
            except caught as exc:
                yield _outcome(self, exc)
        return generator_handler
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_handler(self, *args, **kwargs):
            try:
                return await fn(self, *args, **kwargs)
            except caught as exc:
                return _outcome(self, exc)
        return async_handler

    def run(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except caught as exc:
            return _outcome(self, exc)

    @functools.wraps(fn)
    async def offloaded_handler(self, *args, **kwargs):
        return await offload.run_sync(run, self, *args, **kwargs)
    return offloaded_handler


def _declare(rule: Rule):
    def wrap(fn):
        handler = guarded(fn)
        setattr(handler, ATTR, rule)
        return handler

    return wrap


def allow(action: Action):
    """Reachable by the roles the permission matrix gives `action`, inside their organisation."""
    return _declare(Rule("action", Action(action)))


allow_anyone = _declare(ANYONE)
allow_signed_in = _declare(SIGNED_IN)


def rule_for(handler: Any, state_cls: type | None = None) -> Rule | None:
    """The declaration of a registered handler; None (undeclared) and NOBODY are both refused."""
    rule = getattr(handler.fn, ATTR, None)
    if rule is not None:
        return rule
    if handler.fn.__name__ == "setvar" and handler.fn.__qualname__.startswith("EventHandlerSetVar."):
        return NOBODY
    owner = state_cls or getattr(handler, "state", None)
    if owner is not None and owner.__module__ == "reflex.state" and \
            (owner.__name__, handler.fn.__name__) in FRAMEWORK_HANDLERS:
        return FRAMEWORK
    return None


# ---- payloads: the shape a handler's signature promises, checked before it runs ----

def _fits(value: Any, hint: Any) -> bool:
    if hint in (Any, inspect.Parameter.empty, object):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    if hint is list or origin is list:
        args = typing.get_args(hint)
        return isinstance(value, list) and (not args or all(_fits(v, args[0]) for v in value))
    return True  # a type this check does not know: the handler's own code decides


def _too_big(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_STRING
    if depth > 4:
        return True
    if isinstance(value, dict):
        return len(value) > 200 or any(_too_big(k, depth + 1) or _too_big(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return len(value) > 200 or any(_too_big(v, depth + 1) for v in value)
    return False


def payload_problem(handler: Any, payload: Any) -> str | None:
    """Why this payload cannot be a call of the handler (unknown, missing or mistyped arguments), or None."""
    if not isinstance(payload, dict):
        return "the payload is not an object"
    fn = handler.fn
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]
        hints = typing.get_type_hints(inspect.unwrap(fn))
    except (TypeError, ValueError, NameError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    names = {p.name for p in params}
    unknown = sorted(set(payload) - names)
    if unknown:
        return f"unknown argument(s) {', '.join(map(str, unknown))[:80]}"
    missing = [p.name for p in params if p.default is p.empty and p.name not in payload]
    if missing:
        return f"missing argument(s) {', '.join(missing)}"
    for name, value in payload.items():
        if _too_big(value):
            return f"argument {name} is too large"
        if not _fits(value, hints.get(name, Any)):
            return f"argument {name} has the wrong type ({type(value).__name__})"
    return None


def _hydrating_token(auth: Any, payload: dict) -> str:
    """The sign-in token the page hydrates with: the cookie it sends, else the one the tab held."""
    for key, value in (payload.get("vars") or {}).items():
        if str(key).removesuffix("_rx_state_") == f"{auth.get_full_name()}.token":
            return str(value or "")
    return "" if "vars" in payload else auth.token


def _client_storage_problem(payload: dict) -> str | None:
    """Reflex's hydrate and storage events set browser-stored vars by name: only the ones that exist."""
    variables = payload.get("vars")
    if not variables:
        return None
    for key in variables:
        state_name, _, var = str(key).rpartition(".")
        if not reflex_internals.is_client_storage(state_name, var.removesuffix("_rx_state_")):
            return f"unknown client storage var {str(key)[:80]}"
    return None


def frontend_exception_warning(exception: Exception) -> None:
    """A browser reports its own error (or a script sends one): a WARNING, cut short, never a server ERROR."""
    log.warning("frontend exception: %s", str(exception)[:500])


def _unavailable(exception: BaseException) -> bool:
    """The database or Redis was away (a restart, a failover): expected, and over by itself."""
    seen: BaseException | None = exception
    while seen is not None:
        if isinstance(seen, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError
                      | sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def backend_exception_toast(exception: Exception) -> EventSpec:
    """An event failed on the server: an Arabic toast, not Reflex's English one. A dependency that is away for a
    moment says so (and logs one WARNING line); anything else is an ERROR with its traceback."""
    if _unavailable(exception):
        log.warning("an event failed while a dependency was away: %s", str(exception)[:300])
        code = "temporarily_unavailable"
    else:
        log.error("an event failed on the server", exc_info=exception)
        code = "internal"
    return rx.toast.error(strings.error_text(code), id="backend_error", position="bottom-left")


# ---- the chokepoint ----

# A tab whose state was lost is asked to hydrate again at most this often.
REPLAY_EVERY_SECONDS = 10.0


class AccessMiddleware(Middleware):
    """Runs before every event handler: refuse undeclared handlers, malformed payloads and unentitled callers.

    `auth_state` is the state that knows the sign-in (web/state/auth.AuthState): its `_admit` decides."""

    def __init__(self, auth_state: type) -> None:
        self.auth_state = auth_state

    async def preprocess(self, app: Any, state: Any, event: Any) -> StateUpdate | None:
        admit(ANYONE, None)
        registered = reflex_internals.registered_handler(event.name)
        if registered is None:
            log.warning("refused event %s: no such handler", event.name[:200])
            return StateUpdate()
        handler, owner = registered
        rule = rule_for(handler, owner)
        name = f"{owner.__name__}.{handler.fn.__name__}"
        if rule is FRAMEWORK:
            problem = payload_problem(handler, event.payload) or _client_storage_problem(event.payload)
            if problem:
                log.warning("refused event %s: %s", name, problem)
                return StateUpdate()
            if handler.fn.__name__ in HYDRATE_HANDLERS:
                auth = await state.get_state(self.auth_state)
                await auth._forget_other_signins_data(_hydrating_token(auth, event.payload))
            return None
        if rule is None or rule is NOBODY:
            log.warning("refused event %s: %s", name, "nobody may call it" if rule else "it declares no permission")
            return StateUpdate()
        problem = payload_problem(handler, event.payload)
        if problem:
            log.warning("refused event %s: %s", name, problem)
            return await self._answer(state, name, [rx.toast.error(strings.error_text("invalid"), duration=6000)])
        auth = await state.get_state(self.auth_state)
        try:
            # The caller is re-derived from the database on every event: on the offload pool, not the loop.
            ctx = await offload.run_sync(auth._admit, rule, handler=name)
        except (NotSignedIn, NoOrgChosen, DomainError) as exc:
            if isinstance(exc, NotSignedIn) and self._state_lost(auth, event):
                # The tab's state is gone (Redis restarted empty) but the browser still holds the sign-in: it
                # hydrates again from its cookie, then this very event runs, so the click is not lost.
                log.warning("event %s came to a lost state: the tab hydrates again and the event is replayed", name)
                return await self._answer(state, name,
                                          reflex_internals.rehydrate_then_replay(event.name, event.payload or {}))
            return await self._answer(state, name, await offload.run_sync(_outcome, auth, exc))
        admit(rule, ctx)
        return None

    _replayed: dict[str, float] = {}

    def _state_lost(self, auth: Any, event: Any) -> bool:
        """The state holds no sign-in but the event's socket carried the sign-in cookie: the state was lost, not
        signed out (a sign-out removes the cookie). Once per tab in a while, so a bad cookie cannot loop."""
        if auth.token:
            return False
        cookies = SimpleCookie()
        try:
            cookies.load(((event.router_data or {}).get("headers") or {}).get("cookie") or "")
        except CookieError:
            return False
        if not (SIGNIN_COOKIE in cookies and cookies[SIGNIN_COOKIE].value):
            return False
        token, now = str(getattr(event, "token", "") or auth.router.session.client_token), time.monotonic()
        if now - self._replayed.get(token, float("-inf")) < REPLAY_EVERY_SECONDS:
            return False
        for old in [t for t, at in self._replayed.items() if now - at > REPLAY_EVERY_SECONDS]:
            del self._replayed[old]
        self._replayed[token] = now
        return True

    @staticmethod
    async def _answer(state: Any, name: str, events: Any) -> StateUpdate:
        """Send the refusal (a redirect or a toast, and any state the check cleared) instead of running the handler."""
        await reflex_internals.answer_instead(events, handler_name=name, state=state)
        return StateUpdate()
