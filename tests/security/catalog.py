"""The app's own lists of event handlers and API routes, so every new one is attacked without being named."""

from __future__ import annotations

import inspect
import typing
import uuid
from dataclasses import dataclass
from typing import Any

from fleet_dashboard.core import routes
from fleet_dashboard.web.access import Rule, rule_for

# The page each state lives on, for the page path a crafted event claims; a new state falls back to "/".
STATE_PAGES = {
    "ConnectState": routes.CONNECT, "SendState": routes.SEND, "TemplatesState": routes.TEMPLATES,
    "HistoryState": routes.HISTORY, "MessageState": routes.MESSAGE, "QueueState": routes.QUEUE,
    "AuditState": routes.AUDIT, "SettingsState": routes.SETTINGS, "AdminState": routes.ADMIN,
    "OidcState": routes.OIDC_CALLBACK, "AuthState": routes.HOME,
    "OptOutsState": routes.OPT_OUTS, "ConversationState": routes.CONVERSATION,
    "OrganizationsState": routes.ORGANIZATIONS, "PeopleState": routes.PEOPLE, "AccountState": routes.ACCOUNT,
    "InviteState": routes.INVITE, "SendingState": routes.SENDING, "AlertState": routes.SENDING,
}


@dataclass(frozen=True)
class HandlerInfo:
    """One registered event handler, as the browser can name it."""

    full_name: str  # what goes on the wire
    state: type
    name: str
    handler: Any
    rule: Rule | None
    background: bool
    params: tuple[tuple[str, Any, bool], ...]  # (name, annotation, required)

    @property
    def label(self) -> str:
        return f"{self.state.__name__}.{self.name}"

    @property
    def is_app(self) -> bool:
        return self.state.__module__.startswith("fleet_dashboard.")

    def page(self, message_id: str | None = None) -> str:
        path = STATE_PAGES.get(self.state.__name__, routes.HOME)
        return path.replace("[message_id]", message_id or str(uuid.uuid4())).replace("[phone]", "%2B201001234567")


def event_handlers() -> list[HandlerInfo]:
    """Every handler Reflex registered for the assembled app, its generated ones included."""
    import fleet_dashboard.fleet_dashboard  # noqa: F401  (assembles the app and registers every state)
    from fleet_dashboard.web import reflex_internals

    out = []
    for full_name, (handler, state) in sorted(reflex_internals.registered_handlers().items()):
        fn = handler.fn
        try:
            hints = typing.get_type_hints(inspect.unwrap(fn))
        except Exception:  # noqa: BLE001  (an unresolvable hint only means "any")
            hints = {}
        params = tuple((p.name, hints.get(p.name, Any), p.default is p.empty)
                       for p in list(inspect.signature(fn).parameters.values())[1:])
        out.append(HandlerInfo(full_name=full_name, state=state, name=fn.__name__, handler=handler,
                               rule=rule_for(handler, state), background=handler.is_background, params=params))
    return out


@dataclass(frozen=True)
class RouteInfo:
    """One API route and the scope and matrix action its dependency declares."""

    path: str
    methods: frozenset[str]
    scope: str | None
    action: Any
    route: Any


def _declared(dependant) -> tuple[str | None, Any]:
    for dep in dependant.dependencies:
        call = dep.call
        if getattr(call, "action", None) is not None:
            return call.scope, call.action
        found = _declared(dep)
        if found[1] is not None:
            return found
    return None, None


def api_routes() -> list[RouteInfo]:
    """Every route of a freshly built API app (with the settings in force)."""
    from fastapi.routing import iter_route_contexts

    from fleet_dashboard.api.app import create_api
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    out = []
    for context in iter_route_contexts(create_api().routes):  # included routers flattened, with prefixes
        path, route = context.path or "", context.original_route
        if not path.startswith("/api"):
            continue
        dependant = getattr(route, "dependant", None)
        scope, action = _declared(dependant) if dependant is not None else (None, None)
        out.append(RouteInfo(path=path, methods=frozenset(getattr(route, "methods", None) or ()), scope=scope,
                             action=action, route=route))
    return out
