"""Before the first send to a number, ask WhatsApp whether it is on WhatsApp: in batches, paced like sends.

A no fails the row with `not_on_whatsapp` (nothing sent, no retry). A look-up that fails is not a no: the row
waits (`lookup_failed`) and is asked about again later, at no attempt's cost."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from fleet_dashboard.core.errors import NotConnected
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import contacts, health
from fleet_dashboard.deliverability.models import WaitReason
from fleet_dashboard.notifications.claims import Claimed, Outcome
from fleet_dashboard.notifications.guards import Guards

log = logging.getLogger(__name__)
NOT_ON_WHATSAPP = "not_on_whatsapp"


def not_on_whatsapp(row: Claimed) -> Outcome:
    return Outcome(queue_id=row.id, message_id=row.message_id, kind="failed", code=NOT_ON_WHATSAPP,
                   error=f"{row.recipient_phone} is not on WhatsApp: nothing was sent, and it is not retried")


def _failed(row: Claimed, exc: BaseException) -> Outcome:
    if isinstance(exc, NotConnected):  # nothing was asked: hand it back as it was
        return Outcome(queue_id=row.id, message_id=row.message_id, kind="release")
    retry_at = utcnow() + timedelta(seconds=get_settings().lookup_retry_seconds)
    return Outcome(queue_id=row.id, message_id=row.message_id, kind="release", retry_at=retry_at,
                   wait=WaitReason.lookup_failed.value, code=WaitReason.lookup_failed.value,
                   error=f"could not ask WhatsApp whether {row.recipient_phone} is on WhatsApp: {exc}")


async def resolve(*, engine: Any, guards: Guards, rows: list[Claimed], extra: Callable[[uuid.UUID], list[Claimed]],
                  store: Callable[[list[tuple[uuid.UUID, contacts.Answer]]], Any]
                  ) -> tuple[list[Claimed], list[Claimed], list[Outcome]]:
    """Split rows about to be sent: (send now, answered just now, outcomes). Rows whose recipient is known go to
    "send now" (with the address WhatsApp gave); the others are asked about, one batch per organisation, joined by
    other claimed rows of that organisation (`extra`) so one paced call answers many."""
    ready, asked, outcomes = [], [], []
    need: dict[uuid.UUID, list[Claimed]] = {}
    for row in rows:
        answer = guards.answer(row)
        if answer is None:
            need.setdefault(row.org_id, []).append(row)
        elif answer.on_whatsapp:
            row.send_to = answer.jid
            ready.append(row)
        else:
            outcomes.append(not_on_whatsapp(row))
    if not need:
        return ready, asked, outcomes
    batch = get_settings().lookup_batch_size
    orgs = list(need)
    phones = {}
    for org_id in orgs:
        wanted = dict.fromkeys(r.recipient_phone for r in need[org_id] + extra(org_id) if guards.answer(r) is None)
        phones[org_id] = list(wanted)[:batch]
    results = await asyncio.gather(*(engine.look_up(org_id, phones[org_id]) for org_id in orgs),
                                   return_exceptions=True)
    learned: list[tuple[uuid.UUID, contacts.Answer]] = []
    for org_id, result in zip(orgs, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("look-up for %s failed: %s", org_id, result)
            outcomes += [_failed(row, result) for row in need[org_id]]
            continue
        now = utcnow()
        answers = [contacts.Answer(p, a.on_whatsapp, a.jid, now) for p, a in result.items()]
        guards.learn(org_id, answers)
        learned += [(org_id, a) for a in answers]
        for row in need[org_id]:
            answer = guards.answer(row)
            if answer is None:  # beyond this batch: asked about on a later turn
                outcomes.append(Outcome(queue_id=row.id, message_id=row.message_id, kind="release"))
            elif not answer.on_whatsapp:
                outcomes.append(not_on_whatsapp(row))
            else:
                row.send_to = answer.jid
                asked.append(row)
    if learned:
        await store(learned)
    return ready, asked, outcomes


class HealthWatch:
    """Recompute the health of organisations that sent lately (and of each newly owned one), every
    HEALTH_CHECK_SECONDS: turning red alerts the owner and halves the pace."""

    def __init__(self) -> None:
        self._dirty: set[uuid.UUID] = set()
        self._seen: set[uuid.UUID] = set()
        self._at = 0.0

    def touched(self, org_ids: set[uuid.UUID]) -> None:
        self._dirty |= org_ids

    def due(self, owned: set[uuid.UUID]) -> list[uuid.UUID]:
        """The organisations to look at now (none until the interval has passed)."""
        if time.monotonic() - self._at < get_settings().health_check_seconds:
            return []
        self._at = time.monotonic()
        fresh = owned - self._seen
        self._seen = (self._seen & owned) | owned
        todo, self._dirty = sorted((self._dirty & owned) | fresh, key=str), set()
        return todo

    @staticmethod
    def check(session: Session, org_id: uuid.UUID) -> str:
        """Compute and store one organisation's health; returns its risk level."""
        h = health.compute(session=session, org_id=org_id)
        health.record(session=session, org_id=org_id, health=h)
        return h.risk
