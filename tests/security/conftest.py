"""Security suite fixtures: the in-process API of tests/api, and a running app to attack over its websocket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.api import anyio_backend, api_env, client, make_app, make_key  # noqa: F401  (fixtures)
from tests.support.server import AppServer, free_port, own_database, running_app
from tests.support.world import SECRET

SERVER_ERROR = re.compile(r"(\bERROR\b|Traceback \(most recent call last\))")


@pytest.fixture(scope="package")
def wire_app(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """`fleet-dashboard run` (simulator, split worker) on a database of its own, signing with a known key."""
    with own_database(pg_server, "fleet_sec") as url:
        log_path = tmp_path_factory.mktemp("security") / "server.log"
        with running_app(url, port=free_port(3200, 3300), log_path=log_path, env={"SECRET_KEY": SECRET}) as server:
            yield server


@pytest.fixture
def app(wire_app: AppServer) -> Iterator[AppServer]:
    """The running app; the test fails if the server logs an ERROR or a traceback while it runs."""
    offset = wire_app.log_size()
    yield wire_app
    new_lines = wire_app.log_since(offset)
    bad = [line for line in new_lines.splitlines() if SERVER_ERROR.search(line)]
    assert not bad, "server logged errors:\n" + "\n".join(bad[:20]) + "\n---\n" + new_lines[-4000:]
