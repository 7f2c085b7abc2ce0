"""OIDC sign-in: a verified e-mail links a provider identity once; after that only issuer + subject count."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from fleet_dashboard.accounts import identities, users
from fleet_dashboard.accounts.models import User, UserIdentity, WhatsAppAuditLog

ISSUER = "https://id.example.test"


@pytest.fixture
def owner(db, make_org):
    org = make_org()
    user = users.create_user(session=db, email=f"mona-{uuid.uuid4().hex[:6]}@example.com", password="pw-0123456789",
                             role="owner", org_id=org.id)
    db.commit()
    return user


def _sign_in(db, *, subject="sub-1", email="", verified=True, issuer=ISSUER):
    outcome = identities.sign_in(session=db, issuer=issuer, subject=subject, email=email, email_verified=verified,
                                 ip_address="203.0.113.5")
    db.commit()
    return outcome


def _failures(db) -> list[str]:
    rows = db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.event_type == "login_failed")).all()
    return [r.event_data["reason"] for r in rows]


def test_an_unverified_email_opens_nothing(db, owner):
    outcome = _sign_in(db, email=owner.email, verified=False)
    assert outcome.user is None and outcome.refused == "oidc_email_unverified"
    assert db.exec(select(UserIdentity)).all() == []
    assert _failures(db) == ["oidc_email_unverified"]


def test_the_first_verified_sign_in_links_the_identity_and_later_ones_follow_the_subject(db, owner):
    first = _sign_in(db, email=owner.email.upper())
    assert first.user is not None and first.user.id == owner.id
    link = db.exec(select(UserIdentity)).one()
    assert (link.user_id, link.issuer, link.subject) == (owner.id, ISSUER, "sub-1")
    types = [r.event_type for r in db.exec(select(WhatsAppAuditLog).where(WhatsAppAuditLog.actor_id == owner.id))]
    assert types == ["oidc_linked", "login"]

    # The person changes the e-mail at the provider: still the same account.
    again = _sign_in(db, email="new-address@example.org")
    assert again.user is not None and again.user.id == owner.id


def test_another_provider_account_claiming_the_same_email_is_refused_once_linked(db, owner):
    assert _sign_in(db, subject="sub-1", email=owner.email).user is not None
    intruder = _sign_in(db, subject="sub-2", email=owner.email)
    assert intruder.user is None and intruder.refused == "oidc_linked_elsewhere"
    assert len(db.exec(select(UserIdentity)).all()) == 1


def test_a_linked_identity_does_not_follow_an_email_to_another_account(db, owner, make_org):
    """Provider account sub-1 is linked to the owner; it now claims a colleague's e-mail: still the owner."""
    colleague = users.create_user(session=db, email="colleague@example.com", password="pw-0123456789",
                                  role="owner", org_id=make_org("Other").id)
    db.commit()
    assert _sign_in(db, email=owner.email).user.id == owner.id
    assert _sign_in(db, email=colleague.email).user.id == owner.id


def test_no_account_and_a_deactivated_account_are_refused(db, owner):
    assert _sign_in(db, email="stranger@example.com").refused == "oidc_no_account"
    assert _sign_in(db, email="not an email").refused == "oidc_no_account"
    assert _sign_in(db, email=owner.email).user is not None
    db.get(User, owner.id).is_active = False
    db.commit()
    assert _sign_in(db, email=owner.email).refused == "oidc_inactive"
    assert db.exec(select(User).where(User.email == "stranger@example.com")).first() is None


# ---- the provider round trip, against a real local HTTP provider ----

@contextlib.contextmanager
def provider(userinfo: dict) -> Iterator[str]:
    """Discovery, token and userinfo endpoints of a tiny OIDC provider on 127.0.0.1."""
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def _json(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                self._json({"issuer": state["issuer"], "authorization_endpoint": state["issuer"] + "/authorize",
                            "token_endpoint": state["issuer"] + "/token",
                            "userinfo_endpoint": state["issuer"] + "/userinfo"})
            else:
                assert self.headers["Authorization"] == "Bearer at-1"
                self._json(userinfo)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._json({"access_token": "at-1", "token_type": "Bearer"})

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["issuer"] = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield state["issuer"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def oidc_env(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    def _set(issuer: str) -> None:
        monkeypatch.setenv("OIDC_ISSUER", issuer)
        monkeypatch.setenv("OIDC_CLIENT_ID", "fleet")
        monkeypatch.setenv("OIDC_CLIENT_SECRET", "fleet-secret")
        get_settings.cache_clear()

    yield _set
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(("claim", "verified"), [(True, True), ("true", True), (False, False), (None, False),
                                                 ("false", False), ("yes", False)])
def test_the_provider_round_trip_reads_subject_and_email_verified(oidc_env, claim, verified):
    from fleet_dashboard.accounts import signin

    info = {"sub": "abc-123", "email": "mona@example.com"}
    if claim is not None:
        info["email_verified"] = claim
    with provider(info) as issuer:
        oidc_env(issuer)
        identity = asyncio.run(signin.oidc_finish(code="c", redirect_uri="http://x/cb", code_verifier="v"))
    assert identity == signin.OidcIdentity(issuer=issuer, subject="abc-123", email="mona@example.com",
                                         email_verified=verified)


def test_userinfo_without_a_subject_opens_nothing(oidc_env):
    from fleet_dashboard.accounts import signin

    with provider({"email": "mona@example.com", "email_verified": True}) as issuer:
        oidc_env(issuer)
        assert asyncio.run(signin.oidc_finish(code="c", redirect_uri="http://x/cb", code_verifier="v")) is None
