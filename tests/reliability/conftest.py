"""The drill suite (`make test-reliability`, run by .ci/run, not by `make test`): each drill starts its own
PostgreSQL (and Redis) and the app on it, takes a dependency away, and times the recovery.

Never the machine's shared PostgreSQL (127.0.0.1:5432) or Redis (6379): other people's tests use them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.reliability.drill import Drill
from tests.reliability.servers import PrivatePostgres, private_postgres
from tests.support.server import CHROMIUM, CHROMIUM_ARGS, free_port, own_database, running_app

# Five organisations' worth of sends, paced as WhatsApp wants them (60 a minute each), as in the incident.
DRILL_ENV = {"SEND_RATE_PER_MINUTE": "60", "SEND_JITTER_SECONDS": "0"}

expect.set_options(timeout=15_000)

# A drill starts its own servers and the app (`run` builds its frontend first), connects organisations, drains a
# queue paced at 60 a minute and waits out an outage: minutes on a busy machine, past the suite's 300 s default.
DRILL_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.timeout(DRILL_TIMEOUT))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian Chromium: playwright cannot download browsers on this network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@contextmanager
def app_on(pg: PrivatePostgres, log_dir: Path, env: dict[str, str] | None = None,
           command: str | None = None) -> Iterator[Drill]:
    """The app with its own engines (`run`, or `serve` on the run's frontend build) on a database of its own in
    our private server."""
    with own_database(pg.url, "fleet_drill", template=False) as url, \
            running_app(url, port=free_port(3500, 3600), log_path=log_dir / "run.log",
                        env={**DRILL_ENV, **(env or {})}, supervised_engines=True, command=command) as server:
        yield Drill(server)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this drill's own, to stop, freeze and start again."""
    with private_postgres() as pg:
        yield pg
