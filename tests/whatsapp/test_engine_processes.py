"""`fleet-dashboard run` keeps engine processes: enough for the sessions, restarted with backoff after a death."""

from __future__ import annotations

import signal
import sys
import time

from fleet_dashboard.whatsapp.processes import EngineProcesses

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _fleet(**overrides):
    marked: list[tuple[str, str]] = []
    options = dict(env={}, minimum=2, maximum=4, shard_size=10, restart_base=1.0, restart_max=8.0,
                   count_candidates=lambda: 0, mark_crashed=lambda engine_id, reason, starting=(): marked.append(
                       (engine_id, reason)) or 3, command=SLEEPER)
    options.update(overrides)
    return EngineProcesses(**options), marked


def test_a_dead_engine_is_marked_down_and_restarted_with_growing_backoff():
    fleet, marked = _fleet()
    try:
        fleet.poll(now=0.0)
        first = fleet.pids()
        assert len(first) == 2
        victim = fleet.slots[0].proc
        victim.send_signal(signal.SIGABRT)
        victim.wait(10)
        fleet.poll(now=1.0)
        assert marked and marked[0][0].endswith(f":{victim.pid}") and "SIGABRT" in marked[0][1]
        assert fleet.slots[0].proc is None and 1.5 <= fleet.slots[0].next_start_at <= 2.0  # base 1 s, jittered
        fleet.poll(now=2.1)
        assert len(fleet.pids()) == 2 and victim.pid not in fleet.pids()
        # Dying again soon after grows the wait; the other slot never noticed.
        again = fleet.slots[0].proc
        again.kill()
        again.wait(10)
        fleet.poll(now=3.0)
        assert 3.0 + 1.0 <= fleet.slots[0].next_start_at <= 3.0 + 2.0
        assert fleet.slots[1].proc.pid == first[1]
    finally:
        fleet.stop()
    assert fleet.pids() == []


def test_a_recycling_engine_comes_back_at_once():
    fleet, _ = _fleet(minimum=1, command=[sys.executable, "-c", "raise SystemExit(75)"])
    try:
        fleet.poll(now=0.0)
        fleet.slots[0].proc.wait(10)
        fleet.poll(now=0.5)
        assert fleet.slots[0].proc is not None and fleet.slots[0].exits == [75]
    finally:
        fleet.stop()


def test_more_sessions_start_more_engines_up_to_the_maximum():
    count = {"n": 15}
    fleet, _ = _fleet(minimum=1, maximum=3, count_candidates=lambda: count["n"])
    try:
        fleet.poll(now=0.0)
        assert len(fleet.pids()) == 2  # 15 sessions, 10 per engine
        count["n"] = 95
        fleet.poll(now=10.0)
        assert len(fleet.pids()) == 3
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(fleet.pids()) != 3:
            time.sleep(0.05)
    finally:
        fleet.stop(timeout=5)


def test_a_spare_engine_is_kept_so_survivors_have_room_for_the_sessions_of_a_dead_one():
    fleet, _ = _fleet(minimum=1, maximum=5, spare=1, count_candidates=lambda: 25)
    try:
        fleet.poll(now=0.0)
        assert len(fleet.pids()) == 4  # 25 sessions at 10 per engine, plus one spare
    finally:
        fleet.stop(timeout=5)
