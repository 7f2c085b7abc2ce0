"""The pieces under the chokepoint, one by one: tokens and session versions, the matrix check, payload shapes,
and a watcher that re-checks its caller before anything is read."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace

import pytest

from fleet_dashboard.accounts import permissions, signin, users
from fleet_dashboard.accounts.permissions import SYSTEM, Action, Actor
from fleet_dashboard.core.errors import PermissionDenied, ValidationError
from fleet_dashboard.web import access, live
from fleet_dashboard.web.access import payload_problem


def test_a_token_names_the_session_version_and_expires(database_url):
    uid = uuid.uuid4()
    token = signin.issue_token(user_id=uid, signin_version=3)
    claims = signin.read_token(token)
    assert (claims.user_id, claims.signin_version) == (uid, 3)
    assert signin.token_owner(token) == f"{uid}:3"
    expired = signin.issue_token(user_id=uid, ttl_seconds=10, now=time.time() - 60)
    assert signin.read_token(expired) is None and signin.token_user_id(expired) == uid
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert signin.read_token(tampered) is None and signin.token_user_id(tampered) is None
    assert signin.read_token("not.a-token") is None and signin.token_owner("") == ""


def test_logout_password_and_deactivation_end_every_session(db, make_org, make_user):
    user = make_user("owner", make_org())
    token = signin.issue_token(user_id=user.id, signin_version=user.session_version)
    assert signin.signin_user(token)[1] == "ok"
    users.end_signins(session=db, user_id=user.id)
    db.commit()
    assert signin.signin_user(token) == (None, "ended")
    fresh = signin.issue_token(user_id=user.id, signin_version=1)
    assert signin.signin_user(fresh)[1] == "ok"
    with pytest.raises(ValidationError):
        users.set_password(session=db, user_id=user.id, password="short", actor=SYSTEM)
    users.set_password(session=db, user_id=user.id, password="a-new-horse-9", actor=SYSTEM)
    db.commit()
    assert signin.signin_user(fresh) == (None, "ended")
    assert users.authenticate(session=db, email=user.email, password="a-new-horse-9") is not None
    latest = signin.issue_token(user_id=user.id, signin_version=2)
    users.set_active(session=db, user_id=user.id, active=False, actor=SYSTEM)
    db.commit()
    assert signin.signin_user(latest) == (None, "deactivated")
    users.set_active(session=db, user_id=user.id, active=True, actor=SYSTEM)
    db.commit()
    assert signin.signin_user(latest) == (None, "ended"), "reactivation does not revive old sessions"


def test_require_follows_the_matrix_and_the_organisation():
    org, other = uuid.uuid4(), uuid.uuid4()
    member = Actor(role="member", org_id=org)
    permissions.require(member, Action.send, org)
    for action, target in ((Action.export, org), (Action.send, other), (Action.send, None)):
        with pytest.raises(PermissionDenied):
            permissions.require(member, action, target)
    root = Actor(role="super_admin")
    permissions.require(root, Action.view, other)
    permissions.require(root, Action.overview)
    with pytest.raises(PermissionDenied):
        permissions.require(root, Action.send, other)
    with pytest.raises(PermissionDenied):
        permissions.require(None, Action.view, org)  # no caller named: refused, not skipped
    permissions.require(SYSTEM, Action.team, other)
    assert not permissions.can("owner", "no_such_action") and not permissions.can("guest", Action.view)


def test_payload_shapes_are_checked_against_the_signature():
    class Handler:
        @staticmethod
        def fn(self, template_id: str, form_data: dict, flag: bool = False):
            return None

    h = Handler()
    assert payload_problem(h, {"template_id": "x", "form_data": {}}) is None
    assert "unknown" in payload_problem(h, {"template_id": "x", "form_data": {}, "extra": 1})
    assert "missing" in payload_problem(h, {"template_id": "x"})
    assert "wrong type" in payload_problem(h, {"template_id": 5, "form_data": {}})
    assert "wrong type" in payload_problem(h, {"template_id": "x", "form_data": {}, "flag": "yes"})
    assert "too large" in payload_problem(h, {"template_id": "x" * 70_000, "form_data": {}})
    assert "too large" in payload_problem(h, {"template_id": "x", "form_data": {str(i): i for i in range(300)}})
    assert payload_problem(h, ["not", "an", "object"]) == "the payload is not an object"


class FakeState:
    """Just enough of a background state for live.follow: a lock, a generation, a route and the re-check."""

    def __init__(self, verdicts: list[bool]) -> None:
        self._gen = 0
        self.router = SimpleNamespace(session=SimpleNamespace(client_token="t"), route_id="/connect")
        self.verdicts = verdicts
        self.calls: list[str] = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    def _still_admitted(self, started, rule) -> bool:
        self.calls.append("check")
        return self.verdicts.pop(0) if self.verdicts else False

    def _forget_private(self) -> None:
        self.calls.append("forget")


def _follow(state: FakeState, ctx) -> list[str]:
    async def run() -> None:
        access.admit(access.Rule("action", Action.view), ctx)
        await asyncio.wait_for(live.follow(
            state, gen_attr="_gen", route_ids=("/connect",), org_id=str(ctx.org_id) if ctx else None,
            types=("session.status",), apply=lambda s, batch: s.calls.append("apply"),
            tick=lambda s: 0.05, resync=lambda s: s.calls.append("resync")), timeout=5)

    asyncio.run(run())
    return state.calls


def test_a_watcher_checks_its_caller_before_the_resync_and_before_every_batch(monkeypatch):
    monkeypatch.setenv("BUS_BACKEND", "memory")
    from fleet_dashboard.core.events import reset_bus
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    reset_bus()
    ctx = SimpleNamespace(org_id=uuid.uuid4(), user_id=uuid.uuid4())
    # Refused at once: nothing is read, the page's private data is dropped.
    assert _follow(FakeState([False]), ctx) == ["check", "forget"]
    # Admitted, then refused at the second batch: one resync, one batch, then it stops.
    assert _follow(FakeState([True, True, False]), ctx) == ["check", "resync", "check", "apply", "check", "forget"]
    # Never admitted by the chokepoint (or for another organisation): it does not even start.
    assert _follow(FakeState([True]), None) == []
    state = FakeState([True])

    async def other_org() -> None:
        access.admit(access.Rule("action", Action.view), ctx)
        await live.follow(state, gen_attr="_gen", route_ids=("/connect",), org_id=str(uuid.uuid4()),
                          types=("session.status",), apply=lambda s, b: None)

    asyncio.run(other_org())
    assert state.calls == []
    reset_bus()


def test_cookie_secure_defaults_to_production(monkeypatch):
    from fleet_dashboard.core.settings import Settings

    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert Settings(environment="production", secret_key="k" * 40, jwt_secret="j" * 40).cookie_secure
    assert not Settings(environment="development").cookie_secure
    assert not Settings(environment="production", secret_key="k" * 40, jwt_secret="j" * 40,
                        session_cookie_secure=False).cookie_secure


def test_the_user_commands_end_sessions(db, make_org, make_user, capsys):
    from fleet_dashboard import cli

    user = make_user("admin", make_org())
    for argv, version in ((["user", "sign-out", user.email], 1), (["user", "deactivate", user.email], 2),
                          (["user", "activate", user.email], 3),
                          (["user", "password", user.email, "--password", "brand-new-pass"], 4)):
        assert cli.main(argv) == 0
        db.expire_all()
        assert users.get_user(session=db, user_id=user.id).session_version == version
    assert "every open session of this user has ended" in capsys.readouterr().out
    assert cli.main(["user", "sign-out", "nobody@example.com"]) == 2
