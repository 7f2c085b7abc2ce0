"""Simulator control commands as rows: the API writes one, the owning engine takes it once and answers it.

The `simulator.command` event only wakes the owner; an owner that missed it (the bus was reconnecting, or it
took the organisation a moment later) finds the row when it looks again, so a command is never carried by the
bus alone. A command nobody took in time is expired by the caller, so it can never happen after the caller
was told it failed. The log of what the simulated network accepted is read here too (`sent`, `sent_to`), so
the API's control routes need nothing from the engine package."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from fleet_dashboard.core import events
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.whatsapp.models import SimulatorSent

# Commands older than this are not taken any more (the caller gave up long before); answered ones are purged.
OPEN_SECONDS = 60
KEEP_SECONDS = 3600
EXPIRED = "expired: no engine took this command in time"


def submit(org_id: uuid.UUID, action: str, body: dict[str, Any]) -> str:
    """Store a command and wake the engines, in one transaction; returns its id."""
    command_id = uuid.uuid4()
    with session_scope() as session:
        session.execute(text("INSERT INTO simulator_commands (id, org_id, action, body) "
                             "VALUES (:id, :org, :action, CAST(:body AS jsonb))"),
                        {"id": command_id, "org": org_id, "action": action, "body": _json(body)})
        events.emit(session, {"type": events.EventType.simulator_command.value, "org_id": str(org_id),
                              "request_id": str(command_id)})
    return str(command_id)


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def answer_of(command_id: str) -> tuple[bool, str | None]:
    """(answered, error) of a command; error None means it was done."""
    with session_scope() as session:
        row = session.execute(text("SELECT answered_at IS NOT NULL, error FROM simulator_commands WHERE id = :id"),
                              {"id": command_id}).first()
    return (bool(row[0]), row[1]) if row is not None else (True, "unknown command")


def expire(command_id: str) -> tuple[bool, str | None]:
    """The caller stops waiting: a command nobody took is closed for good; returns its final (answered, error)."""
    with session_scope() as session:
        closed = session.execute(text("UPDATE simulator_commands SET answered_at = now(), error = :error "
                                      "WHERE id = :id AND taken_at IS NULL AND answered_at IS NULL"),
                                 {"id": command_id, "error": EXPIRED}).rowcount
    if closed:
        return True, EXPIRED
    return answer_of(command_id)


def take(command_id: str, owned: list[uuid.UUID]) -> tuple[uuid.UUID, str, dict[str, Any]] | None:
    """Claim a command of an organisation this engine owns, once; None if another took it or it is closed."""
    if not owned:
        return None
    with session_scope() as session:
        row = session.execute(text(
            "UPDATE simulator_commands SET taken_at = now() WHERE id = :id AND org_id = ANY(:owned) "
            "AND taken_at IS NULL AND answered_at IS NULL RETURNING org_id, action, body"),
            {"id": command_id, "owned": list(owned)}).first()
    return (row.org_id, row.action, dict(row.body or {})) if row is not None else None


def answer(command_id: str, org_id: uuid.UUID, error: str | None) -> None:
    """Record the outcome and tell the waiting caller."""
    with session_scope() as session:
        session.execute(text("UPDATE simulator_commands SET answered_at = now(), error = :error WHERE id = :id"),
                        {"id": command_id, "error": error})
        events.emit(session, {"type": events.EventType.simulator_ack.value, "org_id": str(org_id),
                              "request_id": command_id, "error": error})


def open_for(owned: list[uuid.UUID]) -> list[str]:
    """Commands of these organisations that nobody took yet, oldest first."""
    if not owned:
        return []
    with session_scope() as session:
        rows = session.execute(text(
            "SELECT id FROM simulator_commands WHERE answered_at IS NULL AND taken_at IS NULL "
            "AND created_at > now() - make_interval(secs => :open) AND org_id = ANY(:owned) ORDER BY created_at"),
            {"open": OPEN_SECONDS, "owned": list(owned)}).all()
    return [str(r.id) for r in rows]


def purge() -> int:
    """Forget answered commands after an hour, and close the ones nobody will take any more."""
    with session_scope() as session:
        session.execute(text("UPDATE simulator_commands SET answered_at = now(), error = :error "
                             "WHERE answered_at IS NULL AND created_at < now() - make_interval(secs => :open)"),
                        {"error": EXPIRED, "open": OPEN_SECONDS})
        return session.execute(text("DELETE FROM simulator_commands WHERE answered_at < now() - "
                                    "make_interval(secs => :keep)"), {"keep": KEEP_SECONDS}).rowcount


def sent(org_id: uuid.UUID, limit: int = 10000, kind: str | None = None) -> list[dict[str, Any]]:
    """What the simulated network saw for one organisation, oldest first, as plain dicts: the messages it accepted,
    and beside them the presence updates and look-ups (`kind`; one of them only when `kind` is given)."""
    query = select(SimulatorSent).where(SimulatorSent.org_id == org_id)
    if kind:
        query = query.where(SimulatorSent.kind == kind)
    query = query.order_by(SimulatorSent.created_at, SimulatorSent.id).limit(limit)
    with session_scope() as session:
        return [{"kind": r.kind, "whatsapp_message_id": r.whatsapp_message_id, "recipient_phone": r.recipient_phone,
                 "text": r.text, "message_type": r.message_type, "filename": r.filename, "size": r.size,
                 "created_at": r.created_at.isoformat()} for r in session.exec(query)]


def sent_to(org_id: uuid.UUID, wamid: str) -> str | None:
    """The number the simulated network delivered this message to, or None if it never took it."""
    query = select(SimulatorSent.recipient_phone).where(SimulatorSent.org_id == org_id,
                                                        SimulatorSent.whatsapp_message_id == wamid)
    with session_scope() as session:
        return session.exec(query).first()
