"""The engine's writes: whatsapp_sessions (one transaction per transition, with its audit row and event), and the
receipts and replies its gateways report (kept until the database takes them)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError

from fleet_dashboard.accounts import audit
from fleet_dashboard.core import events, phones
from fleet_dashboard.core.backoff import backoff_delay
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.events import EventType
from fleet_dashboard.deliverability import pauses, state
from fleet_dashboard.messaging import inbound, messages, optouts
from fleet_dashboard.notifications import claims
from fleet_dashboard.whatsapp.gateway import Inbound, Receipt
from fleet_dashboard.whatsapp.models import WhatsAppSession
from fleet_dashboard.whatsapp.sessions import status_view

TABLE = WhatsAppSession.__table__
log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """This engine no longer holds the organisation (another took it over since): it must write nothing more
    about it, stop its client, and drop its later events."""


@dataclass(frozen=True, slots=True)
class Fence:
    """What an engine took an organisation over with: its id and the session's lease generation at that moment.
    Every write about the session names both, so a write of a stale engine matches no row."""

    engine_id: str
    generation: int

    def where(self, query):
        return query.where(WhatsAppSession.engine_id == self.engine_id,
                           WhatsAppSession.lease_generation == self.generation)


def hold_fence(session, org_id: uuid.UUID, fence: Fence | None) -> None:
    """Inside a write's transaction: raise LeaseLost unless this engine still holds the organisation, and keep
    the row shared-locked until the commit, so no takeover lands in between."""
    if fence is None:
        return
    query = fence.where(select(WhatsAppSession.org_id).where(WhatsAppSession.org_id == org_id)).with_for_update(
        read=True)
    if session.execute(query).first() is None:
        raise LeaseLost(f"{fence.engine_id} no longer holds {org_id} (generation {fence.generation})")


def load(org_id: uuid.UUID) -> WhatsAppSession | None:
    """The organisation's session row, detached."""
    with session_scope() as session:
        return session.execute(select(WhatsAppSession).where(WhatsAppSession.org_id == org_id)).scalar()


def commands(org_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str | None, int]]:
    """Each organisation's last requested command and its number (sessions._command writes them)."""
    if not org_ids:
        return {}
    with session_scope() as session:
        query = select(WhatsAppSession.org_id, WhatsAppSession.command, WhatsAppSession.command_seq).where(
            WhatsAppSession.org_id.in_(org_ids))
        return {org_id: (command, seq) for org_id, command, seq in session.execute(query)}


def transition(
    org_id: uuid.UUID,
    values: dict[str, Any],
    *,
    audit_type: str | None = None,
    audit_data: dict[str, Any] | None = None,
    require_enabled: bool = True,
    fence: Fence | None = None,
) -> WhatsAppSession | None:
    """Write a change, its audit row and its `session.status` event; None if the user disabled it.

    With `fence`, only while that engine still holds the organisation at that generation: LeaseLost if not."""
    with session_scope() as session:
        query = update(WhatsAppSession).where(WhatsAppSession.org_id == org_id)
        if require_enabled:
            query = query.where(WhatsAppSession.enabled.is_(True))
        if fence is not None:
            query = fence.where(query)
        query = query.values(**values, updated_at=func.now()).returning(WhatsAppSession)
        row = session.execute(query).scalar()
        if row is None:
            hold_fence(session, org_id, fence)  # not ours any more, or only disabled
            return None
        if audit_type:
            audit.record(session=session, org_id=org_id, session_id=row.id, event_type=audit_type,
                         event_data={"status": row.status, **(audit_data or {})})
        events.emit(session, {"type": EventType.session_status, **status_view(row)})
        return row


def clear_unlink(org_id: uuid.UUID, jid: str, values: dict[str, Any], *, audit_data: dict[str, Any],
                 fence: Fence | None = None) -> None:
    """The device a user logged out is unlinked: forget it, unless the row already asks for another one."""
    with session_scope() as session:
        hold_fence(session, org_id, fence)
        query = (update(WhatsAppSession).where(WhatsAppSession.org_id == org_id, WhatsAppSession.unlink_jid == jid)
                 .values(**values, updated_at=func.now()).returning(WhatsAppSession))
        row = session.execute(query).scalar()
        if row is None:
            return
        audit.record(session=session, org_id=org_id, session_id=row.id, event_type="device_unlinked",
                     event_data={"status": row.status, **audit_data})
        events.emit(session, {"type": EventType.session_status, **status_view(row)})


def apply_receipts(groups: dict[tuple[uuid.UUID, str], list[str]], chats: dict[str, str] | None = None) -> None:
    """Record receipts, one transaction per organisation and kind so one bad group loses nothing else; `chats`
    (message id -> the number or `<user>@lid` it came from) lets a receipt settle an `unknown` send, whose
    notification is then completed."""
    chats = chats or {}
    for (org_id, kind), ids in groups.items():
        with session_scope() as session:
            changed = messages.apply_receipt(session=session, org_id=org_id, whatsapp_message_ids=ids, kind=kind,
                                             chats=chats, number_of=lambda chat, s=session: _number(s, chat))
            claims.settle_unknown(conn=session.connection(), org_id=org_id, message_ids=changed)


def _number(session, chat: str) -> str | None:
    return chat if chat.startswith("+") else resolve_lid(session, chat)


def resolve_lid(session, chat: str) -> str | None:
    """The E.164 number whatsmeow's store maps a `<user>@lid` to, if it knows it yet."""
    user, _, server = chat.partition("@")
    if server != "lid" or not user:
        return None
    if session.execute(text("SELECT to_regclass('whatsmeow_lid_map') IS NOT NULL")).scalar() is not True:
        return None
    pn = session.execute(text("SELECT pn FROM whatsmeow_lid_map WHERE lid = :lid"), {"lid": user}).scalar()
    return f"+{pn}" if pn else None


def record_inbound(org_id: uuid.UUID, sender: str, text: str, message_id: str) -> str | None:
    """Act on opt-out keywords, keep the reply and publish it; returns what the opt-out list did.

    A message WhatsApp delivers a second time (same id) is kept once and published once. A sender known only by
    its LID is kept under it (a STOP too) when the store cannot map it yet; `map_lids` moves it later."""
    with session_scope() as session:
        if phones.is_lid(sender):
            sender = resolve_lid(session, sender) or sender
        outcome = optouts.handle_inbound(session=session, org_id=org_id, phone=sender, text=text)
        row = inbound.record(session=session, org_id=org_id, sender=sender, body=text,
                             whatsapp_message_id=message_id, opt_out=outcome)
        if row is not None:
            # Cut by bytes, not characters: emoji-heavy text must not push the event past NOTIFY's limit.
            events.emit(session, events.fit_text(inbound.inbound_event(row), "text"))
        return outcome


def map_lids(org_ids: list[uuid.UUID]) -> int:
    """Opt-outs and replies these organisations keep under a LID whose number whatsmeow's store now knows: moved to
    the number (an opt-out is never lost). Returns how many LIDs were mapped."""
    if not org_ids:
        return 0
    with session_scope() as session:
        if session.execute(text("SELECT to_regclass('whatsmeow_lid_map') IS NOT NULL")).scalar() is not True:
            return 0
        pending = session.execute(text(
            "SELECT DISTINCT x.org_id, x.phone, m.pn FROM ("
            " SELECT org_id, phone FROM whatsapp_opt_outs WHERE org_id = ANY(:orgs) AND phone LIKE '%@lid'"
            " UNION SELECT org_id, phone FROM whatsapp_inbound_messages WHERE org_id = ANY(:orgs)"
            " AND phone LIKE '%@lid') x"
            " JOIN whatsmeow_lid_map m ON m.lid = split_part(x.phone, '@', 1)"), {"orgs": list(org_ids)}).all()
        for org_id, lid, pn in pending:
            number = f"+{pn}"
            optouts.map_lid(session=session, org_id=org_id, lid=lid, phone=number)
            inbound.map_lid(session=session, org_id=org_id, lid=lid, phone=number)
        return len(pending)


# The most receipts and replies written in one go.
TRAFFIC_BATCH = 5000
Item = tuple[uuid.UUID, Receipt | Inbound]


class TrafficWriter:
    """One queue per engine; `run()` writes it. Writing an item twice is harmless (receipts only move forward, a
    reply is kept once per WhatsApp id), losing one is not: a batch the database refused is written again."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._held: list[Item] = []

    def put(self, org_id: uuid.UUID, event: Receipt | Inbound) -> None:
        self._queue.put_nowait((org_id, event))

    async def drained(self) -> None:
        """Wait until everything queued so far was handed to the writer."""
        while not self._queue.empty():
            await asyncio.sleep(0.05)

    async def run(self) -> None:
        failures = 0
        while True:
            if not self._held:
                self._held.append(await self._queue.get())
            while not self._queue.empty() and len(self._held) < TRAFFIC_BATCH:
                self._held.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(write_traffic, self._held)
                self._held, failures = [], 0
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning("could not record %d receipts or inbound messages (%s); keeping them to try "
                                "again", len(self._held), exc)
                await asyncio.sleep(backoff_delay(failures, base=0.25, cap=2.0))


def write_traffic(items: list[Item]) -> None:
    """Receipts batched per organisation and kind; an inbound message first flushes what came before."""
    groups: dict[tuple[uuid.UUID, str], list[str]] = defaultdict(list)
    chats: dict[str, str] = {}
    for org_id, event in items:
        if isinstance(event, Receipt):
            groups[(org_id, event.kind)].extend(event.message_ids)
            if event.chat:
                chats.update(dict.fromkeys(event.message_ids, event.chat))
            continue
        if groups:
            apply_receipts(groups, chats)
            groups, chats = defaultdict(list), {}
        try:
            record_inbound(org_id, event.sender, event.text, event.message_id)
        except (OperationalError, InterfaceError):
            raise  # the database is away: the caller keeps the batch and writes it again
        except Exception:
            log.exception("could not record an inbound message for %s", org_id)
    if groups:
        apply_receipts(groups, chats)
def pause(org_id: uuid.UUID, reason: str, detail: str = "", until=None, *, fence: Fence | None = None) -> None:
    """The engine saw a danger to the number (a ban, failing sends, a lost device): its sending pauses."""
    with session_scope() as session:
        hold_fence(session, org_id, fence)
        pauses.pause(session=session, org_id=org_id, reason=reason, detail=detail, until=until)


def linked(org_id: uuid.UUID, phone: str, *, fence: Fence | None = None) -> None:
    """A device was linked for this number: warm-up starts for a new number; a pause for a lost device ends."""
    with session_scope() as session:
        hold_fence(session, org_id, fence)
        state.record_link(session=session, org_id=org_id, phone=phone)
        pauses.end_on_relink(session=session, org_id=org_id)
