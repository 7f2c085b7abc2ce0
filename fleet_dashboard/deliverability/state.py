"""What the guards keep about an organisation's number: when its link was seen (warm-up), its pace and its risk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability.models import Risk, SendingState


def get_state(*, session: Session, org_id: uuid.UUID) -> SendingState:
    """The organisation's state row, or a blank one (green, no link seen) when it has none yet."""
    return session.get(SendingState, org_id) or SendingState(org_id=org_id)


def _upsert(session: Session, org_id: uuid.UUID, values: dict[str, Any], update: dict[str, Any] | None = None) -> None:
    session.execute(insert(SendingState).values(**{"org_id": org_id, "risk": Risk.green.value, **values})
                    .on_conflict_do_update(index_elements=["org_id"], set_=update or values))


def record_link(*, session: Session, org_id: uuid.UUID, phone: str | None, when: datetime | None = None) -> None:
    """A device was linked for this number: a number not seen before starts its warm-up now."""
    if not phone:
        return
    when = when or utcnow()
    table = SendingState.__table__
    stmt = insert(SendingState).values(org_id=org_id, risk=Risk.green.value, linked_phone=phone, linked_at=when)
    # The same number linked again keeps its first day: warm-up is about the number's history, not the device.
    stmt = stmt.on_conflict_do_update(index_elements=["org_id"], set_={"linked_phone": phone, "linked_at": when},
                                      where=table.c.linked_phone.is_distinct_from(phone))
    session.execute(stmt)


def slow_down(*, session: Session, org_id: uuid.UUID, until: datetime) -> None:
    """Half pace until `until` (after a temporary ban)."""
    table = SendingState.__table__
    session.execute(insert(SendingState).values(org_id=org_id, risk=Risk.green.value, slow_until=until)
                    .on_conflict_do_update(index_elements=["org_id"],
                                           set_={"slow_until": func.greatest(table.c.slow_until, until)}))


def record_risk(*, session: Session, org_id: uuid.UUID, risk: str, reasons: list[dict[str, Any]]) -> str:
    """Store the number's latest risk; returns the level it had before."""
    before = get_state(session=session, org_id=org_id).risk
    values = {"risk": risk, "risk_reasons": reasons, "risk_checked_at": utcnow()}
    _upsert(session, org_id, values)
    return before
