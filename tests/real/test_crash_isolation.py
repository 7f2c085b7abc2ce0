"""Crash isolation with the real library: the web process never loads neonize and outlives engine aborts; engines
come back within 30 s with their organisations; 50 organisations go through 20 rounds of start, send and stop."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import datetime

import psutil
from sqlmodel import select

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.integrations import api_keys
from fleet_dashboard.notifications import queue
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.whatsapp import engines, sessions
from fleet_dashboard.whatsapp.models import WhatsAppSession
from tests.support.neonize import store_device
from tests.support.server import AppServer, _events_through

BACK_WITHIN = 30.0
DOWN_CODES = {"connect_failed", "connect_gave_up"}
TEMPLATE_VARS = {"customer_name": "سارة", "company_name": "أسطول", "plan_name": "الذهبية",
                 "expiry_date": "2026-12-31"}


def _tree(server: AppServer) -> list[psutil.Process]:
    return psutil.Process(server.run_process.pid).children(recursive=True)


def _engine_procs(server: AppServer) -> list[psutil.Process]:
    """`run`'s engines: forks of `run` itself (its own command line), or `python -m` of the engine's module."""
    run = psutil.Process(server.run_process.pid)
    return [p for p in run.children() if _cmdline(p) == run.cmdline()
            or _cmdline(p)[-1:] == ["fleet_dashboard.whatsapp.engine"]]


def _web_procs(server: AppServer) -> list[psutil.Process]:
    engine_pids = {p.pid for p in _engine_procs(server)}
    return [p for p in _tree(server) if p.pid not in engine_pids and p.pid not in
            {c.pid for e in _engine_procs(server) for c in _children(e)}]


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _loads_neonize(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return "neonize" in maps.read()
    except OSError:
        return False


def _alive_engines(server: AppServer) -> set[str]:
    with server.session() as s:
        return {e["engine_id"] for e in engines.alive(session=s, stale_seconds=10)}


def _rows(server: AppServer, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, WhatsAppSession]:
    with server.session() as s:
        return {r.org_id: r for r in s.exec(select(WhatsAppSession).where(WhatsAppSession.org_id.in_(org_ids)))}


def _request_all(server: AppServer, org_ids: list[uuid.UUID], request) -> None:
    with server.session() as s, _events_through(s):
        for org_id in org_ids:
            request(session=s, org_id=org_id, actor=SYSTEM)


def _wait(what: str, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = predicate()
        if ok:
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout:.0f} s; last seen: {last}")


def _web_answers(server: AppServer, key: str, org_id: uuid.UUID) -> None:
    """The dashboard and the API answer (whatever the engines are doing)."""
    assert server.http.get("/login", follow_redirects=True).status_code == 200
    assert server.http.get("/ping").status_code == 200
    health = server.http.get("/api/health")
    assert health.status_code == 200 and health.json()["success"] is True, health.text  # up: the database answers
    status = server.http.get(f"/api/sessions/{org_id}/status", headers=_auth(key, org_id))
    assert status.status_code == 200, status.text


def _auth(key: str, org_id: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Org-Id": str(org_id)}


def _settled(server: AppServer, org_ids, since: datetime, expect):
    """Every organisation is in its expected state, written since `since` by an engine that is alive now."""
    def check():
        alive = _alive_engines(server)
        rows = _rows(server, org_ids)
        wrong = {str(o)[:8]: (r.status, r.connection_error_code, r.engine_id in alive, r.updated_at >= since)
                 for o, r in rows.items() if not (expect(o, r) and r.updated_at >= since
                                                  and (r.engine_id in alive or not r.enabled))}
        return not wrong, wrong
    return check


def test_an_aborted_engine_leaves_the_web_answering_and_is_back_within_30_s(real_app: AppServer):
    org = real_app.make_org()
    with real_app.session() as s:
        _, key = api_keys.create_key(session=s, org_id=org.id, name="probe", actor=SYSTEM)
    web = _web_procs(real_app)
    assert web and not any(_loads_neonize(p.pid) for p in web), "the web process loaded neonize"
    _wait("engine processes", lambda: (len(_engine_procs(real_app)) >= 2, None), 60)
    before = _engine_procs(real_app)
    assert all(_loads_neonize(p.pid) for p in before)
    _request_all(real_app, [org.id], sessions.request_connect)
    since = utcnow()
    row = _wait("owned by an engine", lambda: ((r := _rows(real_app, [org.id])[org.id]).engine_id is not None
                                               and r.connection_error_code in DOWN_CODES, r), 30)
    owner = next(p for p in before if row.engine_id.endswith(f":{p.pid}"))

    aborted = time.monotonic()
    os.kill(owner.pid, signal.SIGABRT)  # what a Go fatal error in the library does
    owner.wait(10)
    _web_answers(real_app, key, org.id)  # at once, with the engine down
    # The supervisor (`serve`, as `run`) saw the death and says so on the session (until another engine takes it over).
    _wait("the crash is shown", lambda: ((r := _rows(real_app, [org.id])[org.id]).connection_error_code
                                         == "engine_crashed" or not r.engine_id.endswith(f":{owner.pid}"), r), 10)
    _wait("a new engine process", lambda: (len(_engine_procs(real_app)) == len(before)
                                           and owner.pid not in {p.pid for p in _engine_procs(real_app)}, None),
          BACK_WITHIN)
    _wait("the organisation owned again", _settled(real_app, [org.id], since,
                                                    lambda o, r: r.connection_error_code in DOWN_CODES
                                                    and not r.engine_id.endswith(f":{owner.pid}")), BACK_WITHIN)
    assert time.monotonic() - aborted <= BACK_WITHIN
    _web_answers(real_app, key, org.id)
    assert [p.pid for p in _web_procs(real_app)] == [p.pid for p in web]  # the same web process, never restarted
    _request_all(real_app, [org.id], sessions.request_stop)


def test_fifty_organisations_twenty_rounds_of_start_send_stop_on_the_real_library(real_app: AppServer):
    resumed = [real_app.make_org(f"resume {i}") for i in range(20)]  # a paired device in the store
    pairing = [real_app.make_org(f"pair {i}") for i in range(25)]  # never paired: a pairing each time
    gone = [real_app.make_org(f"gone {i}") for i in range(5)]  # a stored session whose device is gone
    orgs = resumed + pairing + gone
    org_ids = [o.id for o in orgs]
    gone_ids = {o.id for o in gone}
    with real_app.session() as s:
        for i, org in enumerate(resumed + gone):
            row = sessions.get_or_create(session=s, org_id=org.id)
            row.whatsapp_id = f"2010055{i:05d}:3@s.whatsapp.net"
            row.phone_number = f"+2010055{i:05d}"
            s.add(row)
        _, key = api_keys.create_key(session=s, org_id=resumed[0].id, name="rounds", actor=SYSTEM)
    # The store's tables exist once an engine has started a client; wait for them, then add the devices.
    _request_all(real_app, [resumed[0].id], sessions.request_connect)
    _wait("the WhatsApp store", lambda: (_has_store(real_app), None), 60)
    _request_all(real_app, [resumed[0].id], sessions.request_stop)
    for i in range(len(resumed)):
        store_device(real_app.engine.url.render_as_string(hide_password=False), f"2010055{i:05d}:3@s.whatsapp.net")
    web = _web_procs(real_app)
    log_offset = real_app.log_size()
    deliberate = 0
    slowest = 0.0
    queued: list[uuid.UUID] = []

    for round_no in range(20):
        since = utcnow()
        _request_all(real_app, org_ids, sessions.request_connect)  # all at once
        started = time.monotonic()
        if round_no in (6, 13):  # and an engine dies under them, as a library abort would do it
            victim = _engine_procs(real_app)[0]
            os.kill(victim.pid, signal.SIGABRT)
            deliberate += 1
            _web_answers(real_app, key, resumed[0].id)

        def expected(org_id, row, first=round_no == 0):
            if org_id in gone_ids and first:
                return row.connection_error_code == "needs_relink" and not row.enabled and row.whatsapp_id is None
            return row.enabled and row.status in ("disconnected", "error", "connecting") and (
                row.connection_error_code in DOWN_CODES or row.status == "connecting")

        _wait(f"round {round_no}: every organisation in its expected state",
              _settled(real_app, org_ids, since, expected), BACK_WITHIN)
        slowest = max(slowest, time.monotonic() - started)

        # Sends: refused while not connected (nothing is created), queued ones wait; the web answers.
        r = real_app.http.post("/api/messages/send", headers=_auth(key, resumed[0].id),
                               json={"recipient": "+201009998887", "message": f"round {round_no}"})
        assert r.status_code == 409 and r.json()["code"] == "not_connected", r.text
        with real_app.session() as s, _events_through(s):
            row, _ = queue.enqueue(session=s, org_id=resumed[0].id, recipient="+201009998887",
                                   template_name="trial_welcome", variables=TEMPLATE_VARS, actor=SYSTEM)
            queued.append(row.id)
        _web_answers(real_app, key, resumed[0].id)

        _request_all(real_app, org_ids, sessions.request_stop)
        _wait(f"round {round_no}: every client stopped", lambda: (_owned(real_app) == 0, _owned(real_app)), 30)

    rows = _rows(real_app, org_ids)
    stuck = {str(o)[:8]: r.status for o, r in rows.items() if r.status in ("connecting", "qr_pending")}
    assert not stuck, f"stuck: {stuck}"
    assert all(rows[o].whatsapp_id is None for o in gone_ids)  # they pair a new device now
    with real_app.session() as s:
        statuses = list(s.exec(select(NotificationQueue.status).where(NotificationQueue.id.in_(queued))))
    assert statuses == ["pending"] * len(queued)  # never sent, never failed, never lost
    assert real_app.run_process.poll() is None
    assert [p.pid for p in _web_procs(real_app)] == [p.pid for p in web] and all(p.is_running() for p in web)
    deaths = real_app.log_since(log_offset).count("exited with")
    print(f"\n50 orgs x 20 rounds on {len(_engine_procs(real_app))} engine processes: {deliberate} deliberate "
          f"SIGABRTs, {deaths - deliberate} engine deaths of their own (library aborts), slowest round to "
          f"settle {slowest:.1f} s")


def _has_store(server: AppServer) -> bool:
    from sqlalchemy import text

    with server.session() as s:
        return s.execute(text("SELECT to_regclass('whatsmeow_device') IS NOT NULL")).scalar()


def _owned(server: AppServer) -> int:
    with server.session() as s:
        return sum(e["owned"] for e in engines.alive(session=s, stale_seconds=10))
