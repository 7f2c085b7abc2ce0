"""The production topology, started once for the package (`make test-topology`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.support.server import CHROMIUM, CHROMIUM_ARGS, free_port, own_database
from tests.topology.topology import Topology, running_topology

# The machine runs three web workers, two engines and Chromium at once: allow for a busy CPU.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian Chromium: playwright cannot download browsers on this network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def topology(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with own_database(pg_server, "fleet_topo") as url, \
            running_topology(url, port=free_port(3300, 3400), log_dir=tmp_path_factory.mktemp("topology")) as topo:
        yield topo


SERVER_ERROR = re.compile(r"(\bERROR\b|Traceback \(most recent call last\))")


@pytest.fixture(autouse=True)
def no_server_errors(topology: Topology) -> Iterator[None]:
    """Fail a test during which the web tier or an engine logged an error or a traceback."""
    offsets = {path: path.stat().st_size if path.exists() else 0 for path in topology.logs}
    yield
    bad = []
    for path, offset in offsets.items():
        with open(path, "rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
        bad += [f"{path.name}: {line}" for line in lines if SERVER_ERROR.search(line)]
    assert not bad, "the topology logged errors:\n" + "\n".join(bad[:30]) + "\n" + topology.log_tails()
