"""An organisation's sending rules (typing, quiet hours and days off, daily cap, warm-up): read, changed, audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core import events
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability.models import WEEKDAYS, SendingRules, WaitReason
from fleet_dashboard.deliverability.window import QuietWindow, parse_hhmm

MAX_DAILY_CAP = 1_000_000


@dataclass(frozen=True)
class Rules:
    """What the guards read; `view()` is the shape of GET|PUT /api/settings/sending."""

    typing: bool = True
    quiet_start: str | None = None
    quiet_end: str | None = None
    days_off: tuple[str, ...] = field(default=())
    daily_cap: int = 1000
    warmup: bool = True

    @property
    def window(self) -> QuietWindow:
        return QuietWindow.of(self.quiet_start, self.quiet_end, self.days_off)

    def view(self) -> dict[str, Any]:
        return {"typing": self.typing,
                "quiet_hours": {"start": self.quiet_start, "end": self.quiet_end, "days_off": list(self.days_off)},
                "daily_cap": self.daily_cap, "warmup": self.warmup}


def defaults() -> Rules:
    """The rules of an organisation that set none: TYPING_PRESENCE, QUIET_HOURS_*, DAYS_OFF, DAILY_CAP, WARMUP."""
    s = get_settings()
    days = tuple(d for d in (x.strip().lower() for x in s.days_off.split(",")) if d)
    return _checked(Rules(typing=s.typing_presence, quiet_start=s.quiet_hours_start, quiet_end=s.quiet_hours_end,
                          days_off=days, daily_cap=s.daily_cap, warmup=s.warmup))


def _of_row(row: SendingRules) -> Rules:
    return Rules(typing=row.typing, quiet_start=row.quiet_start, quiet_end=row.quiet_end,
                 days_off=tuple(row.days_off or ()), daily_cap=row.daily_cap, warmup=row.warmup)


def get_rules(*, session: Session, org_id: uuid.UUID) -> Rules:
    """The organisation's rules, or the defaults when it set none."""
    row = session.get(SendingRules, org_id)
    return _of_row(row) if row is not None else defaults()


def rules_for(*, session: Session, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, Rules]:
    """Many organisations' rules in one read (the worker's refresh)."""
    found: dict[uuid.UUID, Rules] = {}
    if org_ids:
        rows = session.execute(text("SELECT * FROM sending_rules WHERE org_id = ANY(:ids)"), {"ids": list(org_ids)})
        found = {r.org_id: _of_row(SendingRules(**r._mapping)) for r in rows}
    base = defaults()
    return {org_id: found.get(org_id, base) for org_id in org_ids}


def _invalid(message: str, code: str, **params: Any) -> ValidationError:
    return ValidationError(message, code=code, **params)


def _checked(rules: Rules) -> Rules:
    """The rules normalised ("8:00" -> "08:00", "Friday" -> "friday"), or ValidationError with a precise code."""
    try:
        start, end = parse_hhmm(rules.quiet_start), parse_hhmm(rules.quiet_end)
    except ValueError as exc:
        raise _invalid(f"quiet hours: {exc}; write HH:MM, e.g. 22:00", "invalid_quiet_hours") from exc
    if (start is None) != (end is None):
        raise _invalid("quiet hours need both a start and an end (or neither)", "invalid_quiet_hours")
    if start is not None and start == end:
        raise _invalid("quiet hours must end at another time than they start", "invalid_quiet_hours")
    days = []
    for day in rules.days_off:
        name = str(day).strip().lower()
        if name not in WEEKDAYS:
            raise _invalid(f"unknown day {str(day)[:20]!r}: use {', '.join(WEEKDAYS)}", "invalid_day_off")
        if name not in days:
            days.append(name)
    if len(days) == len(WEEKDAYS):
        raise _invalid("at least one day must stay open for sending", "invalid_day_off")
    if isinstance(rules.daily_cap, bool) or not isinstance(rules.daily_cap, int) or \
            not 1 <= rules.daily_cap <= MAX_DAILY_CAP:
        raise _invalid(f"daily_cap must be a whole number from 1 to {MAX_DAILY_CAP}", "invalid_daily_cap",
                       limit=MAX_DAILY_CAP)
    if not isinstance(rules.typing, bool) or not isinstance(rules.warmup, bool):
        raise _invalid("typing and warmup are true or false", "validation")
    days.sort(key=WEEKDAYS.index)
    return replace(rules, quiet_start=start.strftime("%H:%M") if start else None,
                   quiet_end=end.strftime("%H:%M") if end else None, days_off=tuple(days))


def merged(current: Rules, body: Mapping[str, Any]) -> Rules:
    """A PUT body over the current rules: fields left out keep their value; `"quiet_hours": null` clears them."""
    if not isinstance(body, Mapping):
        raise _invalid("the body must be an object", "validation")
    unknown = set(body) - {"typing", "quiet_hours", "daily_cap", "warmup"}
    if unknown:
        raise _invalid(f"unknown field(s): {', '.join(sorted(map(str, unknown)))[:100]}", "validation")
    values = asdict(current)
    for key in ("typing", "daily_cap", "warmup"):
        if key in body:
            values[key] = body[key]
    if "quiet_hours" in body:
        quiet = body["quiet_hours"]
        if quiet is None:
            values.update(quiet_start=None, quiet_end=None, days_off=())
        elif isinstance(quiet, Mapping):
            extra = set(quiet) - {"start", "end", "days_off"}
            if extra:
                raise _invalid(f"unknown quiet_hours field(s): {', '.join(sorted(map(str, extra)))[:100]}",
                               "validation")
            for key, name in (("start", "quiet_start"), ("end", "quiet_end")):
                if key in quiet:
                    if quiet[key] is not None and not isinstance(quiet[key], str):
                        raise _invalid("quiet hours are written HH:MM", "invalid_quiet_hours")
                    values[name] = quiet[key]
            if "days_off" in quiet:
                days = quiet["days_off"]
                if days is None:
                    days = []
                if not isinstance(days, list | tuple) or not all(isinstance(d, str) for d in days):
                    raise _invalid("days_off is a list of weekday names", "invalid_day_off")
                values["days_off"] = tuple(days)
        else:
            raise _invalid("quiet_hours is an object {start, end, days_off} or null", "invalid_quiet_hours")
    return _checked(Rules(**values))


def changed_event(org_id: uuid.UUID, what: str) -> dict[str, Any]:
    """The `sending.changed` bus event: the worker re-reads the organisation's guards, pages recount."""
    return {"type": events.EventType.sending_changed.value, "org_id": str(org_id), "what": what}


# Rows that waited for a rule (quiet hours, the cap) are looked at again now: the worker holds them anew if needed.
_RELEASE_HELD = text("""
UPDATE notification_queue SET scheduled_for = now(), wait_reason = NULL
WHERE org_id = :org AND status = 'pending' AND wait_reason = ANY(:reasons) AND scheduled_for > now()
""")


def set_rules(*, session: Session, org_id: uuid.UUID, actor: Actor, body: Mapping[str, Any]) -> Rules:
    """Change the organisation's rules (owners and admins), audited with what changed, in the caller's transaction."""
    permissions.require(actor, Action.sending, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    before = get_rules(session=session, org_id=org_id)
    after = merged(before, body)
    values = {"typing": after.typing, "quiet_start": after.quiet_start, "quiet_end": after.quiet_end,
              "days_off": list(after.days_off), "daily_cap": after.daily_cap, "warmup": after.warmup,
              "updated_at": utcnow()}
    session.execute(insert(SendingRules).values(org_id=org_id, **values)
                    .on_conflict_do_update(index_elements=["org_id"], set_=values))
    old, new = before.view(), after.view()
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="sending_rules_changed",
                        before={k: v for k, v in old.items() if new[k] != v},
                        after={k: v for k, v in new.items() if old[k] != v})
    released = session.execute(_RELEASE_HELD, {"org": org_id, "reasons": [WaitReason.quiet_hours.value,
                                                                          WaitReason.daily_cap.value]}).rowcount
    events.emit(session, changed_event(org_id, "rules"))
    if released:
        events.emit(session, {"type": events.EventType.queue_wake.value, "org_id": str(org_id)})
    return after
