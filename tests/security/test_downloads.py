"""The dashboard's two HTTP downloads, attacked: a message's file (`/files/messages/{id}`, shown inline on the message
and conversation pages) and the history's CSV. Only the session cookie opens them, only for the caller's own
organisation; another organisation's file is as missing as a file that never was; and what a break-glass session
takes is audited in the super_admin's name, like every other write of that session."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from fleet_dashboard.accounts import signin, users
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core import routes
from fleet_dashboard.messaging import media, messages

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n% victim invoice VICTIMFILE\n%%EOF\n"


def _token(user, **kwargs) -> str:
    return signin.issue_token(user_id=user.id, signin_version=user.session_version, **kwargs)


async def _get(client, path: str, token: str | None = None, **kwargs):
    client.cookies.clear()
    if token is not None:
        client.cookies.set(signin.SIGNIN_COOKIE, token)
    return await client.get(path, **kwargs)


@pytest.fixture
def victim_file(db, make_org, make_user):
    """A message of the victim organisation carrying a PDF, and people around it."""
    org, other = make_org("Victim Fleet"), make_org("Other Fleet")
    attachment = media.store(session=db, org_id=org.id, file=media.MediaFile(
        kind="document", data=PDF, filename="invoice.pdf", mime_type="application/pdf"))
    message, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="الفاتورة",
                                         actor=SYSTEM, attachment=attachment)
    plain, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="بلا ملف",
                                       actor=SYSTEM)
    db.commit()
    people = {"owner": make_user("owner", org), "member": make_user("member", org),
              "intruder": make_user("owner", other), "super_admin": make_user("super_admin")}
    return org, message.id, plain.id, people


async def test_a_messages_file_reaches_its_organisation_only(client, db, victim_file):
    org, message_id, plain_id, people = victim_file
    url = routes.message_file_url(message_id)
    for who in ("owner", "member"):  # everyone who reads the message sees its file
        r = await _get(client, url, _token(people[who]))
        assert r.status_code == 200 and r.content == PDF, (who, r.status_code)
        assert r.headers["x-content-type-options"] == "nosniff" and "sandbox" in r.headers["content-security-policy"]
    # Another organisation's owner: the same answer as for a message that does not exist.
    theirs = await _get(client, url, _token(people["intruder"]))
    nowhere = await _get(client, routes.MESSAGE_FILE.format(message_id=uuid.uuid4()), _token(people["intruder"]))
    assert theirs.status_code == nowhere.status_code == 404 and b"VICTIMFILE" not in theirs.content
    assert theirs.json()["code"] == nowhere.json()["code"]
    # A message without a file, and ids that are not ids.
    assert (await _get(client, routes.MESSAGE_FILE.format(message_id=plain_id), _token(people["owner"]))
            ).status_code == 404
    for junk in ("not-a-uuid", "..%2F..%2Fetc%2Fpasswd", "%00"):
        r = await _get(client, f"/files/messages/{junk}", _token(people["owner"]))
        assert r.status_code in (404, 422) and b"Traceback" not in r.content, (junk, r.status_code)


async def test_no_session_a_dead_one_or_a_bearer_credential_opens_a_file(client, db, victim_file):
    org, message_id, _plain, people = victim_file
    url = routes.MESSAGE_FILE.format(message_id=message_id)
    owner = people["owner"]
    token = _token(owner)
    for attempt in (await _get(client, url), await _get(client, url, "eyJ1aWQiOiJ4In0.forged"),
                    await _get(client, url, headers={"Authorization": f"Bearer {token}", "X-Org-Id": str(org.id)}),
                    await _get(client, url, _token(owner, ttl_seconds=-5))):
        assert attempt.status_code == 401 and b"VICTIMFILE" not in attempt.content
    users.end_signins(session=db, user_id=owner.id)  # signed out everywhere: the old cookie opens nothing
    db.commit()
    r = await _get(client, url, token)
    assert r.status_code == 401 and b"VICTIMFILE" not in r.content


async def test_a_break_glass_export_is_audited_in_the_super_admins_name(client, db, victim_file):
    org, _message_id, _plain, people = victim_file
    owner, root = people["owner"], people["super_admin"]
    r = await _get(client, routes.EXPORT_MESSAGES, _token(owner, ttl_seconds=600, break_glass_by=root.id),
                   headers={"X-Forwarded-For": "198.51.100.1"})
    assert r.status_code == 200 and "الفاتورة" in r.text
    r = await _get(client, routes.EXPORT_MESSAGES, _token(owner))
    assert r.status_code == 200
    rows = [tuple(row) for row in db.execute(text(
        "SELECT actor_id, event_data->>'via', event_data->>'credential' FROM whatsapp_audit_logs "
        "WHERE org_id = :o AND event_type = 'messages_exported' ORDER BY created_at"), {"o": org.id})]
    assert rows == [(owner.id, "break_glass", f"super_admin:{root.id}"), (owner.id, "dashboard", None)]
    assert db.execute(text("SELECT count(*) FROM whatsapp_messages WHERE org_id = :o"), {"o": org.id}).scalar() == 2
