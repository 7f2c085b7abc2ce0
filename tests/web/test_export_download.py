"""The history page's CSV export as a streamed download: the dashboard's session cookie, the `export` column,
the caller's own organisation only, formula cells neutralised, and an audit row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from fleet_dashboard.accounts import signin, users
from fleet_dashboard.accounts.models import WhatsAppAuditLog as AuditLog
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core import routes
from fleet_dashboard.messaging import export, messages

pytestmark = pytest.mark.anyio


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _token(user) -> str:
    return signin.issue_token(user_id=user.id, signin_version=user.session_version)


async def _get(client, user=None, *, token: str | None = None, **kwargs):
    """GET the download as a browser tab signed in as `user` would (the session cookie, nothing else)."""
    client.cookies.clear()
    if user is not None or token is not None:
        client.cookies.set(signin.SIGNIN_COOKIE, token or _token(user))
    return await client.get(routes.EXPORT_MESSAGES, **kwargs)


@pytest.fixture
def two_orgs(db, make_org, make_user):
    ours, theirs = make_org("Ours"), make_org("Theirs")
    for i in range(7):
        messages.create_message(session=db, org_id=ours.id, recipient="+201001234567", text=f"ours {i}",
                                 actor=SYSTEM)
    messages.create_message(session=db, org_id=ours.id, recipient="+201001234568", text="=HYPERLINK(\"x\")",
                             actor=SYSTEM)
    for i in range(3):
        messages.create_message(session=db, org_id=theirs.id, recipient="+201001234569", text=f"theirs {i}",
                                 actor=SYSTEM)
    db.commit()
    return ours, theirs, make_user("owner", ours), make_user("member", ours), make_user("owner", theirs)


async def test_the_download_streams_the_callers_organisation_only(client, db, two_orgs, monkeypatch):
    ours, theirs, owner, _member, other_owner = two_orgs
    monkeypatch.setattr(export, "PAGE_ROWS", 3)  # several pages, so the stream really goes page by page
    client.cookies.set(signin.SIGNIN_COOKIE, _token(owner))
    async with client.stream("GET", routes.EXPORT_MESSAGES) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        text = "".join([chunk async for chunk in response.aiter_text()])
    rows = _rows(text)
    assert {r["message_body"] for r in rows} == {f"ours {i}" for i in range(7)} | {"'=HYPERLINK(\"x\")"}
    assert not [r for r in rows if r["message_body"].startswith("theirs")]

    # The other organisation's owner gets their own rows, never ours.
    other = await _get(client, other_owner)
    assert other.status_code == 200
    assert {r["message_body"] for r in _rows(other.text)} == {f"theirs {i}" for i in range(3)}

    rows = db.exec(select(AuditLog).where(AuditLog.event_type == "messages_exported",
                                          AuditLog.org_id == ours.id)).all()
    assert len(rows) == 1 and rows[0].actor_id == owner.id


async def test_the_download_applies_the_history_filters(client, db, two_orgs):
    ours, _theirs, owner, _member, _other = two_orgs
    messages.create_message(session=db, org_id=ours.id, recipient="+201001234567", text="needle", actor=SYSTEM)
    db.commit()
    got = await _get(client, owner, params={"search": "needle"})
    assert [r["message_body"] for r in _rows(got.text)] == ["needle"]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    got = await _get(client, owner, params={"since": later})
    assert got.status_code == 200 and _rows(got.text) == []
    got = await _get(client, owner, params={"status": "nonsense"})
    assert got.status_code == 422


async def test_a_member_without_the_export_column_is_refused(client, db, two_orgs):
    _ours, _theirs, _owner, member, _other = two_orgs
    got = await _get(client, member)
    assert got.status_code == 403
    assert "ours" not in got.text
    refused = db.exec(select(AuditLog).where(AuditLog.event_type == "access_denied",
                                             AuditLog.actor_id == member.id)).all()
    assert len(refused) == 1 and refused[0].event_data["action"] == "export"
    assert not db.exec(select(AuditLog).where(AuditLog.event_type == "messages_exported")).all()


async def test_no_session_or_a_dead_one_is_refused(client, db, two_orgs, make_user):
    _ours, _theirs, owner, _member, _other = two_orgs
    assert (await _get(client)).status_code == 401
    assert (await _get(client, token="eyJ1aWQiOiJ4In0.forged")).status_code == 401
    # A bearer credential (the HTTP API's way in) does not open the dashboard's download.
    got = await _get(client, headers={"Authorization": "Bearer " + _token(owner), "X-Org-Id": str(owner.org_id)})
    assert got.status_code == 401
    token = _token(owner)
    users.end_signins(session=db, user_id=owner.id)  # logged out everywhere: the old token opens nothing
    db.commit()
    got = await _get(client, token=token)
    assert got.status_code == 401 and "ours" not in got.text
