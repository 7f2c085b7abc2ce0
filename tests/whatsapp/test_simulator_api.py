"""The simulator's control routes over real HTTP, driving an engine in another process."""

from __future__ import annotations

import signal
import socket
import time
import uuid

import httpx
import pytest
from sqlmodel import Session

from fleet_dashboard.messaging import optouts
from tests.whatsapp.conftest import SIMULATOR_TOKEN, audit_types, connect, spawn, stop_process, wait_row_sync

PHONE = "+201001234567"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack(sim_env, tmp_path):
    """An engine process and an API process on 127.0.0.1, both in simulator mode."""
    port = _free_port()
    engine = spawn(["-m", "fleet_dashboard.cli", "engine"], sim_env, tmp_path / "engine.log")
    api = spawn(["-m", "uvicorn", "fleet_dashboard.api.app:create_api", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning"], sim_env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/simulator/{uuid.uuid4()}/sent", timeout=1)
            break
        except httpx.HTTPError:
            assert api.poll() is None, (tmp_path / "api.log").read_text()
            assert time.monotonic() < deadline, "API did not start"
            time.sleep(0.2)
    try:
        yield httpx.Client(base_url=base, timeout=15, headers={"Authorization": f"Bearer {SIMULATOR_TOKEN}"})
    finally:
        stop_process(api)
        assert stop_process(engine) == 0, (tmp_path / "engine.log").read_text()[-3000:]


def test_control_routes_drive_the_owning_engine(stack: httpx.Client, db: Session, make_org):
    org = make_org()
    url = f"/api/simulator/{org.id}"
    connect(db, org.id)
    wait_row_sync(org.id, lambda r: r.status == "qr_pending", timeout=20)

    r = stack.post(f"{url}/scan", json={"phone": "01001234567", "name": "Dispatch"})
    assert r.status_code == 200, r.text
    row = wait_row_sync(org.id, lambda r: r.status == "connected")
    assert (row.phone_number, row.display_name) == (PHONE, "Dispatch")
    assert stack.post(f"{url}/scan", json={"phone": PHONE}).status_code == 409  # nothing to scan now

    assert stack.post(f"{url}/inbound", json={"from": "+201005550000", "text": "STOP"}).status_code == 200
    deadline = time.monotonic() + 10
    while not optouts.is_opted_out(session=db, org_id=org.id, phone="+201005550000"):
        assert time.monotonic() < deadline
        time.sleep(0.1)

    assert stack.post(f"{url}/fail-sends", json={"count": 2}).status_code == 200
    sent = stack.get(f"{url}/sent").json()
    assert sent == {"success": True, "count": 0, "messages": []}

    assert stack.post(f"{url}/drop").status_code == 200
    wait_row_sync(org.id, lambda r: audit_types(org.id).count("session_connected") == 2)
    wait_row_sync(org.id, lambda r: r.status == "connected")

    assert stack.post(f"{url}/logout").status_code == 200
    row = wait_row_sync(org.id, lambda r: r.status == "disconnected" and not r.enabled)
    assert row.whatsapp_id is None
    assert stack.post(f"{url}/drop").status_code == 409  # no engine owns it any more


def test_bad_requests_get_clear_4xx(stack: httpx.Client, db: Session, make_org):
    org = make_org()
    url = f"/api/simulator/{org.id}"
    cases = [
        ("post", f"{url}/scan", {"phone": "not a phone"}, 422),
        ("post", f"{url}/scan", {}, 422),
        ("post", f"{url}/receipt", {"whatsapp_message_id": "X", "type": "seen"}, 422),
        ("post", f"{url}/receipt", {"whatsapp_message_id": "3EB0NOPE", "type": "read"}, 404),
        ("post", f"{url}/inbound", {"from": "+201001234567"}, 422),
        ("post", f"{url}/fail-sends", {"count": -1}, 422),
        ("post", f"{url}/fail-sends", {"count": "many"}, 422),
        ("post", "/api/simulator/not-a-uuid/drop", None, 422),
        ("post", f"/api/simulator/{uuid.uuid4()}/drop", None, 404),
        ("get", f"/api/simulator/{uuid.uuid4()}/sent", None, 404),
        ("post", f"{url}/drop", None, 409),  # session not running anywhere
    ]
    for method, path, body, status in cases:
        r = stack.request(method, path, json=body)
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["success"] is False and r.json()["error"]
    r = stack.post(f"{url}/scan", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_routes_do_not_exist_in_neonize_mode(database_url, monkeypatch):
    from fastapi.testclient import TestClient

    from fleet_dashboard.api.app import create_api
    from tests.support.process_state import reset_process_state

    monkeypatch.setenv("WHATSAPP_BACKEND", "neonize")
    reset_process_state()
    try:
        client = TestClient(create_api())
        assert client.post(f"/api/simulator/{uuid.uuid4()}/drop").status_code == 404
        assert client.get(f"/api/simulator/{uuid.uuid4()}/sent").status_code == 404
    finally:
        monkeypatch.undo()
        reset_process_state()


def test_sigterm_stops_the_engine_cleanly(sim_env, tmp_path):
    engine = spawn(["-m", "fleet_dashboard.cli", "engine"], sim_env, tmp_path / "e.log")
    deadline = time.monotonic() + 20
    while "WhatsApp engine running" not in (tmp_path / "e.log").read_text():
        assert engine.poll() is None and time.monotonic() < deadline, (tmp_path / "e.log").read_text()
        time.sleep(0.1)
    started = time.monotonic()
    assert stop_process(engine, signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    assert "WhatsApp engine stopped" in (tmp_path / "e.log").read_text()
