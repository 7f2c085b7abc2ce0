"""Security suite fixtures: the in-process API of tests/api, and a running app to attack over its websocket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.api import anyio_backend, api_env, client, make_app, make_key  # noqa: F401  (fixtures)
from tests.support.server import AppServer

SERVER_ERROR = re.compile(r"(\bERROR\b|Traceback \(most recent call last\))")


@pytest.fixture(scope="package")
def wire_app(live_app: AppServer) -> AppServer:
    """The live app in simulator mode (tests/conftest.py), shared with the e2e suite; it signs with SECRET."""
    return live_app


@pytest.fixture
def app(wire_app: AppServer) -> Iterator[AppServer]:
    """The running app; the test fails if the server logs an ERROR or a traceback while it runs."""
    offset = wire_app.log_size()
    yield wire_app
    new_lines = wire_app.log_since(offset)
    bad = [line for line in new_lines.splitlines() if SERVER_ERROR.search(line)]
    assert not bad, "server logged errors:\n" + "\n".join(bad[:20]) + "\n---\n" + new_lines[-4000:]
