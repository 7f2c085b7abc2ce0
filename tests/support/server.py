"""A handle on the running app: its URL and log, its database through the services, and the simulator."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlmodel import Session

from fleet_dashboard import strings
from fleet_dashboard.accounts.models import Organization, User
from fleet_dashboard.core.db import normalize_url
from tests.support import databases, frontend, leftovers
from tests.support.mail import MailSink

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-1"
# Drives the simulated phones of the app under test (SIMULATOR_TOKEN), as a demo script would.
SIMULATOR_TOKEN = "e2e-simulator-" + uuid.uuid4().hex
STARTUP_TIMEOUT = 420
# Debian Chromium: playwright cannot download browsers on this network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Account:
    """A user the test created, with the password it can log in with."""

    email: str
    password: str
    user_id: uuid.UUID
    org_id: uuid.UUID | None
    org_slug: str | None
    org_name: str | None


class _NotifyInSession:
    """The bus as the app's services see it, publishing with pg_notify in the test's own transaction."""

    def publish_after_commit(self, session: Session, payload: str) -> None:
        from sqlalchemy import text

        from fleet_dashboard.core.events import CHANNEL

        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


@contextmanager
def _events_through(session: Session) -> Iterator[None]:
    """Let a service emit bus events from the test process, which has no bus of its own."""
    from unittest import mock

    with mock.patch("fleet_dashboard.core.events.get_bus", return_value=_NotifyInSession()):
        yield


class AppServer:
    """What tests need from the app under test; data goes in through the same services the app uses."""

    def __init__(self, *, base_url: str, log_path: Path, database_url: str):
        self.base_url = base_url
        self.log_path = log_path
        self.engine = create_engine(normalize_url(database_url), pool_size=2, max_overflow=2)
        self.http = httpx.Client(base_url=base_url, timeout=15)
        # The simulator's control routes want SIMULATOR_TOKEN (app_env sets it).
        self.simulator = httpx.Client(base_url=base_url, timeout=15,
                                      headers={"Authorization": f"Bearer {SIMULATOR_TOKEN}"})
        self.run_process: subprocess.Popen | None = None  # the web tier's `fleet-dashboard` process, once started
        self.mail: MailSink | None = None  # the SMTP server the app sends to, when its fixture started one

    def close(self) -> None:
        self.http.close()
        self.simulator.close()
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
        from fleet_dashboard.accounts import orgs

        with self.session() as s:
            return orgs.create_org(session=s, name=name or f"مؤسسة {uuid.uuid4().hex[:6]}",
                                   slug=f"e2e-{uuid.uuid4().hex[:10]}")

    def make_user(self, role: str = "owner", org: Organization | None = None, name: str = "") -> Account:
        from fleet_dashboard.accounts import users

        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        default_name = f"مستخدم {strings.ROLES[role]}"  # as people read it on the pages, never a raw role
        with self.session() as s:
            user: User = users.create_user(session=s, email=email, password=PASSWORD, role=role,
                                           org_id=org.id if org else None, full_name=name or default_name)
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
            response = self.simulator.post(f"/api/simulator/{org_id}/{action}", json=body)
            if response.status_code < 400 or time.monotonic() > deadline:
                response.raise_for_status()
                return response.json()
            time.sleep(0.2)

    def audit_types(self, org_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> list[str]:
        """The organisation's audit event types, oldest first (optionally one actor's)."""
        from sqlmodel import select

        from fleet_dashboard.accounts.models import WhatsAppAuditLog

        with self.session() as s:
            query = select(WhatsAppAuditLog.event_type).where(WhatsAppAuditLog.org_id == org_id)
            if actor_id is not None:
                query = query.where(WhatsAppAuditLog.actor_id == actor_id)
            return list(s.exec(query.order_by(WhatsAppAuditLog.created_at)))

    def make_template(self, org_id: uuid.UUID, name: str, body: str):
        from fleet_dashboard.accounts.permissions import SYSTEM
        from fleet_dashboard.messaging import templates

        with self.session() as s:
            return templates.create(session=s, org_id=org_id, name=name, message_template=body, actor=SYSTEM)

    def make_message(self, org_id: uuid.UUID, recipient: str, text: str) -> uuid.UUID:
        """A message row in the organisation's history, as if sent earlier."""
        from fleet_dashboard.accounts.permissions import SYSTEM
        from fleet_dashboard.messaging import messages

        with self.session() as s:
            message, _ = messages.create_message(session=s, org_id=org_id, recipient=recipient, text=text,
                                                  actor=SYSTEM)
            return message.id

    def enqueue(self, org_id: uuid.UUID, recipient: str, template_name: str, variables: dict[str, str],
                scheduled_for: datetime | None = None) -> uuid.UUID:
        """A notification on the organisation's queue, through the same service the API uses."""
        from fleet_dashboard.accounts.permissions import SYSTEM
        from fleet_dashboard.notifications import queue

        with self.session() as s, _events_through(s):
            row, _ = queue.enqueue(session=s, org_id=org_id, recipient=recipient, template_name=template_name,
                                   variables=variables, scheduled_for=scheduled_for, actor=SYSTEM)
            return row.id

    def record_audit(self, org_id: uuid.UUID, actor_id: uuid.UUID | None, event_type: str, **data) -> None:
        from fleet_dashboard.accounts import audit

        with self.session() as s:
            audit.record(session=s, org_id=org_id, actor_id=actor_id, event_type=event_type, event_data=data)

    def audit_data(self, org_id: uuid.UUID, event_type: str) -> list[dict]:
        """The details of the organisation's audit rows of one type, oldest first."""
        from sqlmodel import select

        from fleet_dashboard.accounts.models import WhatsAppAuditLog

        with self.session() as s:
            query = select(WhatsAppAuditLog.event_data).where(WhatsAppAuditLog.org_id == org_id,
                                                              WhatsAppAuditLog.event_type == event_type)
            return list(s.exec(query.order_by(WhatsAppAuditLog.created_at)))

    def whatsapp_status(self, org_id: uuid.UUID) -> dict:
        """The organisation's WhatsApp session row as the status view (status, enabled, ...)."""
        from fleet_dashboard.whatsapp import sessions

        with self.session() as s:
            return sessions.get_status(session=s, org_id=org_id)

    def request_connect(self, org_id: uuid.UUID, actor_id: uuid.UUID) -> None:
        """Ask the engine to pair the organisation, as the Connect button does."""
        from fleet_dashboard.accounts.permissions import Actor
        from fleet_dashboard.whatsapp import sessions

        with self.session() as s, _events_through(s):
            sessions.request_connect(session=s, org_id=org_id, actor=Actor("owner", org_id, actor_id))

    def queue_statuses(self, org_id: uuid.UUID) -> dict[str, str]:
        """recipient -> status of the organisation's queued notifications."""
        from sqlmodel import select

        from fleet_dashboard.notifications.models import NotificationQueue

        with self.session() as s:
            query = select(NotificationQueue.recipient_phone, NotificationQueue.status)
            return {phone: status for phone, status in s.execute(query.where(NotificationQueue.org_id == org_id))}

    def template_names(self, org_id: uuid.UUID) -> set[str]:
        from fleet_dashboard.messaging import templates

        with self.session() as s:
            return {t.name for t in templates.list_for_org(session=s, org_id=org_id) if not t.is_system}


# ---- the app's database and processes ----
@contextmanager
def own_database(server_url: str, prefix: str, *, template: bool = True) -> Iterator[str]:
    """A migrated database of our own on that server, dropped when the block exits: a copy of the migrated
    template, or (`template=False`, for a server that holds one database and is thrown away) migrated in place."""
    from fleet_dashboard.core import dbadmin

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = databases.create_migrated(server_url, name) if template else databases.create(server_url, name)
    try:
        if not template:
            dbadmin.migrate(url)
        yield url
    finally:
        databases.drop(server_url, name)


def free_port(first: int, last: int) -> int:
    """A port nobody listens on in [first, last), starting at a per-process offset."""
    span = last - first
    for k in range(span):
        port = first + (os.getpid() + k) % span
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {first}-{last - 1}")


def app_env(database_url: str, port: int) -> dict[str, str]:
    """Simulator mode, the postgres bus, fast receipts and reconnects, no send jitter."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "WHATSAPP_BACKEND": "simulator",
        "SIMULATOR_TOKEN": SIMULATOR_TOKEN,
        "ENVIRONMENT": "test",
        "PORT": str(port),
        "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
        "BUS_BACKEND": "postgres",
        "SIMULATOR_RECEIPT_DELAY_SECONDS": "0.3",
        "SIMULATOR_QR_ROTATE_SECONDS": "8",
        "SEND_JITTER_SECONDS": "0",
        "SEND_RATE_PER_MINUTE": "600",
        # Typing presence stays on (the product's default) but short.
        "TYPING_MIN_SECONDS": "0.05",
        "TYPING_MAX_SECONDS": "0.2",
        "RECONNECT_BASE_SECONDS": "0.5",
        "BACKEND_HOST": "127.0.0.1",
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }


@contextmanager
def running_app(database_url: str, *, port: int, log_path: Path, env: dict[str, str] | None = None,
                supervised_engines: bool = False, command: str | None = None) -> Iterator[AppServer]:
    """`fleet-dashboard worker` plus the web tier, until the block exits; both process groups stopped.

    The web tier is `command`: `serve` on the run's frontend build (tests/support/frontend.py), or `run`, which
    builds its own, for tests about `run` itself. With `supervised_engines`, the command alone, starting and
    restarting its engine processes."""
    command = command or "serve"
    env = {**app_env(database_url, port), **(env or {})}
    env["REFLEX_STATES_WORKDIR"] = str(log_path.with_name("states"))  # the tabs' states, apart from other apps'
    argv = [command]
    web_dir = None
    if command == "serve":
        # Its own web directory (the run's build, for this port); the database is migrated already (own_database).
        web_dir = frontend.web_dir_for(port, log_path.with_name("web"))
        env["REFLEX_WEB_WORKDIR"] = str(web_dir)
        argv.append("--no-migrate")
    # The engine and queue worker run in their own process, as in a split deployment: every live
    # update the pages show has to cross PostgreSQL LISTEN/NOTIFY.
    web_env = {**env, "RUN_ENGINE": "false", "RUN_WORKER": "false"}
    procs: list[tuple[subprocess.Popen, object]] = []
    server = AppServer(base_url=f"http://127.0.0.1:{port}", log_path=log_path, database_url=database_url)
    commands = ([(argv, env, log_path)] if supervised_engines else
                [(["worker"], env, log_path.with_name("worker.log")), (argv, web_env, log_path)])
    try:
        for args, proc_env, path in commands:
            log_file = open(path, "wb")  # noqa: SIM115  (closed after the process stops)
            procs.append((leftovers.popen([str(ROOT / ".venv/bin/fleet-dashboard"), *args], cwd=ROOT,
                                          env=proc_env, stdout=log_file, stderr=subprocess.STDOUT,
                                          start_new_session=True), log_file))
        _wait_for_ping(server, procs[-1][0])
        server.run_process = procs[-1][0]
        yield server
    finally:
        for proc, log_file in reversed(procs):
            stop_group(proc)
            log_file.close()
        server.close()
        if web_dir is not None:
            shutil.rmtree(web_dir, ignore_errors=True)


def _wait_for_ping(server: AppServer, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/ping", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the app did not answer /ping in {STARTUP_TIMEOUT}s:\n{server.log_tail()}")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop our own process group: the CLI, reflex and its workers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
