"""The worker's side of the sending guards: each owned organisation's budget (rules, window, allowance, pause,
pace) kept fresh in memory, and what it means for a claim: who may send now, which rows wait, until when, why.

The worker is the only sender of an organisation (its engine holds the lease), so today's count lives here
between reads: each send adds one; the database is read again on a new local day, a new owner, or a change."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable

from sqlmodel import Session

from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import contacts, status
from fleet_dashboard.deliverability.models import WaitReason
from fleet_dashboard.notifications.claims import Claimed, Hold, Outcome

log = logging.getLogger(__name__)
# Budgets are read again this often (and at once after `sending.changed`).
REFRESH_SECONDS = 5.0
# A held organisation's due rows are re-timed at most this often (new rows are timed when queued).
DEFER_EVERY_SECONDS = 10.0
# Half pace: an organisation's sends spaced this many times the usual gap.
SLOW_FACTOR = 2.0


class Guards:
    """Per organisation: may it send now (everything, urgent only, nothing), and how many more today."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = get_settings().sending_guards if enabled is None else enabled
        self.budgets: dict[uuid.UUID, status.Budget] = {}
        self._read_at = 0.0
        self._stale: set[uuid.UUID] = set()
        self._deferred_at: dict[uuid.UUID, float] = {}
        self._known: dict[tuple[uuid.UUID, str], contacts.Answer] = {}

    # Reading ------------------------------------------------------------------------------------------------
    def changed(self, org_id: uuid.UUID | None) -> None:
        """`sending.changed` (or a new owner): read this organisation's budget again before its next claim."""
        if org_id is None:
            self._read_at = 0.0
        else:
            self._stale.add(org_id)

    def due(self, org_ids: Iterable[uuid.UUID]) -> bool:
        """Whether the budgets must be read again (time, a change, an organisation not read yet)."""
        if not self.enabled:
            return False
        return (time.monotonic() - self._read_at >= REFRESH_SECONDS or bool(self._stale)
                or any(o not in self.budgets for o in org_ids))

    def refresh(self, session: Session, org_ids: list[uuid.UUID]) -> None:
        """Read every owned organisation's budget in one go (runs in the worker's thread)."""
        kept = {o: (b.day, b.sent) for o, b in self.budgets.items() if o not in self._stale and b.day is not None}
        self.budgets = status.budgets(session=session, org_ids=org_ids, sent=kept)
        self._stale.clear()
        self._read_at = time.monotonic()

    def pace(self, throttle) -> None:
        """Half pace for the organisations at risk or just back from a ban, normal pace for the rest."""
        for org_id, b in self.budgets.items():
            throttle.set_pace(org_id, SLOW_FACTOR if b.slow else 1.0)

    # Claiming -----------------------------------------------------------------------------------------------
    def split(self, org_ids: Iterable[uuid.UUID], backlog: dict[uuid.UUID, int]) -> tuple[list, list, list[Hold]]:
        """Organisations that may send anything, those that may send urgent rows only, and every hold to apply."""
        if not self.enabled:
            return list(org_ids), [], []
        now = utcnow()
        open_ids, urgent_ids, holds = [], [], []
        for org_id in org_ids:
            b = self.budgets.get(org_id)
            if b is None:
                continue
            used = b.sent + backlog.get(org_id, 0)
            until, reason = b.hold(urgent=False, used=used, now=now)
            if reason is None:
                open_ids.append(org_id)
                continue
            urgent_until, urgent_reason = b.hold(urgent=True, used=used, now=now)
            if urgent_reason is None:
                urgent_ids.append(org_id)
            holds.append(Hold(org_id, until, reason.value, urgent_too=urgent_reason is not None))
        return open_ids, urgent_ids, holds

    def holds_to_apply(self, holds: list[Hold]) -> list[Hold]:
        """The holds whose rows were not re-timed lately (rows queued meanwhile were timed when queued)."""
        now = time.monotonic()
        fresh = [h for h in holds if now - self._deferred_at.get(h.org_id, 0.0) >= DEFER_EVERY_SECONDS]
        for h in fresh:
            self._deferred_at[h.org_id] = now
        open_now = {o for o in self._deferred_at if o not in {h.org_id for h in holds}}
        for org_id in open_now:  # open again: the next hold is re-timed at once
            del self._deferred_at[org_id]
        return fresh

    def admit(self, rows: list[Claimed], backlog: dict[uuid.UUID, int]
              ) -> tuple[list[Claimed], list[tuple[Claimed, Outcome]]]:
        """Keep the claimed rows today's allowance has room for; the rest wait for tomorrow (released)."""
        if not self.enabled:
            return rows, []
        used = dict(backlog)
        kept, waiting = [], []
        now = utcnow()
        for row in rows:
            b = self.budgets.get(row.org_id)
            if b is None:
                kept.append(row)
                continue
            until, reason = b.hold(urgent=row.urgent, used=b.sent + used.get(row.org_id, 0), now=now)
            if reason is None:
                kept.append(row)
                used[row.org_id] = used.get(row.org_id, 0) + 1
            else:
                waiting.append((row, self.wait(row, until, reason)))
        return kept, waiting

    def check(self, row: Claimed, in_flight: int) -> Outcome | None:
        """Just before a send: a row whose organisation became held since the claim waits instead."""
        b = self.budgets.get(row.org_id) if self.enabled else None
        if b is None:
            return None
        until, reason = b.hold(urgent=row.urgent, used=b.sent + in_flight)
        return None if reason is None else self.wait(row, until, reason)

    @staticmethod
    def wait(row: Claimed, until, reason: WaitReason) -> Outcome:
        """A claimed row handed back to wait for a guard, at no attempt's cost."""
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="release", retry_at=until, wait=reason.value)

    # After the sends ----------------------------------------------------------------------------------------
    def count_sent(self, org_ids: Iterable[uuid.UUID]) -> None:
        """One more message went out for each organisation named (once per send)."""
        for org_id in org_ids:
            b = self.budgets.get(org_id)
            if b is not None:
                b.sent += 1

    def paused(self, org_id: uuid.UUID) -> bool:
        b = self.budgets.get(org_id)
        return bool(self.enabled and b is not None and b.pause is not None and
                    (b.pause.until is None or b.pause.until > utcnow()))

    def typing(self, org_id: uuid.UUID) -> bool:
        """Whether this organisation shows "typing..." before its sends."""
        b = self.budgets.get(org_id)
        return bool(self.enabled and (b is None or b.typing))

    # Look-ups -----------------------------------------------------------------------------------------------
    def answer(self, row: Claimed) -> contacts.Answer | None:
        """The recipient's fresh answer (the claim's, or one this worker learned since), or None: ask WhatsApp."""
        known = self._known.get((row.org_id, row.recipient_phone))
        if known is not None and contacts.fresh(known.on_whatsapp, known.checked_at):
            return known
        if contacts.fresh(row.known_on_whatsapp, row.known_checked_at):
            return contacts.Answer(row.recipient_phone, bool(row.known_on_whatsapp), row.known_jid,
                                   row.known_checked_at)
        return None

    def learn(self, org_id: uuid.UUID, answers: Iterable[contacts.Answer]) -> None:
        """Remember answers until they are in the cache table (rows claimed before that still use them)."""
        if len(self._known) > 100_000:
            self._known.clear()
        for a in answers:
            self._known[(org_id, a.phone)] = a

    def forget(self, org_id: uuid.UUID) -> None:
        """This process no longer owns the organisation."""
        self.budgets.pop(org_id, None)
        self._deferred_at.pop(org_id, None)
