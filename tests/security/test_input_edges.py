"""Small doors an attacker tries with odd input: redirects, webhook and media URLs, key prefixes, invitations,
and organisation names that carry header lines."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts import orgs, people
from fleet_dashboard.accounts.models import LinkPurpose
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core import routes
from fleet_dashboard.core.errors import NotFound, PermissionDenied, ValidationError
from fleet_dashboard.integrations import api_keys, webhooks
from fleet_dashboard.messaging import media
from tests.accounts.conftest import actor_of
from tests.accounts.test_emails import smtp_sink  # noqa: F401  (fixture)
from tests.support.api import headers


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
                                    "\t//evil.example", "/\x00/evil.example", "/\\evil.example",
                                    "//evil.example", "https://evil.example/"])
def test_after_login_nobody_is_sent_to_another_host(target):
    # Browsers drop tabs and newlines inside a URL: "/\t/evil.example" is "//evil.example" to them.
    assert routes.safe_next(target) == routes.HOME
    assert "evil" not in routes.login_url(target)


def test_a_local_path_is_still_a_fine_next_page():
    assert routes.safe_next("/history?status=failed") == "/history?status=failed"


@pytest.fixture
def no_private_networks(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize("url", ["http://2130706433/", "http://127.1/", "http://0/", "http://0x7f.0.0.1/",
                                 "http://0177.0.0.1/", "http://017700000001/", "http://10.1/hook",
                                 "http://0x7f000001/", "http://127.0.0.1./"])
def test_webhook_urls_to_this_machine_in_any_spelling_are_refused_when_saved(no_private_networks, url):
    with pytest.raises(ValidationError) as exc:
        webhooks.validate_url(url)
    assert exc.value.code == "webhook_private"


def test_a_public_numeric_host_is_still_a_webhook(no_private_networks):
    assert webhooks.validate_url("http://8.8.8.8/hook") == "http://8.8.8.8/hook"


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_legacy_numeric_media_url_is_a_clear_refusal_not_a_crash(monkeypatch, allow_private):
    from fleet_dashboard.core.settings import get_settings

    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", str(allow_private).lower())
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError) as exc:
            asyncio.run(media.fetch("http://0177.0.0.1/x.pdf", "document"))
        assert exc.value.code in ("media_url_refused", "media_invalid_url")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


class _CountingFiles(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802
        type(self).hits += 1
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.anyio
async def test_an_over_limit_send_costs_no_fetch(make_app, api_env, db, make_org, make_key):
    """The send limit is counted before the file is fetched or decoded: request two fetches nothing."""
    api_env.setenv("RATE_LIMIT_SEND", "1/minute")
    import httpx

    org = make_org()
    key = make_key(org)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingFiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _CountingFiles.hits = 0
    body = {"recipient": "+201001234567", "message": "x", "type": "document",
            "media": {"url": f"http://127.0.0.1:{server.server_address[1]}/a.pdf", "filename": "a.pdf"}}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as c:
            first = await c.post("/api/messages/send", json=body, headers=headers(key, org.id))
            second = await c.post("/api/messages/send", json=body, headers=headers(key, org.id))
            b64 = {**body, "media": {"base64": "JVBERi0xLjQK" * 1000, "filename": "a.pdf"}}
            third = await c.post("/api/messages/send", json=b64, headers=headers(key, org.id))
    finally:
        server.shutdown()
        server.server_close()
    assert first.status_code == 422 and first.json()["code"] == "media_fetch_failed", first.text
    assert second.status_code == 429 and third.status_code == 429, (second.text, third.text)
    assert _CountingFiles.hits == 1, "an over-limit request still fetched the file"


def test_a_key_prefix_with_sql_wildcards_matches_nothing(db, make_org):
    org = make_org()
    key, _ = api_keys.create_key(session=db, org_id=org.id, name="k", actor=SYSTEM)
    db.commit()
    for pattern in ("fdk_%%", "fdk_" + "_" * 4, "%" * 8):
        with pytest.raises(NotFound):
            api_keys.revoke_key(session=db, key_id_or_prefix=pattern, org_id=org.id, actor=SYSTEM)
    assert key.revoked_at is None
    assert api_keys.find_key(session=db, key_id_or_prefix=key.prefix, org_id=org.id).id == key.id


def test_an_admin_cannot_cancel_an_owners_invitation_by_inviting_the_same_email(db, make_org, make_user):
    org = make_org()
    owner, admin = make_user("owner", org), make_user("admin", org)
    owners = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="boss@fleet.local", role="owner")
    db.commit()
    with pytest.raises(PermissionDenied) as exc:
        people.invite(session=db, actor=actor_of(admin), org_id=org.id, email="Boss@Fleet.local", role="member")
    db.rollback()
    assert exc.value.code == "admin_cannot_touch_owner"
    waiting = people.list_invitations(session=db, actor=actor_of(owner), org_id=org.id)
    assert [(w.id, w.role) for w in waiting] == [(owners.link.id, "owner")]
    assert all(w.purpose == LinkPurpose.invite.value for w in waiting)


@pytest.mark.parametrize("name", ["Evil\r\nBcc: victim@example.com", "line\nbreak", "tab\there", "nul\x00"])
def test_an_organisation_name_cannot_carry_control_characters(name):
    with pytest.raises(ValidationError) as exc:
        orgs.clean_name(name)
    assert exc.value.code == "org_name"


def test_an_invitation_from_an_organisation_with_a_newline_in_its_name_is_still_emailed(
        db, make_org, make_user, smtp_sink):  # noqa: F811
    org = make_org("Clean")
    db.execute(text("UPDATE organizations SET name = :n WHERE id = :o"),
               {"n": "Old\r\nBcc: victim@example.com", "o": org.id})  # saved before names were checked
    db.commit()
    db.expire_all()
    owner = make_user("owner", org)
    invitation = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="new@fleet.local",
                               role="member")
    db.commit()
    assert "\n" in invitation.org_name
    assert people.email_invitation(invitation) is True
    [(rcpt, message)] = smtp_sink.messages
    assert rcpt == ["new@fleet.local"] and "\n" not in message["Subject"] and message["Bcc"] is None
