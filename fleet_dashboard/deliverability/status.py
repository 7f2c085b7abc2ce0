"""Where a number stands now, in one read: its guards' verdict for a message due now, and the health view.

`hold(...)` is what the queue asks when it takes a message (does a guard hold it, until when, why);
`number_health(...)` is `GET /api/number-health` and the home page's risk card."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.models import Organization
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import allowance, health, pauses, rules, state
from fleet_dashboard.deliverability.models import Risk, SendingPause, SendingState, WaitReason
from fleet_dashboard.deliverability.window import QuietWindow


@dataclass
class Budget:
    """One organisation's guards: who may send at a moment, and until when the others wait.

    `sent` is what went out today when read; the worker adds its own sends to it as they happen."""

    zone: ZoneInfo
    window: QuietWindow
    allowed: int  # today's allowance
    reserve: int  # urgent messages' extra room
    sent: int  # went out today
    pause: SendingPause | None
    now: datetime
    typing: bool = True
    slow: bool = False  # half pace: just back from a ban, or the risk is red
    day: date | None = None  # the local day `allowed` and `sent` are for
    # The window's answer for the last minute asked about: it changes only from one minute to the next (the
    # window is in whole minutes, zones' offsets too), and the worker asks for every row it claims.
    _quiet: tuple[datetime, datetime | None] | None = field(default=None, repr=False, compare=False)

    def quiet_until(self, now: datetime | None = None) -> datetime | None:
        now = now or self.now
        minute = now.replace(second=0, microsecond=0)
        if self._quiet is None or self._quiet[0] != minute:
            self._quiet = (minute, self.window.next_open(now, self.zone))
        return self._quiet[1]

    def tomorrow(self, now: datetime | None = None) -> datetime:
        """When a spent allowance is whole again (the next local day, after its own quiet hours)."""
        start = allowance.next_day(now or self.now, self.zone)
        return self.window.next_open(start, self.zone) or start

    def hold(self, *, urgent: bool, used: int | None = None,
             now: datetime | None = None) -> tuple[datetime | None, WaitReason | None]:
        """Until when (and why) a message due now waits; (None, None) when it may go now.

        `used`: sends already counted against today (sent, plus those in flight)."""
        now = now or self.now
        used = self.sent if used is None else used
        if self.pause is not None and (self.pause.until is None or self.pause.until > now):
            return self.pause.until, WaitReason.paused
        limit = self.allowed + (self.reserve if urgent else 0)
        if used >= limit:
            return self.tomorrow(now), WaitReason.daily_cap
        if not urgent and (until := self.quiet_until(now)) is not None:
            return until, WaitReason.quiet_hours
        return None, None


def _make(now: datetime, zone: ZoneInfo, r: rules.Rules, st: SendingState, pause: SendingPause | None,
          sent: int) -> Budget:
    today = localtime.local_today(zone, now=now)
    allowed = allowance.allowance(daily_cap=r.daily_cap, warmup=r.warmup, linked_at=st.linked_at, today=today,
                                  zone=zone)
    slow = st.risk == Risk.red.value or (st.slow_until is not None and st.slow_until > now)
    return Budget(zone=zone, window=r.window, allowed=allowed, reserve=allowance.reserve(allowed), sent=sent,
                  pause=pause, now=now, typing=r.typing, slow=slow, day=today)


def _sent_today(session: Session, org_id: uuid.UUID, zone: ZoneInfo, now: datetime) -> int:
    today_start = localtime.day_start(localtime.local_today(zone, now=now), zone)
    return allowance.sent_since(session=session, org_id=org_id, since=today_start)


def budget(*, session: Session, org_id: uuid.UUID, now: datetime | None = None) -> Budget:
    """Read the organisation's rules, state, pause and today's sends (a few primary-key reads and one count)."""
    now = now or utcnow()
    zone = localtime.org_zone(session=session, org_id=org_id)
    return _make(now, zone, rules.get_rules(session=session, org_id=org_id), state.get_state(session=session,
                 org_id=org_id), pauses.active(session=session, org_id=org_id, now=now),
                 _sent_today(session, org_id, zone, now))


def budgets(*, session: Session, org_ids: list[uuid.UUID], sent: dict[uuid.UUID, tuple[date, int]],
            now: datetime | None = None) -> dict[uuid.UUID, Budget]:
    """Many organisations' budgets in a handful of reads (the worker's refresh). `sent`: today's count the caller
    already keeps per organisation, by local day; only the others (or a new day) are counted here."""
    now = now or utcnow()
    if not org_ids:
        return {}
    zones = {o.id: localtime.zone_of(o) for o in session.exec(select(Organization)
                                                                .where(Organization.id.in_(org_ids)))}
    all_rules = rules.rules_for(session=session, org_ids=org_ids)
    states = {s.org_id: s for s in session.exec(select(SendingState).where(SendingState.org_id.in_(org_ids)))}
    paused = pauses.paused_org_ids(session=session, org_ids=org_ids)
    out = {}
    for org_id in org_ids:
        zone = zones.get(org_id) or localtime.zone_of(None)
        known = sent.get(org_id)
        today = localtime.local_today(zone, now=now)
        count = known[1] if known is not None and known[0] == today else _sent_today(session, org_id, zone, now)
        out[org_id] = _make(now, zone, all_rules[org_id], states.get(org_id) or SendingState(org_id=org_id),
                            paused.get(org_id), count)
    return out


def guards_on() -> bool:
    """SENDING_GUARDS: off only to measure what the guards cost."""
    return get_settings().sending_guards


def wait_text(reason: str | None, until: datetime | None, zone: ZoneInfo | str) -> str | None:
    """Why a message waits and when it goes, in Arabic (None when it does not wait)."""
    if not reason:
        return None
    when = strings.WAIT_AT.format(when=localtime.format_local(until, zone)) if until else strings.WAIT_UNTIL_RESUMED
    return strings.error_text(reason, until=when)


def number_health(*, session: Session, org_id: uuid.UUID) -> dict[str, Any]:
    """`GET /api/number-health`: the risk and its reasons, the pause, today's sends and allowance, the window."""
    b = budget(session=session, org_id=org_id)
    h = health.compute(session=session, org_id=org_id, now=b.now)
    pause = pauses.view(b.pause)
    quiet_until = b.quiet_until()
    return {
        "risk": h.risk, "reasons": health.reasons_view(h.reasons),
        "paused": pause["paused"], "pause_reason": pause["pause_reason"],
        "pause_text": strings.error_text(b.pause.reason) if b.pause else None,
        "paused_at": pause["paused_at"], "paused_until": pause["paused_until"],
        "today": {"sent": b.sent, "allowance": b.allowed, "urgent_reserve": b.reserve},
        "window": {"quiet_now": quiet_until is not None,
                   "next_open": quiet_until.isoformat() if quiet_until else None},
        "stats": h.figures(),
    }


def time_rows(*, session: Session, org_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """Time new queue rows as the guards will (quiet hours, the daily cap, a pause): each row's `scheduled_for`
    then says when it goes and `wait_reason` why. The worker checks again at send time; this is what the
    caller is told now. A row needs `scheduled_for` and `urgent`."""
    if not rows or not guards_on():
        return
    b = budget(session=session, org_id=org_id)
    used = b.sent
    for row in rows:
        due = row["scheduled_for"]
        if due <= b.now:
            until, reason = b.hold(urgent=row["urgent"], used=used)
            used += reason is None
        else:  # a later time that falls in the quiet hours moves to their end
            until = None if row["urgent"] else b.window.next_open(due, b.zone)
            reason = WaitReason.quiet_hours if until else None
        if reason is not None:
            row["wait_reason"] = reason.value
            row["scheduled_for"] = until or due
