"""The web tier's event loop: the lag probe sees a blocked loop, and slow synchronous handlers no longer block it."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from fleet_dashboard.stats.loop_lag import LoopLagCollector, LoopLagProbe
from fleet_dashboard.web import access

pytestmark = pytest.mark.anyio
# Only a liveness guard: a handler that blocks the loop waits this long for a release that cannot come.
NEVER = 30.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _with_probe(probe: LoopLagProbe, work) -> None:
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.1)  # a few quiet samples first
    try:
        await work()
        await asyncio.sleep(0.1)  # the sample that was waiting on the loop lands
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _max_lag(probe: LoopLagProbe) -> float:
    return probe.snapshot()[2]


async def test_the_probe_sees_a_blocked_loop_and_exports_it_per_process():
    probe = LoopLagProbe(interval=0.01)

    async def block():
        time.sleep(0.3)  # what a synchronous query on the loop does to everyone else

    await _with_probe(probe, block)
    assert _max_lag(probe) >= 0.25
    buckets, total, _ = probe.snapshot()
    assert buckets[-1][0] == "+Inf" and buckets[-1][1] >= 10
    assert total >= 0.25

    registry = CollectorRegistry(auto_describe=False)
    registry.register(LoopLagCollector(probe))
    assert generate_latest(registry) == b"", "a probe that is not running exports nothing"
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.05)
    text = generate_latest(registry).decode()
    task.cancel()
    pid = os.getpid()
    assert f'fleet_web_event_loop_lag_seconds_bucket{{le="0.5",pid="{pid}"}}' in text
    assert f'fleet_web_event_loop_lag_seconds_bucket{{le="0.25",pid="{pid}"}}' in text
    assert f'fleet_web_event_loop_lag_max_seconds{{pid="{pid}"}}' in text
    # The 0.3 s stall is counted above the 0.25 bucket (in a later one: a busy machine only adds to it).
    count = {line.split("{")[1].split('"')[1]: float(line.rsplit(" ", 1)[1])
             for line in text.splitlines() if line.startswith("fleet_web_event_loop_lag_seconds_bucket")}
    assert count["+Inf"] - count["0.25"] >= 1


class FakeState:
    """Stands in for a Reflex state: declared handlers receive the state and mutate it."""

    def __init__(self):
        self.value = ""


async def test_a_slow_synchronous_handler_does_not_stall_a_concurrent_probe():
    release = threading.Event()
    held = []

    @access.allow_signed_in
    def slow_handler(self, text: str):
        # A 50,000-row CSV, an argon2 hash, a slow query: here, work that lasts until the loop has shown it turns.
        # On the loop it would wait in vain (the loop could not release it) and give up after NEVER seconds.
        held.append(release.wait(NEVER))
        self.value = text
        return "done"

    # Reflex awaits what the declaration made of the handler: a coroutine function.
    assert inspect.iscoroutinefunction(slow_handler)
    assert list(inspect.signature(slow_handler).parameters) == ["self", "text"]
    probe = LoopLagProbe(interval=0.01)
    state = FakeState()
    result = {}

    async def run_handlers():
        handlers = asyncio.gather(slow_handler(state, "a"), slow_handler(FakeState(), "b"))
        before = probe.snapshot()[0][-1][1]
        while probe.snapshot()[0][-1][1] < before + 3:  # the probe keeps sampling while both handlers work
            await asyncio.sleep(0.01)
        release.set()
        result["out"] = await handlers

    await _with_probe(probe, run_handlers)
    assert result["out"] == ["done", "done"] and state.value == "a"
    assert held == [True, True], "a handler ran on the loop: nothing could release it"


async def test_the_offloaded_handler_sees_the_admitted_caller():
    seen = {}

    @access.allow_signed_in
    def handler(self):
        seen["caller"] = access.current_caller()
        seen["thread"] = threading.current_thread().name

    access.admit(access.SIGNED_IN, "the caller")
    await handler(FakeState())
    assert seen["caller"] == "the caller"
    assert seen["thread"].startswith("fd-offload")


async def test_a_refusal_inside_an_offloaded_handler_becomes_a_toast_not_a_traceback(monkeypatch):
    from fleet_dashboard.core.errors import DomainError

    monkeypatch.setattr(access, "_outcome", lambda state, exc: ("toast", exc.code))

    @access.allow_signed_in
    def handler(self):
        raise DomainError("no", code="invalid")

    assert await handler(FakeState()) == ("toast", "invalid")


async def test_every_registered_handler_of_the_app_runs_off_the_loop():
    from tests.security.catalog import event_handlers

    for h in event_handlers():
        if h.state.__module__.startswith("fleet_dashboard.") and h.rule is not access.NOBODY:  # setvar: refused
            fn = h.handler.fn
            assert inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn), h.label


def _pid_and_priority() -> tuple[int, int]:
    return os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)


def _die_the_first_time(marker: str) -> int:
    """A helper killed in the middle of a page (the OOM killer, an operator's kill -9)."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
    return os.getpid()


def test_export_pages_are_made_in_a_lower_priority_helper_process_that_is_replaced_when_it_dies(db, tmp_path):
    from fleet_dashboard.core import offload

    pid, priority = offload.in_process(_pid_and_priority)
    assert pid != os.getpid()  # not this process: its threads would hold the interpreter lock the loop needs
    assert priority > os.getpriority(os.PRIO_PROCESS, 0)  # the kernel runs the web loop first on a busy machine
    assert offload.in_process(_pid_and_priority)[0] == pid  # started once, not per page

    replacement = offload.in_process(_die_the_first_time, marker=str(tmp_path / "died"))
    assert replacement != pid and (tmp_path / "died").exists()  # the page was made again, in a new helper


def test_a_helper_process_does_not_outlive_a_web_worker_killed_outright(tmp_path):
    import signal
    import subprocess
    import sys

    worker = subprocess.Popen(
        [sys.executable, "-c", "import os, time; from fleet_dashboard.core import offload; "
                               "print(offload.in_process(os.getpid), flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/unused"})
    try:
        helper = int(worker.stdout.readline())
        os.kill(worker.pid, signal.SIGKILL)  # no atexit, no pool shutdown: only the helper's own watch is left
        worker.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(helper):
            time.sleep(0.2)
        assert not _alive(helper)
    finally:
        worker.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
