"""A handle on the running app: its URL and log, its database through the services, and the simulator."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlmodel import Session

from fleet_dashboard.db import normalize_url
from fleet_dashboard.models import Organization, User

PASSWORD = "correct-horse-1"


@dataclass
class Account:
    """A user the test created, with the password it can log in with."""

    email: str
    password: str
    user_id: uuid.UUID
    org_id: uuid.UUID | None
    org_slug: str | None
    org_name: str | None


class AppServer:
    """What tests need from the app under test; data goes in through the same services the app uses."""

    def __init__(self, *, base_url: str, log_path: Path, database_url: str):
        self.base_url = base_url
        self.log_path = log_path
        self.engine = create_engine(normalize_url(database_url), pool_size=2, max_overflow=2)
        self.http = httpx.Client(base_url=base_url, timeout=15)

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()

    # ---- log ----
    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_since(max(0, self.log_size() - chars))

    # ---- data through the services ----
    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    def make_org(self, name: str | None = None) -> Organization:
        from fleet_dashboard.services import orgs

        with self.session() as s:
            return orgs.create_org(session=s, name=name or f"مؤسسة {uuid.uuid4().hex[:6]}",
                                   slug=f"e2e-{uuid.uuid4().hex[:10]}")

    def make_user(self, role: str = "owner", org: Organization | None = None, name: str = "") -> Account:
        from fleet_dashboard.services import users

        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        with self.session() as s:
            user: User = users.create_user(session=s, email=email, password=PASSWORD, role=role,
                                           org_id=org.id if org else None, full_name=name or f"مستخدم {role}")
        return Account(email=email, password=PASSWORD, user_id=user.id, org_id=org.id if org else None,
                       org_slug=org.slug if org else None, org_name=org.name if org else None)

    def owner(self, role: str = "owner") -> Account:
        """A fresh organisation with one user of the given role."""
        return self.make_user(role, self.make_org())

    # ---- simulator control (HTTP routes of the running app) ----
    def simulate(self, org_id: uuid.UUID, action: str, **body) -> dict:
        """Drive the simulated phone: scan, receipt, drop, logout, inbound; retried while it is not ready."""
        deadline = time.monotonic() + 10
        while True:
            response = self.http.post(f"/api/simulator/{org_id}/{action}", json=body)
            if response.status_code < 400 or time.monotonic() > deadline:
                response.raise_for_status()
                return response.json()
            time.sleep(0.2)

    def audit_types(self, org_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> list[str]:
        """The organisation's audit event types, oldest first (optionally one actor's)."""
        from sqlmodel import select

        from fleet_dashboard.models import WhatsAppAuditLog

        with self.session() as s:
            query = select(WhatsAppAuditLog.event_type).where(WhatsAppAuditLog.org_id == org_id)
            if actor_id is not None:
                query = query.where(WhatsAppAuditLog.actor_id == actor_id)
            return list(s.exec(query.order_by(WhatsAppAuditLog.created_at)))

    def make_template(self, org_id: uuid.UUID, name: str, body: str):
        from fleet_dashboard.services import templates

        with self.session() as s:
            return templates.create(session=s, org_id=org_id, name=name, message_template=body)

    def template_names(self, org_id: uuid.UUID) -> set[str]:
        from fleet_dashboard.services import templates

        with self.session() as s:
            return {t.name for t in templates.list_for_org(session=s, org_id=org_id) if not t.is_system}
