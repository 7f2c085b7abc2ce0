"""Every audit event the code writes has its Arabic name in strings.AUDIT_EVENTS, so the log reads in Arabic."""

from __future__ import annotations

import re
from pathlib import Path

from fleet_dashboard import strings

ROOT = Path(__file__).resolve().parents[2] / "fleet_dashboard"
WRITES = (
    re.compile(r'event_type="(\w+)"'),                                   # audit.record[_action](..., event_type="x")
    re.compile(r'event_type="\w+" if \w+ else "(\w+)"'),                # record_action(..., a if x else b)
)


def written_event_types() -> set[str]:
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        for pattern in WRITES:
            found.update(pattern.findall(text))
    return found


def test_every_audited_event_has_an_arabic_name():
    written = written_event_types()
    # The account services' events are among them (this scan sees them at all).
    assert {"org_created", "member_invited", "invitation_accepted", "role_changed", "password_changed",
            "signed_out_everywhere", "user_deactivated"} <= written
    missing = sorted(t for t in written if t not in strings.AUDIT_EVENTS)
    assert not missing, f"audit events without an Arabic name in strings.AUDIT_EVENTS: {missing}"
