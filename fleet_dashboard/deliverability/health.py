"""Number health over the last HEALTH_WINDOW_DAYS: what the number did, and the risk level it adds up to.

Each figure is compared with two configurable thresholds (amber, red; docs/DELIVERABILITY.md gives their
sources); the worst one is the number's risk, and every figure past a threshold is one of its reasons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from fleet_dashboard import strings
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.deliverability import incidents, state
from fleet_dashboard.deliverability.models import IncidentKind, PauseReason, Risk
from fleet_dashboard.messaging.models import SENT_MESSAGE_STATUSES, MessageStatus

LEVELS = (Risk.green, Risk.amber, Risk.red)
NOT_ON_WHATSAPP = "not_on_whatsapp"

_FIGURES = text("""
WITH m AS (
    SELECT recipient_phone, status, error_code, created_at FROM whatsapp_messages
    WHERE org_id = :org AND created_at >= :since
), went AS (
    SELECT recipient_phone, created_at FROM m WHERE status = ANY(:went_out)
), people AS (SELECT DISTINCT recipient_phone AS phone FROM went)
SELECT
    (SELECT count(*) FROM went) AS sent,
    (SELECT count(*) FROM people) AS recipients,
    (SELECT count(*) FROM people p WHERE NOT EXISTS (
        SELECT 1 FROM whatsapp_inbound_messages i WHERE i.org_id = :org AND i.phone = p.phone)) AS never_replied,
    (SELECT count(*) FROM went w WHERE NOT EXISTS (
        SELECT 1 FROM whatsapp_messages e WHERE e.org_id = :org AND e.recipient_phone = w.recipient_phone
          AND e.created_at < w.created_at AND e.status = ANY(:went_out))) AS first_contact,
    (SELECT count(*) FROM whatsapp_opt_outs o WHERE o.org_id = :org AND o.created_at >= :since
       AND o.added_by IS NULL) AS opt_outs,
    (SELECT COALESCE(jsonb_object_agg(code, n), '{}'::jsonb) FROM (
        SELECT COALESCE(error_code, 'send_failed') AS code, count(*) AS n FROM m WHERE status = :failed
        GROUP BY 1) f) AS failures,
    (SELECT COALESCE(array_agg(DISTINCT reason), '{}') FROM sending_pauses
       WHERE org_id = :org AND paused_at >= :since AND reason = ANY(:danger)) AS dangers
""")


@dataclass
class Health:
    """The window's figures, the risk level and its reasons (each a dict: code, level, value, threshold)."""

    sent: int = 0
    recipients: int = 0
    never_replied: int = 0
    first_contact: int = 0
    opt_outs: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    dangers: list[str] = field(default_factory=list)
    risk: str = Risk.green.value
    reasons: list[dict[str, Any]] = field(default_factory=list)
    window_days: int = 7

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def figures(self) -> dict[str, Any]:
        attempted = self.sent + self.failed
        return {"window_days": self.window_days, "sent": self.sent, "unique_recipients": self.recipients,
                "never_replied": self.never_replied, "first_contact_messages": self.first_contact,
                "first_contact_share": _share(self.first_contact, self.sent),
                "failed": self.failed, "failure_rate": _share(self.failed, attempted),
                "failures_by_reason": dict(sorted(self.failures.items())), "opt_outs": self.opt_outs,
                "opt_out_rate": _share(self.opt_outs, self.recipients)}


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _judge(code: str, value: float, amber: float, red: float) -> dict[str, Any] | None:
    if value >= red:
        return {"code": code, "level": Risk.red.value, "value": value, "threshold": red}
    if value >= amber:
        return {"code": code, "level": Risk.amber.value, "value": value, "threshold": amber}
    return None


def assess(h: Health) -> Health:
    """Turn the figures into a risk level and its reasons (the thresholds are HEALTH_* settings)."""
    s = get_settings()
    reasons: list[dict[str, Any]] = []
    for danger in h.dangers:  # a ban or a restriction this week: the number is watched by WhatsApp
        reasons.append({"code": f"recent_{danger}", "level": Risk.red.value, "value": 1, "threshold": 1})
    attempted = h.sent + h.failed
    if attempted >= s.health_min_sent:
        checks = [
            ("failure_rate", _share(h.failed - h.failures.get(NOT_ON_WHATSAPP, 0), attempted),
             s.health_failure_amber, s.health_failure_red),
            ("not_on_whatsapp_rate", _share(h.failures.get(NOT_ON_WHATSAPP, 0), attempted),
             s.health_not_on_whatsapp_amber, s.health_not_on_whatsapp_red),
            ("opt_out_rate", _share(h.opt_outs, h.recipients), s.health_opt_out_amber, s.health_opt_out_red),
            ("never_replied_share", _share(h.never_replied, h.recipients), s.health_never_replied_amber,
             s.health_never_replied_red),
            ("first_contact_share", _share(h.first_contact, h.sent), s.health_first_contact_amber,
             s.health_first_contact_red),
        ]
        reasons += [r for r in (_judge(*c) for c in checks) if r is not None]
    h.reasons = sorted(reasons, key=lambda r: -LEVELS.index(Risk(r["level"])))
    h.risk = max((Risk(r["level"]) for r in reasons), key=LEVELS.index, default=Risk.green).value
    return h


def compute(*, session: Session, org_id: uuid.UUID, now: datetime | None = None) -> Health:
    """The number's health now, read from its messages, replies, opt-outs and pauses of the window."""
    days = get_settings().health_window_days
    since = (now or utcnow()) - timedelta(days=days)
    row = session.execute(_FIGURES, {"org": org_id, "since": since, "went_out": list(SENT_MESSAGE_STATUSES),
                                     "failed": MessageStatus.failed.value,
                                     "danger": [PauseReason.temporary_ban.value, PauseReason.restricted.value]}
                          ).one()
    return assess(Health(sent=row.sent, recipients=row.recipients, never_replied=row.never_replied,
                         first_contact=row.first_contact, opt_outs=row.opt_outs,
                         failures={str(k): int(v) for k, v in (row.failures or {}).items()},
                         dangers=list(row.dangers or []), window_days=days))


def reasons_view(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasons with their Arabic sentence, for the API and the pages."""
    return [{**r, "text": strings.error_text(r["code"], value=f"{round(float(r['value']) * 100)}%",
                                             threshold=f"{round(float(r['threshold']) * 100)}%")}
            for r in reasons]


def record(*, session: Session, org_id: uuid.UUID, health: Health) -> str:
    """Store the number's risk; turning red opens an alert, leaving red ends it. Returns the level before."""
    before = state.record_risk(session=session, org_id=org_id, risk=health.risk, reasons=health.reasons)
    if health.risk == Risk.red.value:
        incidents.open_incident(session=session, org_id=org_id, kind=IncidentKind.risk, reason="risk_red",
                                detail=", ".join(r["code"] for r in health.reasons if r["level"] == Risk.red.value))
    else:
        incidents.close_incident(session=session, org_id=org_id, kind=IncidentKind.risk)
    return before
