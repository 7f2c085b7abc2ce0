"""Feeding a real neonize client what the Go side would send, and a stored device without WhatsApp."""

from __future__ import annotations

import asyncio
import ctypes
import os
import time

import psycopg
from neonize.events import EVENT_TO_INT
from neonize.proto import Neonize_pb2 as pb
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage

PHONE_USER = "201001234567"


def jid(user: str, device: int = 0, server: str = "s.whatsapp.net") -> pb.JID:
    return pb.JID(User=user, Device=device, Server=server, RawAgent=0, Integrator=0, IsEmpty=False)


def feed(client, event) -> None:
    """Hand an event to the client exactly as the Go side does: serialized bytes and an event code."""
    data = event.SerializePartialToString()
    buf = ctypes.create_string_buffer(data, len(data) or 1)
    code = EVENT_TO_INT[type(event)]
    client.event.execute(0, ctypes.addressof(buf), len(data), code)


def feed_qr(client, code: str) -> None:
    """The QR channel's callback, as Go calls it for each rotation."""
    buf = ctypes.create_string_buffer(code.encode())
    client._NewAClient__onQr(0, ctypes.addressof(buf))


def source(sender: pb.JID, *, from_me: bool = False) -> pb.MessageSource:
    return pb.MessageSource(Chat=sender, Sender=sender, IsFromMe=from_me, IsGroup=False, SenderAlt=pb.JID(),
                            RecipientAlt=pb.JID(), BroadcastListOwner=pb.JID())


def inbound(sender_user: str, body: str, msg_id: str) -> pb.Message:
    return inbound_from(source(jid(sender_user)), body, msg_id)


def receipt(ids: list[str], kind: int) -> pb.Receipt:
    return pb.Receipt(MessageSource=source(jid("201009998887")), MessageIDs=ids, Timestamp=int(time.time()),
                      Type=kind)


def feed_status(gateway, status: str) -> None:
    """The login-status callback, as Go calls it from the QR channel ("timeout", "success", "err-...")."""
    buf = ctypes.create_string_buffer(status.encode())
    gateway._status_from_go(0, ctypes.addressof(buf))


def lid_source(lid_user: str) -> pb.MessageSource:
    """A sender known only by its LID (no phone number beside it)."""
    sender = jid(lid_user, server="lid")
    return pb.MessageSource(Chat=sender, Sender=sender, IsFromMe=False, IsGroup=False, SenderAlt=pb.JID(),
                            RecipientAlt=pb.JID(), BroadcastListOwner=pb.JID())


def inbound_from(source_: pb.MessageSource, body: str, msg_id: str) -> pb.Message:
    info = pb.MessageInfo(MessageSource=source_, ID=msg_id, ServerID=0, Type="text", Pushname="Driver",
                          Timestamp=int(time.time()), Category="", Multicast=False, MediaType="", Edit="")
    return pb.Message(Info=info, Message=WAMessage(conversation=body), IsEphemeral=False, IsViewOnce=False,
                      IsViewOnceV2=False, IsViewOnceV2Extension=False, IsDocumentWithCaption=False,
                      IsLottieSticker=False, IsEdit=False, UnavailableRequestID="", RetryCount=0)


def store_device(database_url: str, device_jid: str, lid: str | None = None) -> None:
    """A paired device in whatsmeow's store, as a scan would have left it (keys are random: it never logs in)."""
    r = os.urandom
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("""
            INSERT INTO whatsmeow_device (jid, lid, registration_id, noise_key, identity_key, signed_pre_key,
                signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, adv_account_sig, adv_account_sig_key,
                adv_device_sig, platform, push_name)
            VALUES (%s, %s, 1234, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s, 'android', 'Fleet')
            ON CONFLICT (jid) DO NOTHING""",
                     (device_jid, lid, r(32), r(32), r(32), r(64), r(32), r(10), r(64), r(32), r(64)))


def map_lid(database_url: str, lid_user: str, phone_user: str) -> None:
    """What whatsmeow learns from WhatsApp: this LID belongs to that phone number."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("INSERT INTO whatsmeow_lid_map (lid, pn) VALUES (%s, %s) ON CONFLICT (lid) DO UPDATE "
                     "SET pn = excluded.pn", (lid_user, phone_user))


def device_stored(database_url: str, device_jid: str) -> bool:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM whatsmeow_device WHERE jid = %s)",
                            (device_jid,)).fetchone()[0]


def sent_message(org_id, wamid: str):
    """A message this organisation sent earlier, waiting for its receipts."""
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.messaging.models import WhatsAppMessage

    with session_scope() as s:
        row = WhatsAppMessage(org_id=org_id, recipient_phone="+201009998887", message_body="Truck 7 arrived",
                              status="sent", whatsapp_message_id=wamid)
        s.add(row)
        s.flush()
        return row.id


def message_row(message_id):
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.messaging.models import WhatsAppMessage

    with session_scope() as s:
        return s.get(WhatsAppMessage, message_id)


async def until(predicate, timeout: float = 5.0) -> None:
    """Poll a blocking predicate off the loop until it holds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.05)
