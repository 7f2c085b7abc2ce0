"""People services as an owner, an admin and a member use them: invitations, roles, deactivation, passwords."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from fleet_dashboard.accounts import people, users
from fleet_dashboard.accounts.links import LinkError
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.accounts.conftest import PLATFORM, actor_of, audit_rows, audit_types


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def test_owner_invites_a_member_who_accepts_with_name_and_password(db, team):
    org, owner = team["org"], team["owner"]
    inv = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="Sara@Fleet.Local", role="member",
                        base_url="https://wa.example")
    db.commit()
    assert inv.url.startswith("https://wa.example/invite?token=") and inv.link.email == "sara@fleet.local"
    assert [i.email for i in people.list_invitations(session=db, actor=actor_of(owner), org_id=org.id)] == \
        ["sara@fleet.local"]
    info = people.invitation_info(session=db, token=token_of(inv.url))
    assert (info.org_name, info.email, info.role) == ("Acme Fleet", "sara@fleet.local", "member")

    user = people.accept_invitation(session=db, token=token_of(inv.url), full_name="سارة أحمد",
                                    password="a-long-password", ip_address="10.9.9.9")
    db.commit()
    assert (user.org_id, user.role, user.full_name, user.is_active) == (org.id, "member", "سارة أحمد", True)
    assert users.authenticate(session=db, email="sara@fleet.local", password="a-long-password").id == user.id
    with pytest.raises(LinkError) as used:
        people.accept_invitation(session=db, token=token_of(inv.url), full_name="x", password="another-password")
    assert used.value.code == "link_used"
    db.rollback()
    assert people.list_invitations(session=db, actor=actor_of(owner), org_id=org.id) == []
    invited, accepted = audit_rows(db, org.id, "member_invited")[0], audit_rows(db, org.id, "invitation_accepted")[0]
    assert (invited.actor_id, invited.event_data["role"], invited.ip_address) == (owner.id, "member", "10.1.2.3")
    assert (accepted.actor_id, accepted.ip_address) == (user.id, "10.9.9.9")


def test_a_new_invitation_to_the_same_email_replaces_the_old_one(db, team):
    org, owner = team["org"], team["owner"]
    first = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="x@fleet.local", role="member")
    second = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="x@fleet.local", role="admin")
    db.commit()
    with pytest.raises(LinkError) as revoked:
        people.invitation_info(session=db, token=token_of(first.url))
    assert revoked.value.code == "link_revoked"
    assert people.invitation_info(session=db, token=token_of(second.url)).role == "admin"


def test_invitation_refusals(db, team):
    org, owner, admin, member = team["org"], team["owner"], team["admin"], team["member"]
    with pytest.raises(PermissionDenied):
        people.invite(session=db, actor=actor_of(member), org_id=org.id, email="m@fleet.local", role="member")
    with pytest.raises(PermissionDenied) as refused:
        people.invite(session=db, actor=actor_of(admin), org_id=org.id, email="o@fleet.local", role="owner")
    assert refused.value.code == "admin_cannot_touch_owner"
    with pytest.raises(NotFound):
        people.invite(session=db, actor=actor_of(team["outsider"]), org_id=org.id, email="z@fleet.local",
                      role="member")
    with pytest.raises(Conflict) as taken:
        people.invite(session=db, actor=actor_of(owner), org_id=org.id, email=member.email, role="member")
    assert taken.value.code == "email_exists"
    with pytest.raises(ValidationError) as bad_role:
        people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="s@fleet.local", role="super_admin")
    assert bad_role.value.code == "invalid_role"
    with pytest.raises(ValidationError):
        people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="not-an-email", role="member")
    inv = people.invite(session=db, actor=actor_of(owner), org_id=org.id, email="weak@fleet.local", role="member")
    with pytest.raises(ValidationError) as weak:
        people.accept_invitation(session=db, token=token_of(inv.url), full_name="Weak", password="short")
    assert weak.value.code == "weak_password"


def test_super_admin_invites_the_first_owner_of_a_new_organisation(db, make_org, make_user):
    org, root = make_org("Brand New"), make_user("super_admin")
    inv = people.invite(session=db, actor=actor_of(root), org_id=org.id, email="boss@brand.test", role="owner")
    db.commit()
    owner = people.accept_invitation(session=db, token=token_of(inv.url), full_name="Boss", password="owner-pass-1")
    db.commit()
    assert owner.role == "owner" and owner.org_id == org.id
    assert audit_types(db, org.id) == ["member_invited", "invitation_accepted"]


def test_roles_change_with_the_team_rules(db, team):
    org, owner, admin, member = team["org"], team["owner"], team["admin"], team["member"]
    people.change_role(session=db, actor=actor_of(admin), org_id=org.id, user_id=member.id, role="admin")
    db.commit()
    assert db.get(User, member.id).role == "admin"
    with pytest.raises(PermissionDenied):  # an admin cannot make an owner...
        people.change_role(session=db, actor=actor_of(admin), org_id=org.id, user_id=member.id, role="owner")
    with pytest.raises(PermissionDenied):  # ...nor demote one
        people.change_role(session=db, actor=actor_of(admin), org_id=org.id, user_id=owner.id, role="member")
    with pytest.raises(Conflict) as last:  # the only owner cannot step down
        people.change_role(session=db, actor=actor_of(owner), org_id=org.id, user_id=owner.id, role="admin")
    assert last.value.code == "last_owner"
    db.rollback()
    people.change_role(session=db, actor=actor_of(owner), org_id=org.id, user_id=admin.id, role="owner")
    people.change_role(session=db, actor=actor_of(owner), org_id=org.id, user_id=owner.id, role="admin")
    db.commit()
    assert db.get(User, owner.id).role == "admin" and db.get(User, admin.id).role == "owner"
    as_member = Actor(user_id=member.id, role="member", org_id=org.id)
    with pytest.raises(PermissionDenied):
        people.change_role(session=db, actor=as_member, org_id=org.id, user_id=owner.id, role="member")
    with pytest.raises(NotFound):  # another organisation's person does not exist for this owner
        people.change_role(session=db, actor=actor_of(team["outsider"]), org_id=team["other"].id,
                           user_id=member.id, role="member")
    row = audit_rows(db, org.id, "role_changed")[0]
    assert (row.event_data["before"], row.event_data["role"], row.actor_id) == ("member", "admin", admin.id)


def test_deactivation_rules_and_its_effect(db, team):
    org, owner, admin, member = team["org"], team["owner"], team["admin"], team["member"]
    with pytest.raises(PermissionDenied):
        people.deactivate(session=db, actor=actor_of(admin), org_id=org.id, user_id=owner.id)
    with pytest.raises(PermissionDenied) as self_off:
        people.deactivate(session=db, actor=actor_of(owner), org_id=org.id, user_id=owner.id)
    assert self_off.value.code == "cannot_deactivate_self"
    with pytest.raises(Conflict):  # the platform is bound by the team rule too, in the dashboard's services
        people.deactivate(session=db, actor=PLATFORM, org_id=org.id, user_id=owner.id)
    db.rollback()
    people.deactivate(session=db, actor=actor_of(admin), org_id=org.id, user_id=member.id)
    people.deactivate(session=db, actor=actor_of(admin), org_id=org.id, user_id=member.id)  # idempotent
    db.commit()
    assert users.authenticate(session=db, email=member.email, password="correct-horse-1") is None
    assert len(audit_rows(db, org.id, "user_deactivated")) == 1
    names = [m.email for m in people.list_members(session=db, actor=actor_of(owner), org_id=org.id)]
    assert names[0] == owner.email and member.email in names  # owners first; deactivated people stay listed
    people.reactivate(session=db, actor=actor_of(owner), org_id=org.id, user_id=member.id)
    db.commit()
    assert users.authenticate(session=db, email=member.email, password="correct-horse-1").id == member.id


def test_everyone_changes_their_own_password(db, team):
    member = team["member"]
    with pytest.raises(ValidationError) as wrong:
        people.change_password(session=db, actor=actor_of(member), current_password="nope-nope",
                               new_password="brand-new-pass")
    assert wrong.value.code == "wrong_password"
    people.change_password(session=db, actor=actor_of(member), current_password="correct-horse-1",
                           new_password="brand-new-pass")
    db.commit()
    assert users.authenticate(session=db, email=member.email, password="correct-horse-1") is None
    assert users.authenticate(session=db, email=member.email, password="brand-new-pass").id == member.id
    # The wrong guess is audited too (the limit on guesses: tests/security/test_signin_limits.py).
    assert audit_types(db, team["org"].id) == ["password_change_refused", "password_changed"]
    with pytest.raises(PermissionDenied):
        people.change_password(session=db, actor=PLATFORM, current_password="", new_password="brand-new-pass")


def test_suspended_organisation_refuses_people_changes(db, team):
    from fleet_dashboard.whatsapp import suspension

    suspension.suspend_org(session=db, actor=PLATFORM, org_id=team["org"].id)
    db.commit()
    with pytest.raises(PermissionDenied) as suspended:
        people.invite(session=db, actor=actor_of(team["owner"]), org_id=team["org"].id, email="n@fleet.local",
                      role="member")
    assert suspended.value.code == "organization_suspended"


def test_a_new_password_and_signing_out_everywhere_end_every_other_session(db, team):
    member = team["member"]
    before = db.get(User, member.id).session_version
    people.change_password(session=db, actor=actor_of(member), current_password="correct-horse-1",
                           new_password="brand-new-pass")
    db.commit()
    after_password = db.get(User, member.id).session_version
    assert after_password == before + 1  # a browser holding the old password's session is out
    assert users.signin_verdict(db.get(User, member.id), before) == users.SigninVerdict.ended
    people.sign_out_everywhere(session=db, actor=actor_of(member))
    db.commit()
    assert db.get(User, member.id).session_version == after_password + 1
    assert audit_types(db, team["org"].id) == ["password_changed", "signed_out_everywhere"]
    row = audit_rows(db, team["org"].id, "signed_out_everywhere")[0]
    assert (row.actor_id, row.ip_address) == (member.id, "10.1.2.3")
    with pytest.raises(PermissionDenied):
        people.sign_out_everywhere(session=db, actor=PLATFORM)


def test_only_the_organizations_column_lists_organisations(db, team):
    from fleet_dashboard.accounts import lifecycle

    names = [o.name for o in lifecycle.list_organizations(session=db, actor=PLATFORM)]
    assert names == sorted(names) and {"Acme Fleet", "Other Fleet"} <= set(names)
    assert [o.name for o in lifecycle.list_organizations(session=db, actor=PLATFORM, search="acme")] == \
        ["Acme Fleet"]
    assert lifecycle.list_organizations(session=db, actor=PLATFORM, search="%_") == []
    for role in ("owner", "admin", "member"):
        with pytest.raises(PermissionDenied):
            lifecycle.list_organizations(session=db, actor=actor_of(team[role]))


def test_the_super_admin_invites_a_first_owner_into_any_organisation_without_one(db, team, make_org, make_user):
    root = make_user("super_admin")
    ownerless = make_org("Ownerless Fleet")
    invitation = people.invite(session=db, actor=actor_of(root), org_id=ownerless.id,
                               email="first-owner@fleet.local", role="owner")
    db.commit()
    assert invitation.link.role == "owner" and invitation.link.org_id == ownerless.id
    row = audit_rows(db, ownerless.id, "member_invited")[0]
    assert (row.actor_id, row.event_data["role"]) == (root.id, "owner")
    # An organisation that has an owner is the owner's to staff: the super_admin's way in is break-glass.
    with pytest.raises(PermissionDenied) as refused:
        people.invite(session=db, actor=actor_of(root), org_id=team["other"].id, email="second@fleet.local",
                      role="owner")
    assert refused.value.code == "first_owner_only"
