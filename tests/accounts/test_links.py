"""One-time links: stored only as hashes, single use, expiring; the sign-in link on top of them."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from fleet_dashboard.accounts import links, people
from fleet_dashboard.accounts.links import LinkError
from fleet_dashboard.accounts.models import OneTimeLink
from fleet_dashboard.core.errors import Conflict, NotFound, PermissionDenied
from fleet_dashboard.core.tables import utcnow
from tests.accounts.conftest import PLATFORM, actor_of, audit_rows


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def test_a_link_is_kept_only_as_a_hash_and_works_once(db, make_org):
    org = make_org()
    row, token = links.issue(session=db, purpose="invite", ttl=timedelta(hours=1), org_id=org.id,
                                      email="a@fleet.local", role="member")
    db.commit()
    stored = db.exec(select(OneTimeLink)).one()
    assert token not in (stored.token_hash, str(stored.id)) and stored.token_hash == links.hash_token(token)
    assert len(token) >= 40
    links.consume(session=db, token=token, purpose="invite")
    db.commit()
    for purpose, code in (("invite", "link_used"), ("login", "link_invalid")):
        with pytest.raises(LinkError) as exc:
            links.consume(session=db, token=token, purpose=purpose)
        assert exc.value.code == code
    with pytest.raises(LinkError) as exc:
        links.consume(session=db, token=token[:-2] + "xx", purpose="invite")
    assert exc.value.code == "link_invalid"


def test_login_link_signs_in_once_and_audits(db, make_org, make_user, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://wa.fleet.example/")
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    try:
        org = make_org()
        user = make_user("member", org)
        link, url = links.issue_login_link(session=db, actor=PLATFORM, user_id=user.id, next_path="/history",
                                                 base_url="http://ignored")
        db.commit()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert url.startswith("https://wa.fleet.example/login/link?token=")
    assert timedelta(minutes=4) < link.expires_at - utcnow() <= timedelta(minutes=5)
    signed = links.use_login_link(session=db, token=token_of(url), ip_address="10.0.0.7")
    db.commit()
    assert (signed.user.id, signed.next_path) == (user.id, "/history") and signed.user.last_login_at is not None
    with pytest.raises(LinkError) as again:
        links.use_login_link(session=db, token=token_of(url))
    assert again.value.code == "link_used"
    db.rollback()
    login = audit_rows(db, org.id, "login")[0]
    assert (login.actor_id, login.event_data["method"], login.ip_address) == (user.id, "link", "10.0.0.7")
    assert audit_rows(db, org.id, "login_link_created")[0].event_data["credential"] == "service_role"


def test_expired_and_refused_login_links(db, make_org, make_user):
    org = make_org()
    user, root = make_user("owner", org), make_user("super_admin")
    link, url = links.issue_login_link(session=db, actor=PLATFORM, user_id=user.id, next_path="//evil.example")
    assert link.next_path is None  # only local paths
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    with pytest.raises(LinkError) as expired:
        links.use_login_link(session=db, token=token_of(url))
    assert expired.value.code == "link_expired"
    db.rollback()
    with pytest.raises(PermissionDenied):  # the SaaS's credential never opens the platform console
        links.issue_login_link(session=db, actor=PLATFORM, user_id=root.id)
    with pytest.raises(PermissionDenied):  # an owner cannot mint sign-in links
        links.issue_login_link(session=db, actor=actor_of(user), user_id=user.id)
    with pytest.raises(NotFound):
        links.issue_login_link(session=db, actor=PLATFORM, user_id=org.id)


def test_a_link_for_a_user_deactivated_since_does_not_sign_in(db, make_org, make_user):
    org = make_org()
    owner, member = make_user("owner", org), make_user("member", org)
    _, url = links.issue_login_link(session=db, actor=PLATFORM, user_id=member.id)
    db.commit()
    people.deactivate(session=db, actor=actor_of(owner), org_id=org.id, user_id=member.id)
    db.commit()
    with pytest.raises(LinkError) as inactive:
        links.use_login_link(session=db, token=token_of(url))
    assert inactive.value.code == "link_revoked"  # deactivation cancels the person's unused links
    db.rollback()
    with pytest.raises(Conflict) as refused:
        links.issue_login_link(session=db, actor=PLATFORM, user_id=member.id)
    assert refused.value.code == "user_inactive"
