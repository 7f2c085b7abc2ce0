"""How `make test` shares the suite between its two workers (tests/support/schedule.py), played with stand-in
workers: both take the ordinary modules first, then the live app's socket modules, then its browser modules, so
both end on the live tests together; a worker runs nothing but browser tests after one; every test runs once and
every worker is let go at the end."""

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


def play(tmp_path, monkeypatch, *, workers: int = 2, ordinary: list[str] = ORDINARY,
         crash_after: int | None = None) -> tuple[list[Worker], object]:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(LIVE_IDS))
    monkeypatch.setenv(schedule.LIVE_IDS_ENV, str(ids_file))
    config = SimpleNamespace(getvalue=lambda name: {"tx": ["popen"] * workers, "numprocesses": workers}.get(name),
                             option=SimpleNamespace(loadscopereorder=True, numprocesses=workers, tx=None,
                                                    dist="loadscope"))
    monkeypatch.setattr("xdist.scheduler.loadscope.parse_tx_spec_config", lambda _config: ["popen"] * workers)
    sched = schedule.LiveApart(config)
    collection = ordinary[:6] + LIVE_IDS + ordinary[6:]  # as the conftest sorts them: browser tests last
    pool = [Worker(f"gw{n}") for n in range(workers)]
    for worker in pool:
        sched.add_node(worker)
        sched.add_node_collection(worker, collection)
    sched.schedule()
    # Each step, every worker runs the next test it was sent.
    for step in range(1, 400):
        busy = [w for w in pool if w.queue]
        if not busy:
            break
        for worker in busy:
            if crash_after is not None and step == crash_after and worker is pool[0]:
                worker.queue.clear()  # it died: what it held goes back to the queue
                worker.shutting_down = True
                sched.remove_node(worker)
                continue
            index = worker.queue.pop(0)
            worker.ran.append(collection[index])
            worker.last_step = step
            sched.mark_test_complete(worker, index)
    return pool, sched


def assert_a_whole_run(workers: list[Worker], sched, ordinary: list[str] = ORDINARY) -> None:
    ran = [test for w in workers for test in w.ran]
    assert sorted(set(ran)) == sorted(ordinary + LIVE_IDS), "every test"
    for w in workers:
        browser = [i for i, test in enumerate(w.ran) if test in BROWSER_IDS]
        if browser:
            assert all(test in BROWSER_IDS for test in w.ran[browser[0]:]), "only browser tests after a browser test"
    assert all(w.shutting_down for w in workers), "every worker is let go"
    assert sched.tests_finished


@pytest.mark.parametrize("size", [5, 30], ids=["fewer_ordinary_than_live", "more_ordinary_than_live"])
def test_every_test_runs_once_and_both_workers_end_on_the_browser_tests_together(tmp_path, monkeypatch, size):
    ordinary = [f"tests/api/test_m{m}.py::test_{t}" for m in range(size) for t in range(3)]
    workers, sched = play(tmp_path, monkeypatch, ordinary=ordinary)
    assert_a_whole_run(workers, sched, ordinary)
    assert len([t for w in workers for t in w.ran]) == len(ordinary + LIVE_IDS), "every test once"
    for w in workers:
        phases = [0 if t in ordinary else 1 if t in SOCKET_IDS else 2 for t in w.ran]
        assert phases == sorted(phases), "ordinary modules, then the socket ones, then the browser ones"
        assert phases[-1] == 2, "each worker ends on browser tests"
    assert abs(workers[0].last_step - workers[1].last_step) <= 3, "neither ends alone with a module of the other's"


def test_a_crashed_workers_tests_go_to_the_other_even_when_it_has_run_browser_tests(tmp_path, monkeypatch):
    big = [f"tests/api/test_big.py::test_{t}" for t in range(40)]  # the first worker's first module: it dies in it
    workers, sched = play(tmp_path, monkeypatch, ordinary=big + ORDINARY, crash_after=25)
    first, other = workers
    assert [t for t in other.ran if t in BROWSER_IDS], "the other worker had reached the browser tests"
    assert {t for w in workers for t in w.ran} == set(big + ORDINARY + LIVE_IDS), "every test, the lost ones too"
    assert other.shutting_down and sched.tests_finished


def test_one_worker_runs_the_ordinary_modules_then_the_socket_ones_then_the_browser_ones(tmp_path, monkeypatch):
    (worker,), sched = play(tmp_path, monkeypatch, workers=1)
    assert [t in ORDINARY for t in worker.ran] == [True] * len(ORDINARY) + [False] * len(LIVE_IDS)
    assert worker.ran[len(ORDINARY):] == SOCKET_IDS + BROWSER_IDS
    assert worker.shutting_down and sched.tests_finished
