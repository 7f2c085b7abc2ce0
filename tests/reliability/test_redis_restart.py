"""Redis restarted under the production topology (three web workers sharing tabs' state in Redis, two engines):
the API keeps serving, /api/health says degraded, and the open tabs work again once Redis is back."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Browser

from tests.reliability.conftest import DRILL_ENV
from tests.reliability.drill import Drill, wait_until
from tests.reliability.servers import private_redis
from tests.support.server import free_port, own_database
from tests.topology.topology import running_topology

OUTAGE_SECONDS = 8
# The checks' detail in /api/health is for operators (anonymous callers get up or down, and the status).
METRICS_TOKEN = "drill-operator-token"


def test_redis_restarted_under_the_topology(postgres, browser: Browser, tmp_path) -> None:
    with private_redis() as redis, own_database(postgres.url, "fleet_drill", template=False) as url, \
            running_topology(url, port=free_port(3600, 3700), log_dir=tmp_path, redis_url=redis.url,
                             env={**DRILL_ENV, "METRICS_TOKEN": METRICS_TOKEN}) as topo:
        drill = Drill(topo.server)
        drill.connected_orgs(2)
        total = drill.enqueue(3)
        drill.wait_drained(total, 60)
        tabs = drill.open_tabs(browser)
        org = drill.orgs[0]
        api = httpx.Client(base_url=topo.server.base_url, timeout=10,
                           headers={"Authorization": f"Bearer {org.api_key}", "X-Org-Id": str(org.id)})
        operator = {"Authorization": f"Bearer {METRICS_TOKEN}"}

        def health() -> httpx.Response:
            return api.get("/api/health", headers=operator)

        try:
            print("\n   stopping Redis")
            redis.stop()
            degraded = wait_until(lambda: (h := health()).json()["status"] == "degraded" and h, 15,
                                  "/api/health to say degraded")
            assert degraded.status_code == 200 and degraded.json()["checks"]["redis"] == "unreachable"
            anonymous = httpx.get(f"{topo.server.base_url}/api/health", timeout=10)
            assert anonymous.status_code == 200 and anonymous.json()["status"] == "degraded", anonymous.text
            # The API keeps answering while Redis is away (rate limits counted by each worker alone).
            for _ in range(5):
                assert api.get(f"/api/sessions/{org.id}/status").status_code == 200
            time.sleep(OUTAGE_SECONDS)
            redis.start()
            back = time.monotonic()
            print("   Redis is back (empty)")
            wait_until(lambda: health().json()["status"] == "healthy", 10, "/api/health healthy")
            print(f"   /api/health healthy {time.monotonic() - back:.1f} s after the return")
            drill.check_live_paths(tabs, back)
            drill.assert_each_sent_once(total)
        finally:
            api.close()
            tabs.close()
