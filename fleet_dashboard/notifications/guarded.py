"""The worker's turns through the sending guards: budgets read, held rows re-timed, recipients looked up, each row
checked before it goes, a danger pausing its organisation, and the number's health recomputed now and then.

A mixin of notifications/worker.Worker: it reads `engine`, `throttle`, `guards`, `_backlog`, `_db_call` and
`_owe_back` from it."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import Any

from sqlmodel import Session

from fleet_dashboard.core import events
from fleet_dashboard.core.events import EventType
from fleet_dashboard.deliverability import contacts, pauses
from fleet_dashboard.notifications import claims as queue_claims
from fleet_dashboard.notifications import lookups, queue
from fleet_dashboard.notifications.claims import Claimed, Hold, Outcome
from fleet_dashboard.notifications.guards import Guards
from fleet_dashboard.notifications.wave import prepare

log = logging.getLogger(__name__)


class GuardedTurns:
    """What the guards add to a worker's turn (see the module docstring for what it needs of the worker)."""

    guards: Guards
    _health: lookups.HealthWatch
    _backlog: dict[uuid.UUID, deque[tuple[Claimed, float]]]

    def _init_guards(self) -> None:
        self.guards = Guards()
        self._health = lookups.HealthWatch()

    async def _refresh_guards(self, connected: set[uuid.UUID]) -> None:
        """Read the owned organisations' budgets again (rules, pause, allowance, pace) when they may have changed."""
        if not self.guards.due(connected):
            return
        ids = sorted(connected, key=str)
        for gone in set(self.guards.budgets) - connected:
            self.guards.forget(gone)
        await self._db_call(lambda s: self.guards.refresh(s, ids))
        self.guards.pace(self.throttle)

    async def _hold(self, holds: list[Hold]) -> None:
        """Re-time the due rows of held organisations (quiet hours, the cap, a pause): when they go, and why."""
        if not holds:
            return

        def work(session: Session) -> None:
            for org_id in sorted(queue_claims.defer(conn=session.connection(), holds=holds), key=str):
                events.emit(session, queue.changed_event(org_id))

        await self._db_call(work)

    def _guarded(self, wave: list[Claimed], outcomes: list[Outcome]) -> list[Claimed]:
        """The wave's rows its organisations' guards still let go (quiet hours may have begun since the claim)."""
        ahead: dict[uuid.UUID, int] = {}
        sendable = []
        for row in wave:
            verdict = prepare(row)
            if verdict is None and self.guards.enabled:
                verdict = self.guards.check(row, ahead.get(row.org_id, 0))
            if verdict is not None:
                outcomes.append(verdict)
                continue
            ahead[row.org_id] = ahead.get(row.org_id, 0) + 1
            row.typing = self.guards.typing(row.org_id)
            sendable.append(row)
        return sendable

    async def _look_up(self, rows: list[Claimed], outcomes: list[Outcome]) -> list[Claimed]:
        """Ask WhatsApp about recipients not in the cache; with a throttle, the rows answered yes go back to the
        front of their organisation's line (the look-up took this turn's slot)."""
        def extra(org_id: uuid.UUID) -> list[Claimed]:
            return [r for r, _ in self._backlog.get(org_id, ())]

        async def store(answers) -> None:
            await self._db_call(lambda s: contacts.record(session=s, answers=answers))

        ready, asked, more = await lookups.resolve(engine=self.engine, guards=self.guards, rows=rows, extra=extra,
                                                   store=store)
        outcomes += more
        if not self.throttle.enabled:
            return ready + asked
        for row in reversed(asked):
            self._backlog.setdefault(row.org_id, deque()).appendleft((row, row.deadline))
        return ready

    async def _pause_on_danger(self, outcomes: list[Outcome]) -> None:
        """A send showed WhatsApp restricts the number: pause its organisation now, hand its claimed rows back."""
        dangers: dict[uuid.UUID, Outcome] = {}
        for outcome in outcomes:  # the first answer says why (the sends held behind it only repeat it)
            if outcome.danger and outcome.org_id is not None:
                dangers.setdefault(outcome.org_id, outcome)
        for org_id, outcome in dangers.items():
            def work(session: Session, org_id=org_id, outcome=outcome) -> None:
                pauses.pause(session=session, org_id=org_id, reason=outcome.danger, detail=outcome.error or "")

            await self._db_call(work)
            self.guards.changed(org_id)
            self._owe_back(row for row, _ in self._backlog.pop(org_id, ()))

    async def _check_health(self) -> None:
        """Now and then, recompute the health of the organisations that sent: red alerts and halves the pace."""
        for org_id in self._health.due(self._connected_orgs()):
            def work(session: Session, org_id=org_id) -> str:
                return self._health.check(session, org_id)

            try:
                await self._db_call(work)
            except Exception:
                log.exception("number health of %s could not be computed", org_id)
            self.guards.changed(org_id)

    def _sending_changed(self, events: list[dict[str, Any]]) -> None:
        """`sending.changed` events: those organisations' budgets are read again before their next claim."""
        for event in events:
            if event.get("type") == EventType.sending_changed:
                try:
                    self.guards.changed(uuid.UUID(str(event.get("org_id"))))
                except ValueError:
                    continue
