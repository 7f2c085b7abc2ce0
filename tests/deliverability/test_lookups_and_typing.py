"""Items 1 and 2 on the simulator: a recipient is looked up once (cached), a "no" fails without a send, a failed
look-up waits; each message goes after "typing..." for a time that grows with its text, within the pacing."""

from __future__ import annotations

import asyncio

from fleet_dashboard.core.db import session_scope
from fleet_dashboard.deliverability import contacts
from tests.deliverability.conftest import PHONE, enqueue, network, pair, rows_of, run, running, set_rules, wait_until

STRANGER = "+201005550123"


def _all_done(org_id) -> bool:
    rows = rows_of(org_id).values()
    return bool(rows) and all(r.status in ("completed", "failed") for r in rows)


def test_a_number_not_on_whatsapp_fails_without_a_send_and_a_known_one_is_asked_about_once(sim, db, org_tpl):
    org, _ = org_tpl
    pair(db, org.id)

    async def body():
        async with running(org.id) as engine:
            engine.factory.apply(org.id, "unregistered", {"phones": [STRANGER]})
            enqueue(org.id, ["one", "two"])
            [nobody] = enqueue(org.id, ["nobody"], phone=STRANGER, max_attempts=5)
            await wait_until(lambda: _all_done(org.id), what="every row to end")
            enqueue(org.id, ["three"])  # the cache answers now: no second look-up
            await wait_until(lambda: len(network(org.id, "message")) == 3, what="the third send")
            return nobody.id

    nobody = run(body)
    row = rows_of(org.id)[nobody]
    assert (row.status, row.error_code, row.attempts) == ("failed", "not_on_whatsapp", 1)
    assert "not on WhatsApp" in row.error_message
    # The network saw one look-up per number (batched, then cached) and no message to the stranger.
    lookups = network(org.id, "lookup")
    assert sorted(p for _, p, _ in lookups) == sorted([PHONE, STRANGER])
    assert dict((p, t) for _, p, t in lookups) == {PHONE: "on_whatsapp", STRANGER: "not_on_whatsapp"}
    assert [p for _, p, _ in network(org.id, "message")] == [PHONE] * 3
    with session_scope() as s:
        assert contacts.cached(session=s, org_id=org.id, phone=PHONE).on_whatsapp is True
        assert contacts.cached(session=s, org_id=org.id, phone=STRANGER).on_whatsapp is False


def test_a_look_up_that_fails_is_not_a_no_the_message_waits_and_is_retried(sim, db, org_tpl, monkeypatch):
    monkeypatch.setenv("LOOKUP_RETRY_SECONDS", "0.5")
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    org, _ = org_tpl
    pair(db, org.id)

    async def body():
        async with running(org.id) as engine:
            gateway = engine.supervisor(org.id).gateway
            real = gateway.look_up
            calls = []

            async def outage(phones):
                calls.append(phones)
                if len(calls) == 1:
                    raise RuntimeError("usync query timed out")
                return await real(phones)

            gateway.look_up = outage
            [row] = enqueue(org.id, ["patient"], max_attempts=1)
            await wait_until(lambda: rows_of(org.id)[row.id].wait_reason == "lookup_failed", what="a wait")
            waiting = rows_of(org.id)[row.id]
            assert waiting.status == "pending" and waiting.attempts == 0 and waiting.error_code == "lookup_failed"
            await wait_until(lambda: rows_of(org.id)[row.id].status == "completed", what="the retry")
            return calls

    calls = run(body)
    assert len(calls) == 2
    assert [p for _, p, _ in network(org.id, "message")] == [PHONE]


def test_typing_presence_goes_before_each_message_and_can_be_switched_off(sim, db, org_tpl, monkeypatch):
    monkeypatch.setenv("TYPING_MIN_SECONDS", "0.2")
    monkeypatch.setenv("TYPING_MAX_SECONDS", "0.6")
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    org, _ = org_tpl
    pair(db, org.id)

    async def body():
        async with running(org.id):
            enqueue(org.id, ["short"])
            await wait_until(lambda: len(network(org.id, "message")) == 1, what="the first send")
            set_rules(org.id, typing=False)
            await asyncio.sleep(0.3)  # the worker reads the change (sending.changed)
            enqueue(org.id, ["untyped"])
            await wait_until(lambda: len(network(org.id, "message")) == 2, what="the second send")

    run(body)
    seen = [(k, t) for k, _, t in network(org.id) if k != "lookup"]
    assert seen == [("presence", "composing"), ("presence", "paused"), ("message", "Hi short"),
                    ("message", "Hi untyped")]
    # The composing state lasted at least TYPING_MIN_SECONDS before "paused" and the message.
    from sqlalchemy import text

    from fleet_dashboard.core.db import get_engine

    with get_engine().connect() as conn:
        stamps = conn.execute(text("SELECT created_at FROM simulator_sent WHERE org_id = :o AND kind <> 'lookup' "
                                   "ORDER BY created_at"), {"o": org.id}).scalars().all()
    assert (stamps[1] - stamps[0]).total_seconds() >= 0.19


def test_look_ups_go_in_batches_and_take_their_place_in_the_pacing(sim, db, org_tpl, monkeypatch):
    """Twelve new recipients with a 5-number batch and one slot per 0.4 s: every number is asked once, no call
    asks more than five, and look-ups and sends together never come closer than the pacing's gap."""
    from fleet_dashboard.core.settings import get_settings
    from tests.support.process_state import reset_process_state

    for key, value in {"SEND_RATE_PER_MINUTE": "150", "SEND_JITTER_SECONDS": "0", "LOOKUP_BATCH_SIZE": "5"}.items():
        monkeypatch.setenv(key, value)
    reset_process_state()
    gap = 60 / get_settings().send_rate_per_minute
    org, _ = org_tpl
    pair(db, org.id)
    set_rules(org.id, typing=False)
    phones = [f"+20100777{n:04d}" for n in range(12)]

    async def body():
        async with running(org.id) as engine:
            gateway = engine.supervisor(org.id).gateway
            slots: list[tuple[str, float, list[str]]] = []
            real_look_up, real_send = gateway.look_up, gateway.send_text

            async def look_up(asked):
                slots.append(("lookup", asyncio.get_running_loop().time(), list(asked)))
                return await real_look_up(asked)

            async def send_text(phone, text, **kwargs):
                slots.append(("send", asyncio.get_running_loop().time(), [phone]))
                return await real_send(phone, text, **kwargs)

            gateway.look_up, gateway.send_text = look_up, send_text
            for n, phone in enumerate(phones):
                enqueue(org.id, [f"customer {n}"], phone=phone)
            await wait_until(lambda: _all_done(org.id), timeout=60, what="every row to end")
            return slots

    slots = run(body, timeout=90)
    asked = [p for kind, _, batch in slots if kind == "lookup" for p in batch]
    assert sorted(asked) == sorted(phones)  # each new number asked once
    assert all(len(batch) <= 5 for kind, _, batch in slots if kind == "lookup")
    assert len([s for s in slots if s[0] == "lookup"]) < len(phones)  # batched, not one call per number
    times = [t for _, t, _ in slots]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= gap * 0.95, slots
    assert all(r.status == "completed" for r in rows_of(org.id).values())
