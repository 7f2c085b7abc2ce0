"""Company addresses are accepted for accounts, and invitations go out by e-mail when SMTP is set."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from fleet_dashboard.accounts import mailer, people, users
from fleet_dashboard.core.errors import ValidationError
from tests.accounts.conftest import actor_of
from tests.support.mail import smtp_env, smtp_server, unused_port


@pytest.mark.parametrize("address,normalized", [
    ("Ahmed@Fleet.LOCAL", "ahmed@fleet.local"), ("ops@localhost", "ops@localhost"),
    ("drivers@depot.corp", "drivers@depot.corp"), ("it@hq.internal", "it@hq.internal"),
    ("qa@ci.test", "qa@ci.test"), ("A.B+tag@Example.COM", "a.b+tag@example.com"),
])
def test_company_and_public_addresses_are_accepted(address, normalized):
    assert users.normalize_email(address) == normalized


@pytest.mark.parametrize("address", ["no-at-sign", "a b@fleet.local", "a@-bad.local", "x@y.invalid",
                                     "x@hidden.onion", "@fleet.local", "a@fleet", "a@@fleet.local"])
def test_broken_addresses_are_refused(address):
    with pytest.raises(ValidationError) as exc:
        users.normalize_email(address)
    assert exc.value.code == "invalid_email"


def test_accounts_on_internal_domains_can_be_created_and_sign_in(db, make_org):
    org = make_org()
    user = users.create_user(session=db, email="Owner@Fleet.Local", password="correct-horse-1", role="owner",
                             org_id=org.id)
    db.commit()
    assert users.authenticate(session=db, email="owner@fleet.local", password="correct-horse-1").id == user.id


@pytest.fixture
def smtp_sink(monkeypatch):
    """A local SMTP server that keeps what it receives, with the app's SMTP settings pointing at it."""
    from fleet_dashboard.core.settings import get_settings

    with smtp_server() as (sink, port):
        for key, value in smtp_env(port).items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield sink
    monkeypatch.undo()
    get_settings.cache_clear()


def test_an_invitation_is_emailed_in_arabic_with_its_link(db, make_org, make_user, smtp_sink):
    org = make_org("أسطول النيل")
    owner = make_user("owner", org)
    inv = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="new@fleet.local", role="admin",
                        base_url="https://wa.example")
    db.commit()
    assert people.email_invitation(inv) is True
    [(rcpt, message)] = smtp_sink.messages
    assert rcpt == ["new@fleet.local"] and message["From"] == "Fleet <no-reply@fleet.local>"
    assert "أسطول النيل" in message["Subject"]
    body = message.get_content()
    assert inv.url in body and "مسؤول" in body
    token = parse_qs(urlparse(inv.url).query)["token"][0]
    assert people.invitation_info(session=db, token=token).email == "new@fleet.local"


def test_without_smtp_or_with_a_dead_server_nothing_is_sent_and_nothing_breaks(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.delenv("SMTP_HOST", raising=False)
    get_settings.cache_clear()
    assert mailer.enabled() is False and mailer.send(to="a@fleet.local", subject="s", body="b") is False
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(unused_port()))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("SMTP_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    try:
        assert mailer.send(to="a@fleet.local", subject="s", body="b") is False
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
