"""The number's health as the pages show it (the home's risk card, the sending page): one read, plain strings."""

from __future__ import annotations

import time
import uuid
from typing import Any

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.deliverability import status

# While messages move, the number's health is read again at most this often.
NUMBER_REFRESH_SECONDS = 10.0


class NumberView(rx.State, mixin=True):
    """Mixed into a page state: the risk and its reasons, today's sends and allowance, a pause, the window."""

    risk: str = "green"
    risk_reasons: list[dict[str, str]] = []
    today_sent: int = 0
    today_allowance: int = 0
    urgent_reserve: int = 0
    paused: bool = False
    pause_text: str = ""
    pause_until: str = ""
    quiet_text: str = ""
    _number_read_at: float = 0.0

    def _refresh_number(self, org_id: uuid.UUID | str, *, force: bool = False) -> None:
        """Read the number again when something about it changed, else at most every NUMBER_REFRESH_SECONDS
        (its health reads a week of messages: not on every message that moves)."""
        if force or time.monotonic() - self._number_read_at >= NUMBER_REFRESH_SECONDS:
            self._read_number(org_id)

    def _read_number(self, org_id: uuid.UUID | str) -> dict[str, Any]:
        """Read the number's state (deliverability/status.py) into the page's fields; returns the raw view."""
        org_id = uuid.UUID(str(org_id))
        self._number_read_at = time.monotonic()
        with session_scope() as session:
            view = status.number_health(session=session, org_id=org_id)
            zone = localtime.org_zone(session=session, org_id=org_id)
        self.risk = view["risk"]
        self.risk_reasons = [{"code": r["code"], "level": r["level"], "text": r["text"]} for r in view["reasons"]]
        self.today_sent, self.today_allowance = view["today"]["sent"], view["today"]["allowance"]
        self.urgent_reserve = view["today"]["urgent_reserve"]
        self.paused = view["paused"]
        self.pause_text = view["pause_text"] or ""
        until = view["paused_until"]
        self.pause_until = localtime.format_local(_instant(until), zone) if until else ""
        opens = view["window"]["next_open"]
        self.quiet_text = (strings.QUIET_NOW.format(until=localtime.format_local(_instant(opens), zone))
                           if opens else "")
        return view


def _instant(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso)
