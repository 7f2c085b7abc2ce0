"""How `make test` shares the suite between its two workers (tests/support/schedule.py), played with stand-in
workers: the live tests go whole to one worker, which runs nothing after them; while the frontend build runs,
that worker takes ordinary modules; every test runs once and every worker is let go at the end."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support import schedule

LIVE_IDS = ["tests/security/test_wire.py::test_a", "tests/security/test_wire.py::test_b", "tests/e2e/test_x.py::test_c"]
ORDINARY = [f"tests/api/test_m{m}.py::test_{t}" for m in range(5) for t in range(3)]


class Worker:
    """What the scheduler sees of an xdist worker: tests sent to it, run in order, and a shutdown."""

    def __init__(self, name: str):
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int] = []
        self.ran: list[str] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down, f"{self.gateway.id} got work after its shutdown"
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def play(tmp_path, monkeypatch, build_running) -> tuple[list[Worker], object]:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(LIVE_IDS))
    monkeypatch.setenv(schedule.LIVE_IDS_ENV, str(ids_file))
    config = SimpleNamespace(getvalue=lambda name: {"tx": ["popen"] * 2, "numprocesses": 2}.get(name),
                             option=SimpleNamespace(loadscopereorder=False, numprocesses=2, tx=None, dist="loadscope"))
    monkeypatch.setattr("xdist.scheduler.loadscope.parse_tx_spec_config", lambda _config: ["popen", "popen"])
    sched = schedule.LiveApart(config, build_running=build_running)
    collection = ORDINARY[:6] + LIVE_IDS + ORDINARY[6:]
    workers = [Worker("gw0"), Worker("gw1")]
    for worker in workers:
        sched.add_node(worker)
        sched.add_node_collection(worker, collection)
    sched.schedule()
    # Each step, every worker runs the next test it was sent; the build ends after a few steps.
    for _step in range(200):
        busy = [w for w in workers if w.queue]
        if not busy:
            break
        for worker in busy:
            index = worker.queue.pop(0)
            worker.ran.append(collection[index])
            sched.mark_test_complete(worker, index)
    return workers, sched


@pytest.mark.parametrize("build_steps", [0, 4, 1000], ids=["built_already", "built_after_four_steps", "never_ends"])
def test_every_test_runs_once_the_live_ones_together_last_on_one_worker_and_every_worker_ends(
        tmp_path, monkeypatch, build_steps):
    calls = {"n": 0}

    def build_running() -> bool:
        calls["n"] += 1
        return calls["n"] <= build_steps

    workers, sched = play(tmp_path, monkeypatch, build_running)
    ran = [test for w in workers for test in w.ran]
    assert sorted(ran) == sorted(ORDINARY + LIVE_IDS), "every test once"
    live_worker = next(w for w in workers if any(t in LIVE_IDS for t in w.ran))
    assert live_worker is sched.live_node
    assert live_worker.ran[-len(LIVE_IDS):] == LIVE_IDS, "the live tests together, and nothing after them"
    assert all(w.shutting_down for w in workers), "every worker is let go"
    assert sched.tests_finished


def test_the_live_worker_takes_ordinary_modules_while_the_build_runs(tmp_path, monkeypatch):
    calls = {"n": 0}

    def build_running() -> bool:
        calls["n"] += 1
        return calls["n"] <= 3

    workers, sched = play(tmp_path, monkeypatch, build_running)
    before_live = sched.live_node.ran[:-len(LIVE_IDS)]
    assert before_live, "the live worker ran ordinary tests while the build ran"


def test_with_the_build_done_the_live_worker_starts_with_the_live_tests(tmp_path, monkeypatch):
    workers, sched = play(tmp_path, monkeypatch, lambda: False)
    assert sched.live_node.ran == LIVE_IDS
