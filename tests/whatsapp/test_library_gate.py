"""The gate in front of neonize's Go layer: writes alone, reads together, no hold forever, no thread per waiter."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from fleet_dashboard.whatsapp.engine.library_gate import LibraryGate


def test_a_start_or_stop_never_overlaps_another_call_and_reads_overlap_each_other():
    gate = LibraryGate()
    inside: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    lock = threading.Lock()

    def call(kind: str) -> None:
        with lock:
            inside.append(kind)
            if "write" in inside and len(inside) > 1:
                overlaps.append(tuple(inside))
        time.sleep(0.02)
        with lock:
            inside.remove(kind)

    threads = [threading.Thread(target=gate.call, args=(call, "write" if i % 3 == 0 else "read"),
                                kwargs={"exclusive": i % 3 == 0, "max_seconds": 5}) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not overlaps
    assert gate.waits > 0


def test_a_hold_ends_by_itself_when_the_call_goes_on():
    """A start blocks in Go for the session's life: its hold may not."""
    gate = LibraryGate()
    gate.hold(exclusive=True, max_seconds=0.2)  # never released by hand
    started = time.monotonic()
    gate.hold(exclusive=False, max_seconds=1).release()
    assert 0.15 <= time.monotonic() - started < 2


def test_a_waiting_writer_goes_before_new_readers():
    gate = LibraryGate()
    reader = gate.hold(exclusive=False, max_seconds=5)
    order: list[str] = []
    writer = threading.Thread(target=lambda: (gate.hold(exclusive=True, max_seconds=0.05), order.append("write")))
    writer.start()
    time.sleep(0.05)
    late_reader = threading.Thread(target=lambda: (gate.hold(exclusive=False, max_seconds=0.05),
                                                   order.append("read")))
    late_reader.start()
    time.sleep(0.05)
    assert order == []
    reader.release()
    writer.join(5)
    late_reader.join(5)
    assert order == ["write", "read"]


def test_a_stop_goes_before_queued_starts_and_requests_are_served_in_order():
    """A mass reconnect queues many starts: closing a socket, and the sends behind them, must not wait for all."""
    gate = LibraryGate()
    order: list[str] = []

    async def body():
        blocker = gate.hold(exclusive=True, max_seconds=5)

        async def ask(name: str, exclusive: bool, priority: bool = False):
            hold = await gate.hold_async(exclusive=exclusive, max_seconds=0.5, priority=priority)
            order.append(name)
            await asyncio.sleep(0.01)
            hold.release()

        tasks = [asyncio.create_task(ask("start1", True)), asyncio.create_task(ask("send1", False)),
                 asyncio.create_task(ask("send2", False)), asyncio.create_task(ask("start2", True))]
        await asyncio.sleep(0.05)
        tasks.append(asyncio.create_task(ask("stop", True, priority=True)))
        await asyncio.sleep(0.05)
        blocker.release()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)

    asyncio.run(body())
    assert order[:2] == ["stop", "start1"]
    assert set(order[2:4]) == {"send1", "send2"} and order[4] == "start2"


def test_waiting_on_the_event_loop_pins_no_thread():
    gate = LibraryGate()

    async def body():
        blocker = gate.hold(exclusive=True, max_seconds=0.3)
        threads_before = threading.active_count()
        waiters = [asyncio.create_task(gate.hold_async(exclusive=i % 2 == 0, max_seconds=0.01)) for i in range(60)]
        await asyncio.sleep(0.1)
        assert threading.active_count() <= threads_before + 1  # the timer thread at most
        assert not any(w.done() for w in waiters)
        blocker.release()
        holds = await asyncio.wait_for(asyncio.gather(*waiters), 10)
        for hold in holds:
            hold.release()
        # A cancelled writer does not leave readers blocked behind it.
        blocker = gate.hold(exclusive=True, max_seconds=5)
        writer = asyncio.create_task(gate.hold_async(exclusive=True, max_seconds=1))
        await asyncio.sleep(0.05)
        writer.cancel()
        blocker.release()
        (await asyncio.wait_for(gate.hold_async(exclusive=False, max_seconds=1), 2)).release()

    asyncio.run(body())


def test_off_it_lets_everything_through():
    gate = LibraryGate(enabled=False)
    gate.hold(exclusive=True, max_seconds=60)
    gate.hold(exclusive=True, max_seconds=60).release()
    assert gate.waits == 0


def test_a_client_being_stopped_has_its_queued_calls_dropped_and_later_ones_refused():
    """A call that reaches the library after Stop() removed its client dereferences nil in Go."""
    from fleet_dashboard.whatsapp.engine.library_gate import ClientStopping, GateOwner

    gate = LibraryGate()
    mine, other = GateOwner("mine"), GateOwner("other")

    async def body():
        start = gate.hold(exclusive=True, max_seconds=None)  # another organisation's start holds the gate
        queued = asyncio.create_task(gate.hold_async(exclusive=False, max_seconds=1, owner=mine))
        theirs = asyncio.create_task(gate.hold_async(exclusive=False, max_seconds=1, owner=other))
        await asyncio.sleep(0.05)
        assert gate.close(mine) == 1
        with pytest.raises(ClientStopping, match="stopping"):
            await asyncio.wait_for(queued, 1)
        with pytest.raises(ClientStopping):
            await gate.hold_async(exclusive=False, max_seconds=1, owner=mine)
        with pytest.raises(ClientStopping):
            gate.hold(exclusive=False, max_seconds=1, owner=mine)
        start.release()
        (await asyncio.wait_for(theirs, 1)).release()  # other clients' calls are untouched

    asyncio.run(body())


def test_a_thread_waiting_in_line_for_a_stopped_client_is_let_go():
    from fleet_dashboard.whatsapp.engine.library_gate import ClientStopping, GateOwner

    gate = LibraryGate()
    owner = GateOwner()
    blocker = gate.hold(exclusive=True, max_seconds=None)
    errors: list[Exception] = []

    def wait():
        try:
            gate.hold(exclusive=True, max_seconds=None, owner=owner)
        except ClientStopping as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    gate.close(owner)
    waiter.join(2)
    assert not waiter.is_alive() and len(errors) == 1
    blocker.release()


def test_holds_without_a_time_limit_last_until_released():
    """A start holds the gate until the library says its map work is done, however slow the store is."""
    gate = LibraryGate()
    start = gate.hold(exclusive=True, max_seconds=None)

    async def body():
        other = asyncio.create_task(gate.hold_async(exclusive=True, max_seconds=None))
        await asyncio.sleep(0.7)  # longer than any short hold
        assert not other.done()
        start.release()
        (await asyncio.wait_for(other, 1)).release()

    asyncio.run(body())


def test_sends_pass_a_start_that_waits_only_for_other_clients_dials():
    """A start waits for the dials in flight (their reads follow the dial); a send needs not wait with it."""
    gate = LibraryGate()
    order: list[str] = []

    async def body():
        dialing = gate.hold(exclusive=False, max_seconds=None, long=True)  # a start dialing, reads to come
        start = asyncio.create_task(gate.hold_async(exclusive=True, max_seconds=None))
        await asyncio.sleep(0.05)
        send = await asyncio.wait_for(gate.hold_async(exclusive=False, max_seconds=1), 1)  # passes the start
        order.append("send")
        assert not start.done()
        send.release()
        dialing.release()
        (await asyncio.wait_for(start, 1)).release()
        order.append("start")
        # A stop waiting is never passed: closing a socket goes before sends.
        dialing = gate.hold(exclusive=False, max_seconds=None, long=True)
        stop = asyncio.create_task(gate.hold_async(exclusive=True, max_seconds=None, priority=True))
        await asyncio.sleep(0.05)
        late = asyncio.create_task(gate.hold_async(exclusive=False, max_seconds=1))
        await asyncio.sleep(0.05)
        assert not late.done()
        dialing.release()
        (await asyncio.wait_for(stop, 1)).release()
        (await asyncio.wait_for(late, 1)).release()

    asyncio.run(body())
    assert order == ["send", "start"]
