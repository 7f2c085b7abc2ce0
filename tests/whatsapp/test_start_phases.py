"""A start's phases in the library, driven as goneonize's Neonize() drives them (start_phases.py): the map writes of
two starts never overlap however slow the store, dials run side by side, and a stop waits for a safe phase."""

from __future__ import annotations

import threading
import time

from fleet_dashboard.whatsapp.engine.library_gate import GateOwner, LibraryGate
from fleet_dashboard.whatsapp.engine.start_phases import StartPhases


class FakeLibrary:
    """Records who is writing the maps, and complains when two do at once (Go's `concurrent map writes`)."""

    def __init__(self):
        self.writing: set[str] = set()
        self.overlaps = 0
        self.events: list[str] = []
        self.lock = threading.Lock()

    def write(self, who: str, seconds: float) -> None:
        with self.lock:
            self.overlaps += bool(self.writing)
            self.writing.add(who)
            self.events.append(f"write {who}")
        time.sleep(seconds)
        with self.lock:
            self.writing.discard(who)


def _start(phases: StartPhases, lib: FakeLibrary, who: str, store_seconds: float, dial_seconds: float) -> None:
    """Neonize() for a resumed device whose dial fails: writes around a (slow) store, Dialing, return."""
    if not phases.enter():
        return
    lib.write(who, store_seconds)  # StopSignal, sqlstore.New (waiting on the store), eventChannel, clients
    phases.registered()  # whatsmeow logs "Dialing" from inside Connect()
    lib.events.append(f"dial {who}")
    time.sleep(dial_seconds)
    phases.returned()


def test_a_slow_store_keeps_the_next_start_out_for_as_long_as_it_takes():
    gate, lib = LibraryGate(), FakeLibrary()
    first, second = StartPhases(gate, GateOwner("a")), StartPhases(gate, GateOwner("b"))
    threads = [threading.Thread(target=_start, args=(first, lib, "a", 1.0, 0.01))]
    threads[0].start()
    time.sleep(0.1)
    threads.append(threading.Thread(target=_start, args=(second, lib, "b", 0.01, 0.01)))
    threads[1].start()
    time.sleep(0.6)  # past any fixed hold: the second start still waits for the first one's writes
    assert second.phase == "new" and lib.events == ["write a"]
    for t in threads:
        t.join(5)
    # b wrote once a's writes were done; a's dial then waited for b's writes (both were in line).
    assert lib.overlaps == 0 and lib.events[:2] == ["write a", "write b"]


def test_starts_in_line_write_one_after_another_then_dial_side_by_side():
    gate, lib = LibraryGate(), FakeLibrary()
    starts = [StartPhases(gate, GateOwner(str(i))) for i in range(5)]
    blocker = gate.hold(exclusive=True, max_seconds=None)  # everyone queues up first
    threads = [threading.Thread(target=_start, args=(p, lib, str(i), 0.02, 0.3)) for i, p in enumerate(starts)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    began = time.monotonic()
    blocker.release()
    for t in threads:
        t.join(5)
    assert lib.overlaps == 0
    assert [e.split()[0] for e in lib.events] == ["write"] * 5 + ["dial"] * 5  # every write before any dial
    assert time.monotonic() - began < 0.3 * 5  # the five dials overlapped


def test_a_stop_waits_for_a_safe_phase_and_a_failed_pairing_parks_its_thread_safely():
    gate = LibraryGate()
    phases = StartPhases(gate, GateOwner("p"))
    assert phases.wait_safe(0)  # nothing entered yet
    assert phases.enter()
    assert not phases.wait_safe(0.05)  # writing its maps
    phases.registered()
    assert phases.phase == "dialing" and not phases.wait_safe(0.05)  # its reads follow the dial
    phases.settled("pairing")  # a first QR code: the loop is on, nothing touches the maps
    assert phases.wait_safe(0)
    parked = threading.Thread(target=phases.loop_ending, args=(False,), daemon=True)
    parked.start()
    parked.join(0.2)
    assert parked.is_alive() and phases.doomed and phases.wait_safe(0)  # Stop may run; the thread never reads
    gate.hold(exclusive=True, max_seconds=1).release()  # and it holds nothing


def test_a_pairing_that_succeeds_holds_the_gate_through_its_reads_until_its_first_event():
    gate = LibraryGate()
    phases = StartPhases(gate, GateOwner("p"))
    phases.enter()
    phases.registered()
    phases.settled("pairing")
    phases.loop_ending(True)
    assert phases.phase == "reading" and not phases.wait_safe(0)
    writer = threading.Thread(target=lambda: gate.hold(exclusive=True, max_seconds=1).release())
    writer.start()
    writer.join(0.2)
    assert writer.is_alive()  # a start or a stop waits for the reads
    phases.settled("running")
    writer.join(2)
    assert not writer.is_alive() and phases.wait_safe(0)


def test_a_stop_before_the_start_got_its_turn_starts_nothing():
    gate = LibraryGate()
    owner = GateOwner("x")
    phases = StartPhases(gate, owner)
    blocker = gate.hold(exclusive=True, max_seconds=None)
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(phases.enter()))
    t.start()
    time.sleep(0.05)
    gate.close(owner)
    t.join(2)
    blocker.release()
    assert result == [False] and phases.phase == "skipped" and phases.wait_safe(0)
