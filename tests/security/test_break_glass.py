"""A super_admin only reads: asking for an owner's sign-in link is refused. Acting as an organisation is an explicit
break-glass step instead: a reason, the organisation's audit log and its owners' mailbox, a session that ends by
itself and names the super_admin in every audit row it writes."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts import links, signin
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.integrations import api_keys
from fleet_dashboard.web.access import Ctx
from tests.accounts.test_emails import smtp_sink  # noqa: F401  (fixture)
from tests.support.api import service_role_jwt, user_jwt


def _token(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def _bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def _audit(db, org_id, event_type) -> list[tuple]:
    return [tuple(r) for r in db.execute(text(
        "SELECT actor_id, event_data FROM whatsapp_audit_logs WHERE org_id = :o AND event_type = :t "
        "ORDER BY created_at"), {"o": org_id, "t": event_type})]


@pytest.mark.anyio
async def test_a_super_admin_asking_for_an_owners_link_is_refused(client, db, make_org, make_user):
    org = make_org()
    owner, root = make_user("owner", org), make_user("super_admin")
    r = await client.post(f"/api/admin/users/{owner.id}/login-link", headers=_bearer(user_jwt(root)))
    assert r.status_code == 403 and r.json()["code"] == "platform_credential_required", r.text
    assert db.execute(text("SELECT count(*) FROM one_time_links")).scalar() == 0
    # The SaaS's own platform credentials still open its users from its UI.
    _, platform_key = api_keys.create_platform_key(session=db, name="saas", actor=SYSTEM)
    db.commit()
    for credential in (service_role_jwt(), platform_key):
        r = await client.post(f"/api/admin/users/{owner.id}/login-link", headers=_bearer(credential))
        assert r.status_code == 200, r.text


@pytest.mark.anyio
async def test_break_glass_needs_a_super_admin_person_and_a_reason(client, db, make_org, make_user):
    org = make_org()
    owner, root = make_user("owner", org), make_user("super_admin")
    url = f"/api/admin/users/{owner.id}/break-glass"
    for credential in (service_role_jwt(), user_jwt(owner)):
        r = await client.post(url, headers=_bearer(credential), json={"reason": "the owner asked by phone"})
        assert r.status_code == 403, r.text
    r = await client.post(url, headers=_bearer(user_jwt(root)), json={"reason": "because"})
    assert r.status_code == 422
    r = await client.post(url, headers=_bearer(user_jwt(root)), json={"reason": "the owner asked by phone",
                                                                       "minutes": 10_000})
    assert r.status_code == 422
    assert db.execute(text("SELECT count(*) FROM one_time_links")).scalar() == 0


@pytest.mark.anyio
async def test_break_glass_is_audited_shown_to_the_owners_and_ends_by_itself(client, db, make_org, make_user,
                                                                            smtp_sink):  # noqa: F811
    org = make_org("Victim Fleet")
    owner, root = make_user("owner", org), make_user("super_admin")
    reason = "the owner is locked out and asked by phone, ticket 4711"
    r = await client.post(f"/api/admin/users/{owner.id}/break-glass", headers=_bearer(user_jwt(root)),
                          json={"reason": reason, "minutes": 15, "next": "/connect"})
    assert r.status_code == 200, r.text
    data = r.json()
    until = datetime.fromisoformat(data["session_expires_at"])
    assert until - datetime.now(UTC) <= timedelta(minutes=15, seconds=LINK_TTL + 5)
    [(actor_id, started)] = _audit(db, org.id, "break_glass_started")
    assert actor_id == root.id and started["reason"] == reason and started["email"] == owner.email
    assert started["by"] == root.email and started["minutes"] == 15
    [(rcpt, message)] = smtp_sink.messages  # the organisation's owners are told
    assert rcpt == [owner.email] and root.email in message.get_content() and reason in message.get_content()

    signed = links.use_login_link(session=db, token=_token(data["url"]), ip_address="198.51.100.4")
    db.commit()
    assert (signed.user.id, signed.break_glass_by, signed.session_seconds, signed.next_path) == \
        (owner.id, root.id, 15 * 60, "/connect")
    [(login_actor, login)] = _audit(db, org.id, "login")
    assert login_actor == root.id and login["method"] == "break_glass"
    # The session it opens names the super_admin and lasts the 15 minutes, not SESSION_TTL_HOURS.
    token = signin.issue_token(user_id=owner.id, signin_version=db.get(User, owner.id).session_version,
                               ttl_seconds=signed.session_seconds, break_glass_by=signed.break_glass_by)
    claims = signin.read_token(token)
    assert claims.break_glass_by == root.id and claims.expires_at - time.time() <= 15 * 60
    assert signin.read_token(token, now=time.time() + 15 * 60 + 1) is None
    ctx = Ctx(user_id=owner.id, role="owner", org_id=org.id, read_only=False, home_org_id=org.id,
              break_glass_by=claims.break_glass_by)
    assert ctx.actor.audit_data(x=1) == {"x": 1, "via": "break_glass", "credential": f"super_admin:{root.id}"}


@pytest.mark.anyio
async def test_a_break_glass_link_for_a_super_admin_or_a_stranger_is_refused(client, db, make_user):
    root, other_root = make_user("super_admin"), make_user("super_admin")
    for target in (other_root.id, uuid.uuid4()):
        r = await client.post(f"/api/admin/users/{target}/break-glass", headers=_bearer(user_jwt(root)),
                              json={"reason": "the owner asked by phone"})
        assert r.status_code in (403, 404), r.text
    assert db.execute(text("SELECT count(*) FROM one_time_links")).scalar() == 0


LINK_TTL = 300


def test_over_the_socket_a_break_glass_tab_acts_as_the_owner_in_the_super_admins_name(app):
    """The link page signs the tab in; its token ends with the break-glass, its writes are audited as the
    super_admin's, and it cannot set itself a password to stay longer."""
    from fleet_dashboard.accounts.permissions import Actor
    from fleet_dashboard.web.state.account import AccountState
    from fleet_dashboard.web.state.link_login import LinkLoginState
    from fleet_dashboard.web.state.settings import SettingsState
    from tests.support.wire import AUTH, Tab

    owner = app.owner()
    root = app.make_user("super_admin")
    with app.session() as s:
        notice = links.break_glass(session=s, actor=Actor(role="super_admin", user_id=root.user_id, kind="user",
                                                          via="api"),
                                   user_id=owner.user_id, reason="the owner asked by phone, ticket 4711", minutes=5)
    token = _token(notice.url)
    tab = Tab(app.base_url)
    try:
        path = f"/login/link?token={token}"
        tab.hydrate(path)
        tab.send(f"{LinkLoginState.get_full_name()}.use_link", path=path)
        signin_token = tab.delta_value(AUTH, "token")
        assert signin_token, tab.updates()[-3:]
        tab.signin_token = signin_token
        body = json.loads(signin._unb64(signin_token.split(".")[0]))  # signed with the app's key, read here
        assert body["bg"] == str(root.user_id) and body["exp"] - body["iat"] == 5 * 60
        tab.send(f"{SettingsState.get_full_name()}.load", path="/settings")
        tab.send(f"{SettingsState.get_full_name()}.create_key", {"form_data": {"name": "bg", "scope_read": "on"}},
                 path="/settings")
        tab.send(f"{AccountState.get_full_name()}.change_password",
                 {"form_data": {"current_password": "", "new_password": "stay-longer-1",
                                "new_password_again": "stay-longer-1"}}, path="/account")
        assert "كلمة المرور" in str(tab.delta_value(AccountState.get_full_name(), "password_error"))
    finally:
        tab.close()
    created = app.audit_data(owner.org_id, "api_key_created")
    assert created and (created[-1]["via"], created[-1]["credential"]) == ("break_glass", f"super_admin:{root.user_id}")
    assert not app.audit_data(owner.org_id, "password_changed")


def test_every_person_of_the_organisation_sees_an_open_break_glass_and_nobody_else_does(db, make_org, make_user):
    """Shown to the organisation: while a break-glass window is open (its link usable or its session running),
    the organisation's pages carry who acts, as whom, why and until when; another organisation sees nothing."""
    from fleet_dashboard.accounts.permissions import Actor

    org, other = make_org("Victim Fleet"), make_org("Other Fleet")
    owner, root = make_user("owner", org), make_user("super_admin")
    assert links.open_break_glass(session=db, org_id=org.id) == []
    notice = links.break_glass(session=db, actor=Actor(role="super_admin", user_id=root.id, kind="user", via="api"),
                               user_id=owner.id, reason="the owner asked by phone, ticket 4711", minutes=10)
    db.commit()
    [window] = links.open_break_glass(session=db, org_id=org.id)
    assert (window["by"], window["user"], window["reason"]) == (root.email, owner.email,
                                                                "the owner asked by phone, ticket 4711")
    assert window["until"] == notice.session_expires_at
    assert links.open_break_glass(session=db, org_id=other.id) == []
    # Once its session could no longer be running, the window is closed.
    later = notice.session_expires_at + timedelta(seconds=1)
    assert links.open_break_glass(session=db, org_id=org.id, now=later) == []


def test_over_the_socket_the_organisations_tabs_show_the_break_glass_banner(app):
    from fleet_dashboard.accounts.permissions import Actor
    from fleet_dashboard.web.state.alerts import AlertState
    from tests.support.server import PASSWORD
    from tests.support.wire import Tab

    org = app.make_org()
    owner, member = app.make_user("owner", org), app.make_user("member", org)
    outsider = app.make_user("owner", app.make_org())
    root = app.make_user("super_admin")
    reason = f"incident {uuid.uuid4().hex[:8]}: the owner is locked out"
    with app.session() as s:
        links.break_glass(session=s, actor=Actor(role="super_admin", user_id=root.user_id, kind="user", via="api"),
                          user_id=owner.user_id, reason=reason, minutes=5)
    seen = {}
    for person in (member, outsider):
        tab = Tab(app.base_url)
        try:
            tab.hydrate("/login")
            tab.login(person.email, PASSWORD)
            tab.send(f"{AlertState.get_full_name()}.load", path="/history")
            seen[person.email] = json.dumps(tab.delta_value(AlertState.get_full_name(), "break_glass") or [],
                                            ensure_ascii=False)
        finally:
            tab.close()
    assert reason in seen[member.email] and root.email in seen[member.email] and "دخول طارئ" in seen[member.email]
    assert reason not in seen[outsider.email] and root.email not in seen[outsider.email]
