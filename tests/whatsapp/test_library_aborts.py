"""The two reproductions of engine aborts, against the real neonize library, each attempt in its own process:
with the gate they never abort, without it they do, so the gate is what matters (tests/whatsapp/library_aborts.py;
bench/library_aborts.py runs them 20 times each and prints the rates)."""

from __future__ import annotations

import pytest

from tests.whatsapp import library_aborts

GATED_RUNS = 2
UNGATED_TRIES = 20  # the unserialized start storm aborts about one process in four


@pytest.fixture(scope="module")
def store_url():
    with library_aborts.own_server() as server:
        yield library_aborts.database(server)


def test_a_call_for_a_stopped_client_never_reaches_the_library(store_url):
    for _ in range(GATED_RUNS):
        attempt = library_aborts.run("late-call", store_url, gate=True)
        assert not attempt.aborted, attempt.output[-3000:]
        assert "the queued look-up was dropped" in attempt.output
        assert "the call after the Stop was refused" in attempt.output
    ungated = library_aborts.run("late-call", store_url, gate=False)
    assert ungated.aborted and "invalid memory address or nil pointer dereference" in ungated.output


def test_fifty_starts_on_a_locked_store_never_write_the_maps_at_once(store_url):
    for _ in range(GATED_RUNS):
        attempt = library_aborts.run("slow-store", store_url, gate=True)
        assert not attempt.aborted, attempt.output[-3000:]
        assert attempt.output.count("50 starts through") == library_aborts.WAVES
    for _ in range(UNGATED_TRIES):
        ungated = library_aborts.run("slow-store", store_url, gate=False)
        if ungated.aborted:
            break
    assert ungated.aborted and "fatal error: concurrent map" in ungated.output
