"""How `make test` shares the suite between pytest-xdist workers (`-n 2`).

The tests that drive the shared live app (the security suite's socket tests, then the browser tests) run on one
worker of their own, from the start: one app for all of them, and a worker that has run browser tests must run
nothing else afterwards (Playwright's sync API keeps an event loop running in its thread, and the engine and
queue tests start their own with asyncio.run()). Every other module goes, whole, to whichever other worker is
free. With one worker the live tests simply come last, as without xdist.

Which tests those are, the workers know (their fixtures) and the scheduler in the controller does not (it sees
test ids only; pytest 9 ignores xdist_group's way of renaming them): each worker writes the ids to a file the
controller named in the environment before starting them.

The live app needs the frontend build, which the controller starts with the run (tests/conftest.py). While it
runs, the live worker takes ordinary modules like the other worker instead of waiting for it; the first time it
asks for work once the build is over (or when nothing else is left), it gets the live tests. Ordinary modules
before the live tests are the order a run without xdist has too."""

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

LIVE = "live"
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


class LiveApart(LoadScopeScheduling or object):
    """Load by module, with the live tests as one unit on a worker of its own."""

    def __init__(self, config, log=None, *, build_running=frontend.prebuilding):
        super().__init__(config, log)
        self.live_node = None
        self.live_given = False
        self._build_running = build_running
        self._live_ids: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._live_ids is None:
            path = os.environ.get(LIVE_IDS_ENV)
            self._live_ids = set(Path(path).read_text().splitlines()) if path and Path(path).exists() else set()
        return LIVE if nodeid in self._live_ids else nodeid.split("::", 1)[0]

    def _assign_work_unit(self, node) -> None:
        if len(self.nodes) > 1 and (self.live_given or LIVE in self.workqueue):
            if self.live_node is None:
                self.live_node = node
            if node is self.live_node:
                if self.live_given:
                    return  # it runs the live tests and nothing after them
                if not self._build_running() or len(self.workqueue) == 1:
                    self.live_given = True
                    self.workqueue.move_to_end(LIVE, last=False)
                    super()._assign_work_unit(node)
                    self._let_idle_nodes_go()
                    return
            if LIVE in self.workqueue and next(iter(self.workqueue)) == LIVE:
                if len(self.workqueue) == 1:
                    return  # only the live tests are left: they wait for the live worker
                self.workqueue.move_to_end(LIVE)
        super()._assign_work_unit(node)

    def _let_idle_nodes_go(self) -> None:
        """Once the queue is empty, nodes with nothing left to run end (their next test report would have)."""
        if self.workqueue:
            return
        for other in self.nodes:
            if other is not self.live_node and not other.shutting_down and \
                    self._pending_of(self.assigned_work.get(other, {})) == 0:
                other.shutdown()

    def _reschedule(self, node) -> None:
        super()._reschedule(node)
        # The live worker takes no more work: once the queue is empty and it is done, let it go too.
        live = self.live_node
        if (not self.workqueue and live is not None and not live.shutting_down
                and self._pending_of(self.assigned_work.get(live, {})) == 0):
            live.shutdown()
