"""How `make test` shares the suite between its two workers (tests/support/schedule.py), played with stand-in
workers: while the frontend build runs, both take ordinary modules; then one goes to the live modules (the socket
ones first) and the other joins it there once the ordinary ones are given out; a worker runs nothing but live tests
after a browser test; every test runs once and every worker is let go at the end."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support import schedule

SOCKET_IDS = [f"tests/security/test_wire{m}.py::test_{t}" for m in range(2) for t in range(3)]
BROWSER_IDS = [f"tests/e2e/test_page{m}.py::test_{t}[chromium]" for m in range(6) for t in range(3)]
LIVE_IDS = SOCKET_IDS + BROWSER_IDS
ORDINARY = [f"tests/api/test_m{m}.py::test_{t}" for m in range(5) for t in range(3)]


class Worker:
    """What the scheduler sees of an xdist worker: tests sent to it, run in order, and a shutdown."""

    def __init__(self, name: str):
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int] = []
        self.ran: list[str] = []
        self.last_step = 0
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down, f"{self.gateway.id} got work after its shutdown"
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def play(tmp_path, monkeypatch, build_running, *, workers: int = 2,
         ordinary: list[str] = ORDINARY) -> tuple[list[Worker], object]:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(LIVE_IDS))
    monkeypatch.setenv(schedule.LIVE_IDS_ENV, str(ids_file))
    config = SimpleNamespace(getvalue=lambda name: {"tx": ["popen"] * workers, "numprocesses": workers}.get(name),
                             option=SimpleNamespace(loadscopereorder=True, numprocesses=workers, tx=None,
                                                    dist="loadscope"))
    monkeypatch.setattr("xdist.scheduler.loadscope.parse_tx_spec_config", lambda _config: ["popen"] * workers)
    sched = schedule.LiveApart(config, build_running=build_running)
    collection = ordinary[:6] + LIVE_IDS + ordinary[6:]  # as the conftest sorts them: browser tests last
    pool = [Worker(f"gw{n}") for n in range(workers)]
    for worker in pool:
        sched.add_node(worker)
        sched.add_node_collection(worker, collection)
    sched.schedule()
    # Each step, every worker runs the next test it was sent.
    for step in range(1, 200):
        busy = [w for w in pool if w.queue]
        if not busy:
            break
        for worker in busy:
            index = worker.queue.pop(0)
            worker.ran.append(collection[index])
            worker.last_step = step
            sched.mark_test_complete(worker, index)
    return pool, sched


def steps(n: int):
    """A build that is over after n questions."""
    calls = {"n": 0}

    def build_running() -> bool:
        calls["n"] += 1
        return calls["n"] <= n

    return build_running


def assert_a_whole_run(workers: list[Worker], sched, ordinary: list[str] = ORDINARY) -> None:
    ran = [test for w in workers for test in w.ran]
    assert sorted(ran) == sorted(ordinary + LIVE_IDS), "every test once"
    for w in workers:
        browser = [i for i, test in enumerate(w.ran) if test in BROWSER_IDS]
        if browser:
            assert all(test in LIVE_IDS for test in w.ran[browser[0]:]), "only live tests after a browser test"
            assert not [t for t in w.ran[browser[0]:] if t in SOCKET_IDS], "the socket tests before the browser ones"
    assert all(w.shutting_down for w in workers), "every worker is let go"
    assert sched.tests_finished


@pytest.mark.parametrize("build_steps", [0, 4, 1000], ids=["built_already", "built_after_four_steps", "never_ends"])
def test_every_test_runs_once_nothing_but_live_tests_after_a_browser_test_and_every_worker_ends(
        tmp_path, monkeypatch, build_steps):
    workers, sched = play(tmp_path, monkeypatch, steps(build_steps))
    assert_a_whole_run(workers, sched)


def test_while_the_build_runs_both_workers_take_ordinary_modules(tmp_path, monkeypatch):
    workers, sched = play(tmp_path, monkeypatch, steps(3))
    assert all(w.ran[0] in ORDINARY for w in workers)
    assert sched.live_node is not None and sched.live_node.ran[0] in ORDINARY


def test_with_the_build_done_one_worker_starts_the_live_tests_and_both_end_on_them_together(tmp_path, monkeypatch):
    workers, sched = play(tmp_path, monkeypatch, steps(0))
    live, other = sched.live_node, next(w for w in workers if w is not sched.live_node)
    assert live.ran[:len(SOCKET_IDS)] == SOCKET_IDS, "the live worker starts with the socket modules"
    assert other.ran[:len(ORDINARY)] == [t for t in other.ran if t in ORDINARY] and other.ran[0] in ORDINARY
    assert [t for t in other.ran if t in BROWSER_IDS], "the other worker joins in on the live modules"
    assert abs(live.last_step - other.last_step) <= 3, "neither ends alone with a module of the other's left"


def test_a_browser_worker_waits_while_the_other_ends_the_ordinary_modules(tmp_path, monkeypatch):
    many = [f"tests/api/test_m{m}.py::test_{t}" for m in range(30) for t in range(3)]
    workers, sched = play(tmp_path, monkeypatch, steps(0), ordinary=many)
    assert_a_whole_run(workers, sched, many)
    assert sched.live_node.ran == LIVE_IDS


def test_one_worker_runs_the_ordinary_modules_then_the_socket_ones_then_the_browser_ones(tmp_path, monkeypatch):
    (worker,), sched = play(tmp_path, monkeypatch, steps(0), workers=1)
    assert worker.ran == sorted(ORDINARY, key=ORDINARY.index) + SOCKET_IDS + BROWSER_IDS or (
        [t in ORDINARY for t in worker.ran] == [True] * len(ORDINARY) + [False] * len(LIVE_IDS)
        and worker.ran[len(ORDINARY):] == SOCKET_IDS + BROWSER_IDS)
    assert worker.shutting_down and sched.tests_finished
