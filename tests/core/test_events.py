"""The event bus in one process: filters, transactional emit, bounded queues, payload limits."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlmodel import Session

from fleet_dashboard.core.db import get_engine
from fleet_dashboard.core.events import MemoryBus, PostgresBus, emit, encode, get_bus
from tests.support.process_state import reset_process_state


@pytest.fixture(params=["memory", "postgres"])
def bus_backend(request, database_url, monkeypatch):
    monkeypatch.setenv("BUS_BACKEND", request.param)
    reset_process_state()
    yield request.param
    monkeypatch.undo()
    reset_process_state()


def test_subscribers_get_only_committed_events_they_asked_for(bus_backend):
    org, other = str(uuid.uuid4()), str(uuid.uuid4())
    expected = MemoryBus if bus_backend == "memory" else PostgresBus
    assert isinstance(get_bus(), expected)

    async def body():
        bus = get_bus()
        async with bus.subscribe(org_id=org, types={"queue.wake"}) as mine, bus.subscribe() as everything:
            def write():
                with Session(get_engine()) as s:
                    emit(s, {"type": "queue.wake", "org_id": org, "n": 1})
                    s.rollback()  # never delivered
                    emit(s, {"type": "queue.wake", "org_id": other, "n": 2})
                    emit(s, {"type": "message.status", "org_id": org, "n": 3})
                    emit(s, {"type": "queue.wake", "org_id": org, "n": 4})
                    s.commit()

            await asyncio.to_thread(write)
            await bus.publish({"type": "queue.wake", "org_id": uuid.UUID(org), "n": 5})
            got = [await mine.get(5), await mine.get(5)]
            assert [e["n"] for e in got] == [4, 5]
            seen = [(await everything.get(5))["n"] for _ in range(4)]
            assert seen == [2, 3, 4, 5]
            with pytest.raises(TimeoutError):
                await mine.get(0.2)

    asyncio.run(body())


def test_a_slow_subscriber_loses_its_oldest_events_not_memory():
    async def body():
        bus = MemoryBus(queue_size=10)
        async with bus.subscribe() as slow:
            for n in range(25):
                await bus.publish({"type": "queue.wake", "org_id": "o", "n": n})
            assert slow.queue.qsize() == 10 and slow.dropped == 15
            assert (await slow.get(1))["n"] == 15

    asyncio.run(body())


def test_events_must_fit_notify_and_name_their_type():
    with pytest.raises(ValueError, match="NOTIFY"):
        encode({"type": "message.inbound", "org_id": "o", "text": "x" * 9000})
    with pytest.raises(ValueError, match="type"):
        encode({"org_id": "o"})
    with pytest.raises(ValueError, match="org_id"):
        encode({"type": "queue.wake"})
    assert '"org_id":null' in encode({"type": "queue.wake", "org_id": None})
