"""Deny by default, checked on the app's own lists: every event handler and every API route says who may call it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.web.access import ANYONE, FRAMEWORK, NOBODY, SIGNED_IN, rule_for
from tests.security.catalog import api_routes, event_handlers

ROOT = Path(__file__).resolve().parents[2]
# Routes anyone may call: liveness, the Prometheus scrape (its own token, see docs/API.md) and the docs.
PUBLIC_ROUTES = {"/api/health", "/api/metrics", "/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect",
                 "/api/docs/static", "/api/{rest:path}"}
# The one background handler open to anyone: the login form's lock counting down (test_wire_signin.py checks that
# a script sending it again and again still runs one loop per tab).
LOGIN_COUNTDOWN = "AuthState.login_countdown"
# The simulator's control routes exist only in simulator mode and are guarded on their own.
SEPARATELY_GUARDED = ("/api/simulator/",)


def test_every_event_handler_of_every_state_declares_who_may_call_it():
    handlers = event_handlers()
    assert len(handlers) > 60, "the app's handler list looks wrong"
    undeclared = [h.label for h in handlers if h.rule is None]
    assert not undeclared, f"handlers without a declaration (add @allow(...) under @rx.event): {undeclared}"
    # Reflex generates `setvar` on every state: refused outright, and nothing else is refused silently.
    assert {h.name for h in handlers if h.rule is NOBODY} == {"setvar"}
    assert all(h.rule is NOBODY for h in handlers if h.name == "setvar")
    # Only Reflex's own machinery is "framework"; every app handler names a column or a session rule.
    for h in handlers:
        if h.rule is FRAMEWORK:
            assert h.state.__module__ == "reflex.state", h.label
        elif h.state.__module__.startswith("fleet_dashboard."):
            assert h.rule in (ANYONE, SIGNED_IN, NOBODY) or h.rule.action in Action, h.label


def test_only_the_sign_in_handlers_and_the_time_zone_are_open_to_anyone():
    open_handlers = {h.label for h in event_handlers() if h.rule is ANYONE}
    assert open_handlers == {"AuthState.login", "AuthState.login_page_load", "AuthState.logout",
                             "AuthState.set_timezone", "OidcState.begin", "OidcState.finish",
                             "LinkLoginState.use_link", "InviteState.load", "InviteState.accept",
                             "AuthState.login_countdown"}


def test_background_watchers_declare_a_column():
    watchers = [h for h in event_handlers() if h.background]
    assert {h.label for h in watchers} >= {"ConnectState.watch", "HistoryState.watch", "QueueState.watch",
                                           "MessageState.watch", "AdminState.watch", "SendState.follow_result",
                                           "ConversationState.watch"}
    for h in watchers:
        if h.label == LOGIN_COUNTDOWN:  # the login form's lock, counting down: one loop per tab at most
            assert h.rule is ANYONE
            continue
        assert h.rule not in (None, ANYONE, NOBODY) and h.rule.kind == "action", h.label
    assert next(h for h in watchers if h.label == "AdminState.watch").rule.action is Action.overview


def test_a_handler_without_a_declaration_is_refused():
    class Handler:  # what Reflex registers for a plain method with no declaration
        def fn(self):
            return None

    assert rule_for(Handler(), None) is None


@pytest.mark.parametrize("mode", ["neonize", "simulator"])
def test_every_api_route_declares_its_matrix_action(api_env, mode):
    api_env.setenv("WHATSAPP_BACKEND", mode)
    routes = api_routes()
    assert routes, "no API routes found"
    missing = []
    for route in routes:
        if route.path in PUBLIC_ROUTES or route.path.startswith(SEPARATELY_GUARDED):
            continue
        if route.action is None:
            missing.append(f"{sorted(route.methods)} {route.path}")
    assert not missing, f"API routes without require(scope, action): {missing}"


def test_no_api_route_exposes_a_dashboard_only_column(api_env):
    exposed = {r.action for r in api_routes() if r.action is not None}
    assert exposed == {Action.view, Action.connect, Action.logout, Action.send, Action.schedule, Action.cancel,
                       Action.retry, Action.opt_outs, Action.organizations, Action.sending}
    # retry_unknown is the retry route on an `unknown` row; the rest are dashboard-only.
    assert not exposed & {Action.templates, Action.export, Action.audit, Action.api_keys, Action.webhooks,
                          Action.team, Action.overview}


def test_the_matrix_is_complete_and_docs_print_it_exactly():
    assert set(permissions.MATRIX) == set(Action)
    for action, roles in permissions.MATRIX.items():
        assert roles <= set(permissions.ROLES), action
    # The super_admin writes nothing inside an organisation: every column it has is a read, except running
    # the organisations themselves.
    assert {a for a in Action if permissions.can("super_admin", a)} <= permissions.READS | {Action.organizations}
    doc = (ROOT / "docs/SECURITY.md").read_text()
    table = doc.split("<!-- matrix:start -->\n", 1)[1].split("\n<!-- matrix:end -->", 1)[0]
    assert table == permissions.matrix_markdown()


def test_routes_are_fastapi_routes(api_env):
    assert all(isinstance(r.route, APIRoute) or r.path in PUBLIC_ROUTES for r in api_routes())
