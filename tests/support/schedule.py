"""How `make test` shares the suite between pytest-xdist workers (`-n 2`).

The tests that drive a live app (the security suite's socket tests, then the browser tests) need the frontend
build, which the controller starts with the run (tests/conftest.py). While it runs, both workers take ordinary
modules. Once it is over, the first worker to ask for work starts on the live modules (the socket ones first) and
keeps to them; the other keeps to the ordinary modules, and when they are all given out it joins in on the live
ones: each worker that runs a live test starts its own live app on the one build (its `live_app`), so the run does
not end with one worker alone on the live tests. A worker that has run browser tests runs nothing but live tests
afterwards (Playwright's sync API keeps an event loop running in its thread, and the engine and queue tests start
their own with asyncio.run()). With one worker the live tests simply come last, as without xdist.

Which tests are live, the workers know (their fixtures) and the scheduler in the controller does not (it sees
test ids only; pytest 9 ignores xdist_group's way of renaming them): each worker writes the ids to a file the
controller named in the environment before starting them."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support import frontend

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
    """Whether a test drives a browser (Playwright): after one, its worker runs only live tests."""
    return nodeid.startswith(BROWSER_SUITE)


def _drives_a_browser(scope: str) -> bool:
    return scope.startswith(LIVE + BROWSER_SUITE)


class LiveApart(LoadScopeScheduling or object):
    """Load by module; the live modules started by one worker once the build is over, and shared by both at the end."""

    def __init__(self, config, log=None, *, build_running=frontend.prebuilding):
        super().__init__(config, log)
        self.live_node = None  # the worker that went to the live modules as soon as the build was over
        self.browser_nodes: set = set()  # workers that were given browser tests
        self._build_running = build_running
        self._live_ids: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._live_ids is None:
            path = os.environ.get(LIVE_IDS_ENV)
            self._live_ids = set(Path(path).read_text().splitlines()) if path and Path(path).exists() else set()
        module = nodeid.split("::", 1)[0]
        return LIVE + module if nodeid in self._live_ids else module

    def _pick(self, node) -> str | None:
        """The unit this worker takes next, or None when it must wait (a browser worker, only ordinary ones left)."""
        live = [scope for scope in self.workqueue if scope.startswith(LIVE)]
        ordinary = [scope for scope in self.workqueue if not scope.startswith(LIVE)]
        # The socket modules before the browser ones: a worker that has run a browser test keeps to live tests.
        first_live = min(live, key=_drives_a_browser, default=None)
        others = [n for n in self.nodes if n is not node and not n.shutting_down and n not in self.browser_nodes]
        if not ordinary or (node in self.browser_nodes and (first_live or others)):
            return first_live
        if first_live is None or self._build_running() or not others and node not in self.browser_nodes:
            return ordinary[0]
        if self.live_node is None:
            self.live_node = node
        return first_live if node is self.live_node else ordinary[0]

    def _assign_work_unit(self, node) -> None:
        scope = self._pick(node)
        if scope is not None:
            self.workqueue.move_to_end(scope, last=False)
            if _drives_a_browser(scope):
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
