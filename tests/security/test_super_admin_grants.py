"""The read-only super_admin cannot give itself an account inside an organisation that has owners: not by inviting
an owner (or anyone) on /admin/organizations, not by provisioning or re-addressing a user through the bridge with
its own JWT (an address it controls would then sign in through OIDC). It invites the first owner of an organisation
without one; acting as an organisation that has owners is break-glass. The SaaS's platform credentials still
provision their people."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts import people
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.errors import PermissionDenied
from tests.support.api import service_role_jwt, user_jwt


def _actor(user) -> Actor:
    return Actor(role=user.role, org_id=user.org_id, user_id=user.id, ip_address="203.0.113.5")


def _invitations(db, org_id) -> int:
    return db.execute(text("SELECT count(*) FROM one_time_links WHERE org_id = :o AND purpose = 'invite'"),
                      {"o": org_id}).scalar()


def test_the_super_admin_invites_no_one_into_an_organisation_that_has_an_owner(db, make_org, make_user):
    org = make_org("Owned Fleet")
    make_user("owner", org)
    root = _actor(make_user("super_admin"))
    for role in ("owner", "admin", "member"):
        with pytest.raises(PermissionDenied) as refused:
            people.invite(session=db, actor=root, org_id=org.id, email=f"me-{role}@attacker.example", role=role)
        assert refused.value.code == "first_owner_only"
    db.rollback()
    assert _invitations(db, org.id) == 0


def test_the_super_admin_invites_the_first_owner_of_an_organisation_without_one(db, make_org, make_user):
    org = make_org("New Fleet")
    root = _actor(make_user("super_admin"))
    gone = make_user("owner", org)  # an owner who left: the organisation has no active owner
    db.execute(text("UPDATE users SET is_active = false WHERE id = :u"), {"u": gone.id})
    db.commit()
    with pytest.raises(PermissionDenied):  # its first person is an owner, not a member the super_admin names
        people.invite(session=db, actor=root, org_id=org.id, email="ops@new.example", role="member")
    db.rollback()
    invitation = people.invite(session=db, actor=root, org_id=org.id, email="boss@new.example", role="owner")
    db.commit()
    assert invitation.link.role == "owner" and _invitations(db, org.id) == 1


def _put(client, org_id, user_id, body, credential):
    return client.put(f"/api/admin/organizations/{org_id}/users/{user_id}", json=body,
                      headers={"Authorization": f"Bearer {credential}"})


@pytest.mark.anyio
async def test_a_super_admins_jwt_cannot_provision_itself_into_an_owned_organisation(client, db, make_org,
                                                                                    make_user):
    org = make_org("Owned Fleet")
    owner = make_user("owner", org)
    root = user_jwt(make_user("super_admin"))
    # A new admin, or the owner re-addressed to a mailbox the super_admin reads: both refused, nothing changes.
    for user_id, body in ((uuid.uuid4(), {"email": "me@attacker.example", "role": "admin"}),
                          (uuid.uuid4(), {"email": "me2@attacker.example", "role": "owner"}),
                          (owner.id, {"email": "me3@attacker.example", "role": "owner"})):
        r = await _put(client, org.id, user_id, body, root)
        assert r.status_code == 403 and r.json()["code"] == "first_owner_only", r.text
    db.expire_all()
    assert db.get(User, owner.id).email == owner.email
    assert db.execute(text("SELECT count(*) FROM users WHERE org_id = :o"), {"o": org.id}).scalar() == 1
    # The first owner of an organisation without one is still the super_admin's to provision.
    empty = make_org("Empty Fleet")
    r = await _put(client, empty.id, uuid.uuid4(), {"email": "boss@empty.example", "role": "owner"}, root)
    assert r.status_code == 200, r.text
    # Taking access away is not a grant: the super_admin's JWT still deactivates.
    r = await client.delete(f"/api/admin/organizations/{org.id}/users/{owner.id}",
                            headers={"Authorization": f"Bearer {root}"})
    assert r.status_code == 200 and r.json()["user"]["is_active"] is False, r.text


@pytest.mark.anyio
async def test_the_saas_platform_credentials_still_provision_their_people(client, db, make_org, make_user):
    org = make_org("SaaS Fleet")
    owner = make_user("owner", org)
    sr = service_role_jwt()
    r = await _put(client, org.id, uuid.uuid4(), {"email": "ops@saas.example", "role": "admin"}, sr)
    assert r.status_code == 200, r.text
    r = await _put(client, org.id, owner.id, {"email": "boss@saas.example", "role": "owner"}, sr)
    assert r.status_code == 200 and r.json()["user"]["email"] == "boss@saas.example", r.text
