"""GET /api/metrics: fleet gauges from the database, METRICS_TOKEN enforcement, exposition format, 503s."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.tables import utcnow
from tests.support.api import BASE_URL, headers

pytestmark = pytest.mark.anyio

TOKEN = "metrics-token-for-the-test-suite"


def _samples(body: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted label items): value} from a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def _status(samples: dict, name: str, status: str) -> float:
    return samples[(name, (("status", status),))]


@pytest.fixture
def fleet(db, make_org):
    """Two organisations: a session, a message and three queue rows (one overdue, one future, one cancelled)."""
    from fleet_dashboard.messaging import messages, templates
    from fleet_dashboard.notifications import queue
    from fleet_dashboard.whatsapp import sessions

    org, other = make_org(), make_org("Other Fleet")
    templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}", actor=SYSTEM)
    sessions.get_or_create(session=db, org_id=org.id)
    sessions.get_or_create(session=db, org_id=other.id)
    messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="hello", actor=SYSTEM)
    queue.enqueue(session=db, org_id=org.id, recipient="+201001234567", template_name="greet",
                  variables={"name": "Mona"}, scheduled_for=utcnow() - timedelta(minutes=10), actor=SYSTEM)
    queue.enqueue(session=db, org_id=org.id, recipient="+201001234568", template_name="greet",
                  variables={"name": "Later"}, scheduled_for=utcnow() + timedelta(hours=1), actor=SYSTEM)
    cancelled, _ = queue.enqueue(session=db, org_id=org.id, recipient="+201001234569", template_name="greet",
                                 variables={"name": "Gone"}, actor=SYSTEM)
    db.commit()
    queue.cancel(session=db, org_id=org.id, notification_id=cancelled.id, actor=SYSTEM)
    db.commit()
    return org, other


async def test_metrics_reflect_rows_created_through_the_services(client, fleet):
    org, other = fleet
    r = await client.get("/api/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.headers["cache-control"] == "no-store"
    samples = _samples(r.text)

    assert _status(samples, "fleet_whatsapp_sessions", "disconnected") == 2
    assert _status(samples, "fleet_whatsapp_sessions", "connected") == 0, "every status is always exported"
    assert samples[("fleet_whatsapp_sessions_enabled", ())] == 0
    assert _status(samples, "fleet_notification_queue_rows", "pending") == 2
    assert _status(samples, "fleet_notification_queue_rows", "cancelled") == 1
    assert _status(samples, "fleet_notification_queue_rows", "unknown") == 0
    # Only the overdue row counts: the future one is pending but not due yet.
    age = samples[("fleet_notification_queue_oldest_due_pending_age_seconds", ())]
    assert 10 * 60 - 5 <= age <= 10 * 60 + 120, age
    assert _status(samples, "fleet_whatsapp_messages_today", "pending") == 1
    assert _status(samples, "fleet_whatsapp_messages_today", "sent") == 0
    assert samples[("fleet_organizations", ())] == 2

    # Default collectors ride along.
    assert any(name == "python_info" for name, _ in samples)
    assert any(name.startswith("process_") for name, _ in samples)
    # Low-cardinality labels only: nothing identifies an organisation or a phone.
    assert str(org.id) not in r.text and str(other.id) not in r.text and "201001234567" not in r.text
    fleet_labels = {key for name, labels in samples if name.startswith("fleet_") for key, _ in labels}
    assert fleet_labels == {"status", "kind", "reason"}


async def test_empty_database_exports_zeros(client, db):
    samples = _samples((await client.get("/api/metrics")).text)
    assert _status(samples, "fleet_notification_queue_rows", "pending") == 0
    assert samples[("fleet_notification_queue_oldest_due_pending_age_seconds", ())] == 0
    assert samples[("fleet_organizations", ())] == 0


async def test_openmetrics_when_the_scraper_asks_for_it(client, db):
    r = await client.get("/api/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")


async def test_token_is_required_when_set(make_app, api_env, db, make_org, make_key):
    api_env.setenv("METRICS_TOKEN", TOKEN)
    org = make_org()
    key = make_key(org)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                     {"Authorization": f"Basic {TOKEN}"}, headers(key, org.id)):
            r = await c.get("/api/metrics", headers=auth)
            assert r.status_code == 401, auth
            body = r.json()
            assert body["success"] is False and isinstance(body["error"], str) and body["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"] == "Bearer"
            assert "fleet_" not in r.text
        r = await c.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and "fleet_notification_queue_rows" in r.text
        r = await c.get("/api/metrics", headers={"Authorization": f"bearer  {TOKEN} "})
        assert r.status_code == 200, "scheme is case-insensitive and spaces around the token are ignored"


async def test_open_without_token(client, db):
    r = await client.get("/api/metrics", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 200


async def test_not_in_the_openapi_schema(client):
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/metrics" not in spec["paths"]


async def test_other_methods_answer_json_405(client):
    r = await client.post("/api/metrics")
    assert r.status_code == 405 and r.json()["success"] is False


async def test_database_down_is_503_json(make_app, api_env, db):
    from tests.conftest import reset_caches

    app = make_app()
    api_env.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unreachable")
    reset_caches()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
            r = await c.get("/api/metrics")
            assert r.status_code == 503
            assert r.json() == {"success": False, "error": r.json()["error"], "code": "database_unavailable"}
            assert r.headers["Retry-After"] == "5"
    finally:
        api_env.undo()
        reset_caches()


async def test_slow_scrape_is_503(client, monkeypatch):
    from fleet_dashboard.stats import metrics

    def slow(*_args):
        import time

        time.sleep(0.5)
        return b"", "text/plain"

    monkeypatch.setattr(metrics, "SCRAPE_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(metrics, "render", slow)
    r = await client.get("/api/metrics")
    assert r.status_code == 503 and r.json()["code"] == "database_unavailable"


@pytest.mark.parametrize("token", [None, TOKEN])
async def test_production_without_a_token_is_closed(make_app, api_env, db, token):
    """ENVIRONMENT=production and no METRICS_TOKEN: refused, from loopback too (a local reverse proxy is loopback)."""
    api_env.setenv("ENVIRONMENT", "production")
    api_env.setenv("SECRET_KEY", "a-real-secret-for-the-metrics-test")
    api_env.setenv("WHATSAPP_BACKEND", "neonize")
    if token:
        api_env.setenv("METRICS_TOKEN", token)
    else:
        api_env.delenv("METRICS_TOKEN", raising=False)
    transport = httpx.ASGITransport(app=make_app(), client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        r = await c.get("/api/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        if token:
            assert r.status_code == 401
            r = await c.get("/api/metrics", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and "fleet_" in r.text
        else:
            assert r.status_code == 403 and r.json()["code"] == "metrics_disabled"
            assert "METRICS_TOKEN" in r.json()["error"] and "fleet_" not in r.text


async def test_session_reasons_and_engines_are_counted(client, db, make_org):
    """Each way a session is down or degraded is its own series, always exported; engines come from heartbeats."""
    from fleet_dashboard.whatsapp import engines, sessions
    from fleet_dashboard.whatsapp.models import SessionReason

    for code, status in (("sends_failing", "connected"), ("keepalive_timeout", "connected"),
                         ("stream_replaced", "disconnected"), ("sends_failing", "connected")):
        row = sessions.get_or_create(session=db, org_id=make_org().id)
        row.status, row.connection_error_code = status, code
        db.add(row)
    engines.beat(session=db, engine_id="host:1", hostname="host", pid=1, backend="neonize", capacity=50, owned=3,
                 connected=3, stuck_threads=2)
    db.commit()
    samples = _samples((await client.get("/api/metrics")).text)
    reasons = {dict(labels)["reason"]: v for (name, labels), v in samples.items()
               if name == "fleet_whatsapp_session_reasons"}
    assert set(reasons) == {r.value for r in SessionReason}
    assert (reasons["sends_failing"], reasons["keepalive_timeout"], reasons["stream_replaced"]) == (2, 1, 1)
    assert reasons["temporary_ban"] == 0
    assert samples[("fleet_whatsapp_engines_alive", ())] == 1
    assert samples[("fleet_whatsapp_engine_stuck_threads", ())] == 2
