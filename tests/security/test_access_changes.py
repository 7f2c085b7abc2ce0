"""One rule: any change to a person's organisation, role or active state ends every session of theirs (each tab,
each copied token) and cancels every unused sign-in link; nothing comes back with a reactivation, and a JWT whose
claims did not change does not undo a change made on the dashboard."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from fleet_dashboard.accounts import links, people, permissions, provisioning, signin, users
from fleet_dashboard.accounts.links import LinkError
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.permissions import Actor
from tests.support.api import headers, make_jwt

PLATFORM = permissions.platform("service_role")


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, org_id=user.org_id, ip_address="10.1.2.3")


@pytest.fixture
def person(db, make_org, make_user):
    """A member of one organisation with a live session token and an unused sign-in link; another organisation."""
    org, elsewhere = make_org("Org A"), make_org("Org B")
    owner, member = make_user("owner", org), make_user("member", org)
    token = signin.issue_token(user_id=member.id, signin_version=member.session_version)
    _, url = links.issue_login_link(session=db, actor=PLATFORM, user_id=member.id)
    db.commit()
    assert signin.signin_user(token)[1] == "ok"
    return {"org": org, "elsewhere": elsewhere, "owner": owner, "member": member, "token": token,
            "link": url.rsplit("token=", 1)[1]}


def _move_by_bridge(db: Session, p: dict) -> None:
    m = p["member"]
    provisioning.upsert_user(session=db, actor=PLATFORM, org_id=p["elsewhere"].id, user_id=m.id, email=m.email,
                             role="member")


def _move_by_claims(db: Session, p: dict) -> None:
    m = p["member"]
    claims = {"sub": str(m.id), "email": m.email, "iat": int(datetime.now(UTC).timestamp()) + 5,
              "app_metadata": {"org_id": str(p["elsewhere"].id), "role": "member"}}
    provisioning.provision_from_claims(session=db, claims=claims)


def _promote(db: Session, p: dict) -> None:
    people.change_role(session=db, actor=actor_of(p["owner"]), org_id=p["org"].id, user_id=p["member"].id,
                       role="admin")


def _promote_by_bridge(db: Session, p: dict) -> None:
    m = p["member"]
    provisioning.upsert_user(session=db, actor=PLATFORM, org_id=p["org"].id, user_id=m.id, email=m.email, role="admin")


def _deactivate(db: Session, p: dict) -> None:
    people.deactivate(session=db, actor=actor_of(p["owner"]), org_id=p["org"].id, user_id=p["member"].id)


def _deprovision(db: Session, p: dict) -> None:
    provisioning.deprovision_user(session=db, actor=PLATFORM, org_id=p["org"].id, user_id=p["member"].id)


CHANGES: dict[str, Callable] = {"moved_by_bridge": _move_by_bridge, "moved_by_claims": _move_by_claims,
                                "promoted": _promote, "promoted_by_bridge": _promote_by_bridge,
                                "deactivated": _deactivate, "deprovisioned": _deprovision}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_a_change_of_access_ends_every_session_and_cancels_every_sign_in_link(db, person, change):
    CHANGES[change](db, person)
    db.commit()
    user, verdict = signin.signin_user(person["token"])
    assert user is None and verdict in ("ended", "deactivated"), verdict
    with pytest.raises(LinkError) as exc:
        links.use_login_link(session=db, token=person["link"])
    db.rollback()
    assert exc.value.code in ("link_revoked", "user_inactive")


@pytest.mark.parametrize("reactivate", ["people", "bridge"])
def test_reactivation_revives_no_copied_token_and_no_pending_link(db, person, reactivate):
    member = person["member"]
    (_deactivate if reactivate == "people" else _deprovision)(db, person)
    db.commit()
    assert signin.signin_user(person["token"]) == (None, "deactivated")
    if reactivate == "people":
        people.reactivate(session=db, actor=actor_of(person["owner"]), org_id=person["org"].id, user_id=member.id)
    else:  # the bridge's PUT reactivates
        provisioning.upsert_user(session=db, actor=PLATFORM, org_id=person["org"].id, user_id=member.id,
                                 email=member.email, role="member")
    db.commit()
    assert signin.signin_user(person["token"]) == (None, "ended"), "a stolen token came back to life"
    with pytest.raises(LinkError) as exc:
        links.use_login_link(session=db, token=person["link"])
    db.rollback()
    assert exc.value.code == "link_revoked"
    # A fresh sign-in works again.
    fresh = db.get(User, member.id)
    db.refresh(fresh)
    assert signin.signin_user(signin.issue_token(user_id=member.id, signin_version=fresh.session_version))[1] == "ok"


def test_no_change_keeps_sessions(db, person):
    member = person["member"]
    provisioning.upsert_user(session=db, actor=PLATFORM, org_id=person["org"].id, user_id=member.id,
                             email=member.email, role="member")  # the same again: nothing changes
    people.change_role(session=db, actor=actor_of(person["owner"]), org_id=person["org"].id, user_id=member.id,
                       role="member")
    db.commit()
    assert signin.signin_user(person["token"])[1] == "ok"


@pytest.fixture
def jit(api_env):
    api_env.setenv("JWT_PROVISION_FROM_CLAIMS", "true")


def _saas_jwt(user_id, org_id, role, email, *, iat: int | None = None) -> str:
    return make_jwt({"sub": str(user_id), "aud": "authenticated", "role": "authenticated", "email": email,
                     "iat": iat or int(datetime.now(UTC).timestamp()) + 2,
                     "app_metadata": {"org_id": str(org_id), "role": role}})


@pytest.mark.anyio
async def test_a_fresh_jwt_with_the_same_claims_does_not_undo_a_demotion(jit, client, db, make_org, make_user):
    org = make_org()
    owner = make_user("owner", org)
    admin_id = uuid.uuid4()
    qr = f"/api/sessions/{org.id}/qr"
    first = _saas_jwt(admin_id, org.id, "admin", "ops@fleet.local")
    assert (await client.get(f"/api/sessions/{org.id}/status", headers=headers(first, org.id))).status_code == 200
    assert db.get(User, admin_id).role == "admin"
    people.change_role(session=db, actor=actor_of(owner), org_id=org.id, user_id=admin_id, role="member")
    db.commit()
    # The SaaS mints a new token every hour; its app_metadata still says admin, as it did before the demotion.
    again = _saas_jwt(admin_id, org.id, "admin", "ops@fleet.local", iat=int(datetime.now(UTC).timestamp()) + 15)
    r = await client.get(qr, headers=headers(again, org.id))
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    db.expire_all()
    assert db.get(User, admin_id).role == "member", "the stale claims promoted the person again"
    # When the SaaS itself says something new, that applies (and ends the sessions of the old role).
    owner_now = _saas_jwt(admin_id, org.id, "owner", "ops@fleet.local", iat=int(datetime.now(UTC).timestamp()) + 25)
    assert (await client.get(qr, headers=headers(owner_now, org.id))).status_code in (200, 404)
    db.expire_all()
    assert db.get(User, admin_id).role == "owner"


def test_the_operators_cli_changes_end_sessions_and_links_too(db, person):
    member = person["member"]
    users.set_active(session=db, user_id=member.id, active=False, actor=permissions.SYSTEM)
    users.set_active(session=db, user_id=member.id, active=True, actor=permissions.SYSTEM)
    db.commit()
    assert signin.signin_user(person["token"]) == (None, "ended")
    with pytest.raises(LinkError):
        links.use_login_link(session=db, token=person["link"])
