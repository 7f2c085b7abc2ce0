"""The production topology run for real: Redis-backed Reflex with several web workers, two engine processes,
one PostgreSQL. What a browser sees whichever worker serves it, an engine killed mid-flight, and API limits
that hold across workers."""

from __future__ import annotations

import http.client
import os
import re
import signal
import time
import uuid

from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import text

from tests.support.browser import login
from tests.topology.topology import LEASE_SECONDS, SESSIONS_LIMIT, WEB_WORKERS, Topology, wait_until

PHONE = "+201001234567"
RECIPIENT = "+201001112223"
MAX_TABS = 8


def _new_tab(browser: Browser, topo: Topology, storage_state=None) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=topo.server.base_url, locale="ar-EG", timezone_id="Africa/Cairo",
                                  viewport={"width": 1280, "height": 900}, storage_state=storage_state)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


def _token(page: Page) -> str:
    """The Reflex client token of this tab (what its socket record in Redis is keyed by)."""
    return page.evaluate("() => window.sessionStorage.getItem('token')")


def test_live_updates_reach_every_tab_whichever_worker_serves_it(browser: Browser, topology: Topology) -> None:
    topo, server = topology, topology.server
    owner = server.owner()
    tabs: list[tuple[BrowserContext, Page]] = []
    try:
        first = _new_tab(browser, topo)
        tabs.append(first)
        login(first[1], owner)
        state = first[0].storage_state()
        first[1].goto("/connect")
        expect(first[1].get_by_test_id("session-status")).to_have_text("غير متصل")
        # Open tabs (each its own browser context, so its own socket) until two workers or more hold them.
        owners: dict[str, str] = {}
        while len(tabs) < MAX_TABS:
            context, page = _new_tab(browser, topo, state)
            tabs.append((context, page))
            page.goto("/connect")
            expect(page.get_by_test_id("session-status")).to_have_text("غير متصل")
            tokens = [_token(p) for _, p in tabs]
            owners = wait_until(lambda tokens=tokens: (o := topo.socket_owners()) and all(t in o for t in tokens)
                                and o, 10, what="every tab's socket record in Redis")
            if len(tabs) >= 4 and len({owners[t] for t in tokens}) >= 2:
                break
        tab_workers = [owners[_token(p)] for _, p in tabs]
        assert len(set(tab_workers)) >= 2, f"every tab landed on one worker: {tab_workers}"

        # One more tab whose socket drops under an open page (as when a worker restarts) until it reconnects
        # to another worker than the one that opened the page and started its live updates.
        sockets: list = []

        def relay(ws) -> None:
            sockets.append((ws, ws.connect_to_server()))

        moving = _new_tab(browser, topo, state)
        tabs.append(moving)
        moving[1].route_web_socket(re.compile(r"/_event"), relay)
        moving[1].goto("/connect")
        expect(moving[1].get_by_test_id("session-status")).to_have_text("غير متصل")
        opened_on = wait_until(lambda: topo.socket_owners().get(_token(moving[1])), 10,
                               what="the moving tab's socket")
        now_on = opened_on
        for attempt in range(20):
            count = len(sockets)
            for ws, upstream in sockets[-1:]:
                upstream.close()
                ws.close()
            wait_until(lambda count=count: len(sockets) > count, 30, what=f"the tab to reconnect (drop {attempt + 1})")
            # A worker that finds the token still held elsewhere gives the tab a new token (and state): read it.
            now_on = wait_until(lambda: topo.socket_owners().get(_token(moving[1])), 10, what="the new record")
            if now_on != opened_on:
                break
        assert now_on != opened_on, "the tab's socket never reconnected to another worker"
        tab_workers.append(now_on)

        # 1. A QR: asked for in one tab, shown in every tab.
        first[1].get_by_role("button", name="ربط الواتساب").click()
        for _, page in tabs:
            expect(page.get_by_role("img", name="رمز QR لربط واتساب")).to_be_visible(timeout=15_000)
            expect(page.get_by_test_id("session-status")).to_have_text("بانتظار مسح الرمز")

        # 2. A status change: the phone scans, every tab says connected.
        server.simulate(owner.org_id, "scan", phone=PHONE, name="هاتف الطوبولوجيا")
        for _, page in tabs:
            expect(page.get_by_test_id("session-status")).to_have_text("متصل", timeout=15_000)
            expect(page.get_by_test_id("session-phone")).to_contain_text(PHONE)

        # 3. A receipt: a message sent and delivered, then read on the phone; every open history turns "read".
        template = server.make_template(owner.org_id, f"topo_{uuid.uuid4().hex[:6]}", "مرحبا {{name}}")
        server.enqueue(owner.org_id, RECIPIENT, template.name, {"name": "سارة"})
        log_url = f"/api/simulator/{owner.org_id}/sent?kind=message"
        sent = wait_until(lambda: server.simulator.get(log_url).json()["messages"], 20, 0.3, what="the engine's send")
        for _, page in tabs:
            page.goto("/history")
            chip = page.get_by_test_id("message-row").filter(has_text=RECIPIENT).locator("[data-status]")
            expect(chip).to_have_text("تم التسليم", timeout=15_000)
        server.simulate(owner.org_id, "receipt", whatsapp_message_id=sent[0]["whatsapp_message_id"], type="read")
        for _, page in tabs:
            chip = page.get_by_test_id("message-row").filter(has_text=RECIPIENT).locator("[data-status]")
            expect(chip).to_have_text("تمت القراءة", timeout=15_000)

        for _, page in tabs:
            assert not page.errors, page.errors  # type: ignore[attr-defined]
        print(f"\n{len(tabs)} tabs on {len(set(tab_workers))} of {WEB_WORKERS} web workers: {tab_workers}; "
              f"the last one's socket moved between workers after its page opened")
    finally:
        for context, _ in tabs:
            context.close()


def _whatsapp_rows(topo: Topology, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str | None]]:
    """org -> (status, owning engine id), straight from whatsapp_sessions."""
    with topo.server.session() as s:
        rows = s.execute(text("SELECT org_id, status, engine_id FROM whatsapp_sessions WHERE org_id = ANY(:ids)"),
                         {"ids": org_ids}).all()
    return {r.org_id: (r.status, r.engine_id) for r in rows}


def test_killing_an_engine_moves_its_organisations_within_the_lease(topology: Topology) -> None:
    topo, server = topology, topology.server
    accounts = [server.owner() for _ in range(4)]
    org_ids = [a.org_id for a in accounts]
    for account in accounts:
        server.request_connect(account.org_id, account.user_id)
    for account in accounts:
        wait_until(lambda a=account: server.whatsapp_status(a.org_id).get("qr_code"), 20, 0.2, what="a QR")
        server.simulate(account.org_id, "scan", phone=PHONE, name="هاتف")
    owners = wait_until(lambda: (rows := _whatsapp_rows(topo, org_ids)) and all(st == "connected" for st, _ in
                                                                           rows.values()) and rows,
                        20, 0.2, what="every organisation connected")
    with server.session() as s:
        pids = dict(s.execute(text("SELECT engine_id, pid FROM whatsapp_engines WHERE stopped_at IS NULL")).all())
    assert set(pids.values()) == {p.pid for p in topo.engines}, pids
    by_engine: dict[str, list[uuid.UUID]] = {}
    for org_id, (_, engine_id) in owners.items():
        by_engine.setdefault(engine_id, []).append(org_id)
    victim = max(by_engine, key=lambda e: len(by_engine[e]))
    survivor = next(e for e in pids if e != victim)
    moved = by_engine[victim]

    killed_at = time.monotonic()
    os.kill(pids[victim], signal.SIGKILL)

    def all_moved() -> bool:
        rows = _whatsapp_rows(topo, moved)
        return all(row == ("connected", survivor) for row in rows.values())

    wait_until(all_moved, LEASE_SECONDS * 3, 0.05, what=f"{len(moved)} organisations to move to {survivor}")
    took = time.monotonic() - killed_at
    print(f"\n{len(moved)} organisations moved from {victim} to {survivor} in {took:.2f} s "
          f"(lease {LEASE_SECONDS:.0f} s)")
    assert took <= LEASE_SECONDS, f"takeover took {took:.2f} s, more than the {LEASE_SECONDS} s lease"

    # The survivor sends for a moved organisation.
    org_id = moved[0]
    template = server.make_template(org_id, f"topo_{uuid.uuid4().hex[:6]}", "مرحبا {{name}}")
    server.enqueue(org_id, RECIPIENT, template.name, {"name": "سارة"})
    wait_until(lambda: server.queue_statuses(org_id).get(RECIPIENT) == "completed", 20, 0.2,
               what="the moved organisation's send")


def test_a_frozen_engine_loses_its_organisations_within_the_lease(topology: Topology) -> None:
    """SIGSTOP: the process and its sockets stay; only the lease's timeouts in PostgreSQL free its organisations."""
    topo, server = topology, topology.server
    spare = topo.add_engine("c")
    with server.session() as s:
        rows = s.execute(text("SELECT org_id, engine_id FROM whatsapp_sessions WHERE status = 'connected'")).all()
    assert rows, "the tests before left no connected organisation"
    frozen_id = rows[0].engine_id
    frozen = {r.org_id for r in rows if r.engine_id == frozen_id}

    def spare_id() -> str | None:
        with server.session() as s:
            return s.execute(text("SELECT engine_id FROM whatsapp_engines WHERE pid = :pid AND stopped_at IS NULL"),
                             {"pid": spare.pid}).scalar()

    new_owner = wait_until(spare_id, 30, 0.2, what="the spare engine's heartbeat")
    with server.session() as s:
        pid = s.execute(text("SELECT pid FROM whatsapp_engines WHERE engine_id = :e"), {"e": frozen_id}).scalar()
    assert pid in {p.pid for p in topo.engines}
    frozen_at = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: all(row == ("connected", new_owner) for row in _whatsapp_rows(topo, list(frozen)).values()),
                   LEASE_SECONDS * 3, 0.05, what=f"{len(frozen)} organisations to leave the frozen engine")
        took = time.monotonic() - frozen_at
    finally:
        os.kill(pid, signal.SIGKILL)  # works on a stopped process; the fixture reaps it
    print(f"\n{len(frozen)} organisations left the frozen engine in {took:.2f} s (lease {LEASE_SECONDS:.0f} s)")
    assert took <= LEASE_SECONDS, f"a frozen engine kept its organisations {took:.2f} s, past the lease"


def test_api_rate_limits_hold_across_web_workers(topology: Topology) -> None:
    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.integrations import api_keys

    topo, server = topology, topology.server
    org = server.make_org()
    with server.session() as s:
        _, key = api_keys.create_key(session=s, org_id=org.id, name="topology", scopes=["sessions"], actor=SYSTEM)
    results: list[tuple[int, int | None]] = []
    for _ in range(SESSIONS_LIMIT * 3):
        # A new connection each time: the kernel hands each to whichever worker accepts it.
        conn = http.client.HTTPConnection("127.0.0.1", topo.port, timeout=15)
        try:
            conn.connect()
            client_port = conn.sock.getsockname()[1]
            conn.request("GET", f"/api/sessions/{org.id}/status",
                         headers={"Authorization": f"Bearer {key}", "X-Org-Id": str(org.id)})
            response = conn.getresponse()
            response.read()
            results.append((response.status, topo.server_side_pid(client_port)))
        finally:
            conn.close()
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 429}, statuses
    allowed_by = {pid for status, pid in results if status == 200}
    served_by = {pid for _, pid in results}
    print(f"\n{statuses.count(200)} of {len(results)} allowed (limit {SESSIONS_LIMIT}/minute), "
          f"answered by {len(served_by)} web workers, allowed by {len(allowed_by)}")
    assert None not in served_by, "a connection's worker was not found"
    assert len(allowed_by) >= 2, f"every allowed request went to one worker: {results}"
    assert statuses.count(200) == SESSIONS_LIMIT, results
    assert statuses[:SESSIONS_LIMIT] == [200] * SESSIONS_LIMIT, statuses
