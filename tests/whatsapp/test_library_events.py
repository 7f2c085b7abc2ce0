"""Each library event read as what whatsmeow does next (connectionevents.go), fed to a real client: the library
reconnects by itself (grace), or it will not (our backoff, a ban's wait, or the end of the session)."""

from __future__ import annotations

import asyncio

import pytest
from neonize.proto import Neonize_pb2 as pb

from fleet_dashboard import strings
from tests.support.neonize import PHONE_USER, feed, jid
from tests.whatsapp.conftest import audit_rows, run, running_engine, wait_row

DEVICE = f"{PHONE_USER}:7@s.whatsapp.net"


def _reason(name: str, field: str = "Reason", message=pb.ConnectFailure) -> int:
    return message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_name[name].number


async def _connected(factory, org_id):
    while org_id not in factory.live:
        await asyncio.sleep(0.02)
    client = factory.live[org_id].client
    await asyncio.to_thread(feed, client, pb.PairStatus(ID=jid(PHONE_USER, device=7), BusinessName="Fleet",
                                                        Platform="android", Status=2))
    await asyncio.to_thread(feed, client, pb.Connected(status=True))
    await wait_row(org_id, lambda r: r.status == "connected")
    return client


EVENTS = [
    # whatsmeow keeps reconnecting: the row says so and the engine waits for it (no teardown).
    (pb.StreamError(Code="500", Raw=pb.Node()), "reconnecting", True),
    # ConnectFailure is only emitted when whatsmeow will NOT reconnect: our own backoff takes over at once.
    (pb.ConnectFailure(Reason=_reason("BAD_USER_AGENT"), Message="bad ua", Raw=pb.Node()), "connect_failed", True),
    (pb.TemporaryBan(Code=_reason("SENT_TOO_MANY_SAME_MESSAGE", "Code", pb.TemporaryBan), Expire=3600),
     "temporary_ban", True),
    # The end of the session: only a person can bring it back.
    (pb.LoggedOut(OnConnect=True, Reason=_reason("LOGGED_OUT", message=pb.LoggedOut)), "logged_out_phone", False),
    (pb.StreamReplaced(), "stream_replaced", False),
    (pb.ClientOutdated(), "client_outdated", False),
]


@pytest.mark.parametrize(("event", "code", "enabled"), EVENTS, ids=lambda v: type(v).__name__ if not
                         isinstance(v, str | bool) else str(v))
def test_each_event_becomes_what_the_library_does_next(sim_env, neonize_connecting, event, code, enabled):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            client = await _connected(factory, org.id)
            gateway = factory.live[org.id]
            await asyncio.to_thread(feed, client, event)
            row = await wait_row(org.id, lambda r: r.connection_error_code == code and r.status != "connected")
            if code == "reconnecting":
                await asyncio.sleep(0.3)
                assert factory.live.get(org.id) is gateway  # the library's own reconnect is left to work
            elif code == "connect_failed":
                assert row.next_retry_at is not None and row.retry_count == 1  # our backoff, not the 120 s grace
            return row

    row = run(body)
    assert row.enabled is enabled
    assert strings.error_text(code)


def test_client_outdated_says_the_fix_is_a_neonize_release(sim_env, neonize_connecting):
    org, factory = neonize_connecting

    async def body():
        async with running_engine(factory):
            client = await _connected(factory, org.id)
            await asyncio.to_thread(feed, client, pb.ClientOutdated())
            return await wait_row(org.id, lambda r: r.connection_error_code == "client_outdated")

    row = run(body)
    assert "405" in row.connection_error and "neonize" in row.connection_error
    arabic = strings.error_text("client_outdated")
    assert "neonize" in arabic and "405" in arabic and "إصدار أحدث" in arabic
    assert audit_rows(org.id, "session_disconnected")[-1].event_data["code"] == "client_outdated"
