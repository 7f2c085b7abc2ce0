"""neonize's events and callbacks, turned into gateway events: the handlers NeonizeGateway (adapter.py) mixes in.

What the library really sends, read from goneonize/main.go and whatsmeow:
- QR codes come one at a time from whatsmeow's QR channel (first valid 60 s, five more of 20 s each);
  the `QR` event lists all six at once, so its first code goes stale: it is not subscribed.
- QR timeout, pairing errors and "stop during the QR phase" reach only the login-status callback.
- After a drop, a paired client reconnects by itself (`Disconnected` is not the end).
- A receipt whose type neonize cannot encode arrives without a type, which the proto reads as DELIVERED.
"""

from __future__ import annotations

import inspect
import logging
import time

from neonize.aioze.events import (
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    ReceiptEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import JID

from fleet_dashboard.models import SessionReason
from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    HealthChanged,
    Inbound,
    LoggedOut,
    Paired,
    PairingEnded,
    QRCodes,
    Receipt,
    Reconnecting,
    Refused,
    TemporaryBan,
)

log = logging.getLogger(__name__)
FIRST_QR_SECONDS, NEXT_QR_SECONDS, QR_CODES = 60.0, 20.0, 6  # whatsmeow's QR channel


def _enum(message, field: str):
    return message.DESCRIPTOR.fields_by_name[field].enum_type


_RECEIPT_TYPES = _enum(ReceiptEv, "Type").values_by_name
# PLAYED is a voice note heard: read, for our purposes. Everything else (sender, retry, read-self,
# "played-self", which neonize encodes as SERVER_ERROR, ...) says nothing about our message's recipient.
RECEIPT_KINDS = {_RECEIPT_TYPES["DELIVERED"].number: "delivered", _RECEIPT_TYPES["READ"].number: "read",
                 _RECEIPT_TYPES["PLAYED"].number: "read"}
PAIR_SUCCESS = _enum(PairStatusEv, "Status").values_by_name["SUCCESS"].number
USER_SERVER, LID_SERVER = "s.whatsapp.net", "lid"


def jid_to_str(jid: JID) -> str:
    """`user:device@server`, the form stored in whatsapp_sessions.whatsapp_id (and whatsmeow_device.jid)."""
    device = f":{jid.Device}" if jid.Device else ""
    return f"{jid.User}{device}@{jid.Server}"


def jid_from_str(text: str) -> JID:
    """The JID proto of a stored `user:device@server`."""
    user, _, server = text.partition("@")
    user, _, device = user.partition(":")
    return JID(User=user, Device=int(device or 0), Server=server or USER_SERVER, RawAgent=0,
               Integrator=0, IsEmpty=False)


def phone_of(jid: JID) -> str:
    """The E.164 number of a phone-number JID."""
    return "+" + jid.User


class NeonizeEvents:
    """The adapter's event side: every handler turns one library event into at most one gateway event."""

    paired: bool
    connected: bool
    jid: str | None
    client: object

    def _emit(self, event) -> None:  # provided by the gateway
        raise NotImplementedError

    async def _pn_for_lid(self, lid: JID) -> JID | None:  # provided by the gateway
        raise NotImplementedError

    def subscriptions(self):
        """The events to ask Go for, with their handlers."""
        return ((PairStatusEv, self._on_pair), (ConnectedEv, self._on_connected),
                (DisconnectedEv, self._on_disconnected), (LoggedOutEv, self._on_logged_out),
                (ReceiptEv, self._on_receipt), (MessageEv, self._on_message), (TemporaryBanEv, self._on_ban),
                (ConnectFailureEv, self._on_connect_failure), (StreamErrorEv, self._on_stream_error),
                (StreamReplacedEv, self._on_replaced), (ClientOutdatedEv, self._on_outdated),
                (KeepAliveTimeoutEv, self._on_keepalive_timeout), (KeepAliveRestoredEv, self._on_keepalive_restored))

    def _guarded(self, handler):
        """neonize drops exceptions from handlers silently: log them instead."""
        async def run(_client, payload):
            try:
                result = handler(payload)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("neonize %s handler failed", handler.__name__)

        return run

    # Pairing ------------------------------------------------------------------------------------
    def _on_qr_code(self, data: bytes) -> None:
        if self.paired or self.connected:
            return  # a code the QR channel sent before the phone paired: showing it now would be stale
        code = data.decode() if isinstance(data, bytes) else str(data)
        if code == self._last_qr:
            return
        self._last_qr = code
        self._qr_count += 1
        if self._qr_count == 1:
            self._qr_started = time.monotonic()
        ttl = FIRST_QR_SECONDS if self._qr_count == 1 else NEXT_QR_SECONDS
        window = ttl + NEXT_QR_SECONDS * max(0, QR_CODES - self._qr_count)
        self._pairing_socket_up()
        self._emit(QRCodes(codes=(code,), ttl_seconds=ttl, window_seconds=window))

    def pairing_seconds_left(self) -> float:
        """Seconds until whatsmeow closes the pairing socket (its six QR codes have run out)."""
        if self._qr_started is None:
            return FIRST_QR_SECONDS + NEXT_QR_SECONDS * (QR_CODES - 1)
        total = FIRST_QR_SECONDS + NEXT_QR_SECONDS * (QR_CODES - 1)
        return max(0.0, total - (time.monotonic() - self._qr_started))

    def _on_login_status(self, status: str) -> None:
        if status == "success":
            return  # PairStatus follows
        if status == "timeout":
            self._emit(PairingEnded(reason="the QR code expired before it was scanned"))
        elif status == "err-client-outdated":
            self._emit(Refused(code=SessionReason.client_outdated, reason="WhatsApp says this client is outdated"))
        else:
            self._emit(PairingEnded(reason=f"pairing failed ({status})"))

    def _on_pair(self, ev) -> None:
        if ev.Status != PAIR_SUCCESS:
            self._emit(PairingEnded(reason=f"pairing failed: {ev.Error or 'unknown error'}"))
            return
        self.paired = True
        self.jid = jid_to_str(ev.ID)
        self._emit(Paired(jid=self.jid, phone=phone_of(ev.ID), push_name=ev.BusinessName))

    # Connection ---------------------------------------------------------------------------------
    def _on_connected(self, _ev) -> None:
        me = getattr(self.client, "me", None)
        jid = jid_to_str(me.JID) if me is not None and me.JID.User else (self.jid or "")
        self.jid = jid or self.jid
        self.connected = self.paired = True
        phone = "+" + jid.split("@")[0].split(":")[0] if jid else ""
        self._emit(Connected(jid=jid, phone=phone, push_name=me.PushName if me is not None else ""))

    def _on_disconnected(self, _ev) -> None:
        if self.paired:
            self._emit(Reconnecting(reason="connection to WhatsApp lost"))
        else:
            self._emit(Disconnected(reason="the pairing connection closed"))

    def _on_stream_error(self, ev) -> None:
        self._emit(Reconnecting(reason=f"stream error {ev.Code}"))

    def _on_keepalive_timeout(self, ev) -> None:
        self._emit(HealthChanged(code=SessionReason.keepalive_timeout,
                                 reason=f"WhatsApp did not answer {ev.ErrorCount} keep-alive pings"))

    def _on_keepalive_restored(self, _ev) -> None:
        self._emit(HealthChanged(code=None))

    def _on_logged_out(self, ev) -> None:
        reason = _enum(LoggedOutEv, "Reason").values_by_number.get(ev.Reason)
        self._emit(LoggedOut(reason=f"logged out from the phone ({reason.name if reason else ev.Reason})"))

    def _on_connect_failure(self, ev) -> None:
        enum = _enum(ConnectFailureEv, "Reason").values_by_number.get(ev.Reason)
        name = enum.name if enum else str(ev.Reason)
        if name in ("LOGGED_OUT", "MAIN_DEVICE_GONE"):
            self._emit(LoggedOut(reason=f"logged out ({name})"))
        elif name == "TEMP_BANNED":
            self._emit(TemporaryBan(code=name))
        elif name == "CLIENT_OUTDATED":
            self._emit(Refused(code=SessionReason.client_outdated, reason="WhatsApp says this client is outdated"))
        else:
            self._emit(Reconnecting(reason=f"WhatsApp refused the connection: {name} {ev.Message}".strip()))

    def _on_replaced(self, _ev) -> None:
        self._emit(Refused(code=SessionReason.stream_replaced,
                           reason="another WhatsApp Web client took over this device's connection"))

    def _on_outdated(self, _ev) -> None:
        self._emit(Refused(code=SessionReason.client_outdated, reason="WhatsApp says this client is outdated"))

    def _on_ban(self, ev) -> None:
        code = _enum(TemporaryBanEv, "Code").values_by_number.get(ev.Code)
        self._emit(TemporaryBan(code=code.name if code else str(ev.Code), expires_seconds=float(ev.Expire)))

    # Traffic ------------------------------------------------------------------------------------
    def _on_receipt(self, ev) -> None:
        if not ev.HasField("Type"):
            return  # a type neonize could not encode: not a delivery we can vouch for
        kind = RECEIPT_KINDS.get(ev.Type)
        if kind and ev.MessageIDs:
            self._emit(Receipt(message_ids=tuple(ev.MessageIDs), kind=kind))

    async def _on_message(self, ev) -> None:
        source = ev.Info.MessageSource
        if source.IsFromMe or source.IsGroup:
            return
        text = ev.Message.conversation or ev.Message.extendedTextMessage.text
        if not text:
            return
        sender = await self._sender_phone(source)
        if sender is None:
            log.warning("dropped an inbound message %s: no phone number for its sender", ev.Info.ID)
            return
        self._emit(Inbound(sender=sender, text=text, message_id=ev.Info.ID))

    async def _sender_phone(self, source) -> str | None:
        """The sender's number; a sender known only by LID is looked up in whatsmeow's LID map."""
        for jid in (source.Sender, source.SenderAlt):
            if jid.Server == USER_SERVER and jid.User:
                return phone_of(jid)
        lid = next((j for j in (source.Sender, source.SenderAlt) if j.Server == LID_SERVER and j.User), None)
        if lid is None:
            return None
        pn = await self._pn_for_lid(lid)
        return phone_of(pn) if pn is not None and pn.User else None
