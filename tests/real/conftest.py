"""The whole product on the real WhatsApp library: `fleet-dashboard serve` with the engine processes it keeps, as
`run` does (neonize backend; WhatsApp is unreachable here, so every client fails to dial as in an outage)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import AppServer, free_port, own_database, running_app

REAL_ENV = {
    "WHATSAPP_BACKEND": "neonize",
    "ENGINE_PROCESSES": "1",
    "ENGINE_SPARE_PROCESSES": "1",  # so 50 organisations get 3 engines, 25 at most each
    "ENGINE_SHARD_SIZE": "25",
    "ENGINE_RESTART_BASE_SECONDS": "1",
    "ENGINE_RESTART_MAX_SECONDS": "4",
    "RECONNECT_BASE_SECONDS": "1",
    "RECONNECT_MAX_SECONDS": "4",
    "RECONNECT_MAX_FAILURES": "3",
    "RATE_LIMIT_SEND": "1000/minute",  # the test probes the API every round
    "RATE_LIMIT_SESSIONS": "1000/minute",
}


@pytest.fixture(scope="package")
def real_app(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """`fleet-dashboard serve` alone: the web process, and the engine processes it starts and restarts."""
    log_path = tmp_path_factory.mktemp("real") / "serve.log"
    with own_database(pg_server, "fleet_real") as url, running_app(
            url, port=free_port(3200, 3300), log_path=log_path, env=REAL_ENV, supervised_engines=True) as server:
        yield server
