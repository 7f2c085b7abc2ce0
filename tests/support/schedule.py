"""How `make test` shares the suite between pytest-xdist workers (`-n 2`).

Every worker takes modules from one queue in three phases: the ordinary modules first, then the modules of the
security suite that drive a live app over its socket, then the browser tests. A worker starts its own live app (its
`live_app`, on the one frontend build the controller starts with the run, tests/conftest.py) when it reaches the
live modules, so both workers end the run on them together instead of one worker running them all alone while the
other has finished. A worker that has run browser tests runs nothing else afterwards (Playwright's sync API keeps an
event loop running in its thread, and the engine and queue tests start their own with asyncio.run()): the phases
see to that. With one worker this is the order a run without xdist has.

Which tests are live, the workers know (their fixtures) and the scheduler in the controller does not (it sees
test ids only; pytest 9 ignores xdist_group's way of renaming them): each worker writes the ids to a file the
controller named in the environment before starting them."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # pytest-xdist is a test extra (`make install-test`); without it, one process runs everything
    LoadScopeScheduling = None

LIVE = "live "  # a live module's unit is LIVE + its path
BROWSER_SUITE = "tests/e2e/"  # the live modules that drive a browser
LIVE_IDS_ENV = "FLEET_TEST_LIVE_IDS"


def name_live_ids_file(config: pytest.Config) -> None:
    """In the controller of an xdist run: where the workers will write the live tests' ids."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    folder = tempfile.mkdtemp(prefix="fleet-live-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ[LIVE_IDS_ENV] = str(Path(folder) / "ids.txt")


def write_live_ids(config: pytest.Config, live: list[pytest.Item]) -> None:
    """In a worker: the ids of the live tests, for the controller's scheduler (every worker writes the same)."""
    path = os.environ.get(LIVE_IDS_ENV)
    if not path or not hasattr(config, "workerinput"):
        return
    partial = f"{path}.{config.workerinput['workerid']}"
    Path(partial).write_text("\n".join(item.nodeid for item in live))
    os.replace(partial, path)


def is_browser_test(nodeid: str) -> bool:
    """Whether a test drives a browser (Playwright): after one, its worker runs only browser tests."""
    return nodeid.startswith(BROWSER_SUITE)


class LiveApart(LoadScopeScheduling or object):
    """Load by module, ordinary modules first, then the live app's socket modules, then its browser modules."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self.browser_nodes: set = set()  # workers that were given browser tests
        self._live_ids: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._live_ids is None:
            path = os.environ.get(LIVE_IDS_ENV)
            self._live_ids = set(Path(path).read_text().splitlines()) if path and Path(path).exists() else set()
        module = nodeid.split("::", 1)[0]
        return LIVE + module if nodeid in self._live_ids else module

    @staticmethod
    def _phase(scope: str) -> int:
        """0 for an ordinary module, 1 for a live app's socket module, 2 for a browser module."""
        return 0 if not scope.startswith(LIVE) else 2 if is_browser_test(scope[len(LIVE):]) else 1

    def _pick(self, node) -> str | None:
        """The unit this worker takes next: the first of the earliest phase left, in the queue's order. None when it
        has run browser tests and only other modules are left (one put back from a crashed worker) for a worker that
        may run them."""
        scope = min(self.workqueue, key=self._phase, default=None)
        if scope is None or node not in self.browser_nodes or self._phase(scope) == 2:
            return scope
        others = [n for n in self.nodes if n is not node and not n.shutting_down and n not in self.browser_nodes]
        return None if others else scope

    def _assign_work_unit(self, node) -> None:
        scope = self._pick(node)
        if scope is not None:
            self.workqueue.move_to_end(scope, last=False)
            if self._phase(scope) == 2:
                self.browser_nodes.add(node)
            super()._assign_work_unit(node)
        self._let_idle_nodes_go()

    def _let_idle_nodes_go(self) -> None:
        """Once the queue is empty, every worker ends after the tests it holds (an idle one would wait for a test
        report that never comes)."""
        if self.workqueue:
            return
        for other in self.nodes:
            if not other.shutting_down:
                other.shutdown()
