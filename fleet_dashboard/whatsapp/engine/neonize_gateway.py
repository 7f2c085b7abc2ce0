"""The real WhatsApp gateway on neonize (whatsmeow): the only module in the product that imports neonize.

Only engine processes load it, and only through `gateway.factory_for` (docs/ARCHITECTURE.md). Three parts:
the event handlers (`NeonizeEvents`: neonize's events and callbacks turned into gateway events), one
organisation's client (`NeonizeGateway`, which mixes them in), and the process's side (`NeonizeFactory`:
the store, the gate, finished clients). Tests that shorten a time limit patch it here (CALL_TIMEOUT,
FIRST_QR_SECONDS).

Auth state lives in the app's database: one whatsmeow store, one device per organisation, resumed by its
stored jid (checked first: resuming a device whatsmeow deleted crashes the library). Every call into the
library goes through the process's LibraryGate (library_gate.py), which keeps starts and stops from
overlapping other calls. neonize leaks a PostgreSQL pool per connect(); store_connections keeps open
connections bounded anyway.

What the library really sends, read from goneonize/main.go and whatsmeow:
- QR codes come one at a time from whatsmeow's QR channel (first valid 60 s, five more of 20 s each);
  the `QR` event lists all six at once, so its first code goes stale: it is not subscribed.
- QR timeout, pairing errors and "stop during the QR phase" reach only the login-status callback.
- After a drop, a paired client reconnects by itself (`Disconnected` is not the end).
- A receipt whose type neonize cannot encode arrives without a type, which the proto reads as DELIVERED.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import inspect
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from neonize._binder import func_callback_bytes, func_callback_bytes2, func_string, gocode
from neonize.aioze import events as aioze_events
from neonize.aioze.client import NewAClient
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
from neonize.proto import Neonize_pb2 as pb
from neonize.proto.Neonize_pb2 import JID, LogEntry
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import DocumentMessage, ImageMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils.enum import ChatPresence, ChatPresenceMedia, LogLevel, MediaType
from neonize.utils.log import log as neonize_log
from neonize.utils.log import log_whatsmeow

from fleet_dashboard.core.db import database_url as app_database_url
from fleet_dashboard.core.db import libpq_url
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.messaging.models import MessageType
from fleet_dashboard.whatsapp.engine import library_errors, store_connections
from fleet_dashboard.whatsapp.engine.library_gate import GateOwner, LibraryGate
from fleet_dashboard.whatsapp.engine.start_phases import StartPhases
from fleet_dashboard.whatsapp.engine.store_connections import APP_PREFIX
from fleet_dashboard.whatsapp.gateway import (
    COMPOSING,
    Connected,
    Disconnected,
    EventSink,
    Gateway,
    GatewayError,
    GatewayFactory,
    HealthChanged,
    Inbound,
    LoggedOut,
    LookUp,
    OutgoingFile,
    Paired,
    PairingCode,
    PairingEnded,
    PairingNote,
    QRCodes,
    Receipt,
    Reconnecting,
    Refused,
    SendFailed,
    SendRefused,
    SendUnknown,
    TemporaryBan,
    reason_of,
)
from fleet_dashboard.whatsapp.models import SessionReason

log = logging.getLogger(__name__)

FIRST_QR_SECONDS, NEXT_QR_SECONDS, QR_CODES = 60.0, 20.0, 6  # whatsmeow's QR channel
# 405: the WhatsApp Web version compiled into this neonize is too old for WhatsApp; only a neonize release fixes it.
OUTDATED_REASON = ("WhatsApp refused the connection (405, client outdated): the WhatsApp Web version built into "
                   "neonize is too old; install a newer neonize release (README, \"Upgrading neonize and Reflex\")")


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


def chat_of(source) -> str:
    """Who a receipt came from: the chat's number, else its `<user>@lid` for the store's LID map."""
    for jid in (source.Chat, source.Sender, source.RecipientAlt, source.SenderAlt):
        if jid.Server == USER_SERVER and jid.User:
            return phone_of(jid)
    lid = next((j for j in (source.Chat, source.Sender) if j.Server == LID_SERVER and j.User), None)
    return f"{lid.User}@{LID_SERVER}" if lid is not None else ""


def _image(file: OutgoingFile, fields: dict[str, Any]) -> WAMessage:
    return WAMessage(imageMessage=ImageMessage(**fields))


def _document(file: OutgoingFile, fields: dict[str, Any]) -> WAMessage:
    return WAMessage(documentMessage=DocumentMessage(fileName=file.filename, title=file.filename, **fields))


# Each file kind (a MessageType with `file`): the media type its upload is encrypted as, and the message that
# carries it, built here rather than by neonize's build_*_message (they look groups up for mentions in the caption
# and sniff the type again).
FILE_MESSAGES: dict[str, tuple[Any, Callable[[OutgoingFile, dict[str, Any]], WAMessage]]] = {
    MessageType.image.value: (MediaType.MediaImage, _image),
    MessageType.document.value: (MediaType.MediaDocument, _document),
}


def _address(address: str) -> JID:
    """Where to send: a stored JID (`user@server`, a LID included) or an E.164 number."""
    if "@" in address:
        return jid_from_str(address)
    return jid_from_str(address.lstrip("+") + "@" + USER_SERVER)


# whatsmeow's own lines (neonize routes them to the `whatsmeow.*` loggers) that say a pairing is held by WhatsApp's
# passkey step (whatsmeow #1184, #1188, #1233); seen during a pairing, they become a PairingNote.
PASSKEY_LOG_MARKERS = ("passkey", "link_code_pairing_wrapped_primary_ephemeral_pub", "prologue")


class PairingLogWatch(logging.Handler):
    """Reads whatsmeow's log lines for the passkey step and tells every client of this process still pairing."""

    def __init__(self, factory: NeonizeFactory):
        super().__init__(level=logging.DEBUG)
        self.factory = factory

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a line we cannot format says nothing to us
            return
        if any(marker in text.lower() for marker in PASSKEY_LOG_MARKERS):
            for gateway in list(self.factory.live.values()):
                gateway.library_said(text)


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
            self._emit(Refused(code=SessionReason.client_outdated, reason=OUTDATED_REASON))
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
        # whatsmeow emits ConnectFailure only for failures it will not retry (it called expectDisconnect):
        # logouts, bans and 405 arrive as their own events, 503/500 are retried without one. So the attempt is
        # over: ours to retry with backoff, not the library's grace.
        enum = _enum(ConnectFailureEv, "Reason").values_by_number.get(ev.Reason)
        name = enum.name if enum else str(ev.Reason)
        if name in ("LOGGED_OUT", "MAIN_DEVICE_GONE"):
            self._emit(LoggedOut(reason=f"logged out ({name})"))
        elif name == "TEMP_BANNED":
            self._emit(TemporaryBan(code=name))
        elif name == "CLIENT_OUTDATED":
            self._on_outdated(ev)
        else:
            self._emit(Disconnected(reason=f"WhatsApp refused the connection: {name} {ev.Message}".strip()))

    def _on_replaced(self, _ev) -> None:
        self._emit(Refused(code=SessionReason.stream_replaced,
                           reason="another WhatsApp Web client took over this device's connection"))

    def _on_outdated(self, _ev) -> None:
        self._emit(Refused(code=SessionReason.client_outdated, reason=OUTDATED_REASON))

    def _on_ban(self, ev) -> None:
        code = _enum(TemporaryBanEv, "Code").values_by_number.get(ev.Code)
        self._emit(TemporaryBan(code=code.name if code else str(ev.Code), expires_seconds=float(ev.Expire)))

    # Traffic ------------------------------------------------------------------------------------
    def _on_receipt(self, ev) -> None:
        if not ev.HasField("Type"):
            return  # a type neonize could not encode: not a delivery we can vouch for
        kind = RECEIPT_KINDS.get(ev.Type)
        if kind and ev.MessageIDs:
            self._emit(Receipt(message_ids=tuple(ev.MessageIDs), kind=kind, chat=chat_of(ev.MessageSource)))

    async def _on_message(self, ev) -> None:
        source = ev.Info.MessageSource
        if source.IsFromMe or source.IsGroup:
            return
        text = ev.Message.conversation or ev.Message.extendedTextMessage.text
        if not text:
            return
        sender = await self._sender_phone(source)
        if sender is None:
            log.warning("dropped an inbound message %s: its sender has neither a number nor a LID", ev.Info.ID)
            return
        self._emit(Inbound(sender=sender, text=text, message_id=ev.Info.ID))

    async def _sender_phone(self, source) -> str | None:
        """The sender's number; a sender known only by LID is looked up in whatsmeow's LID map, and kept as
        `<lid>@lid` when the map has no number yet (a STOP must never be lost: store.map_lids maps it later)."""
        for jid in (source.Sender, source.SenderAlt):
            if jid.Server == USER_SERVER and jid.User:
                return phone_of(jid)
        lid = next((j for j in (source.Sender, source.SenderAlt) if j.Server == LID_SERVER and j.User), None)
        if lid is None:
            return None
        pn = await self._pn_for_lid(lid)
        return phone_of(pn) if pn is not None and pn.User else f"{lid.User}@{LID_SERVER}"


# Every private neonize name this adapter touches, (module, attribute path), each resolved by getattr from the
# module: tests/test_library_pins.py checks they all still exist after an upgrade (docs/ARCHITECTURE.md, "Upgrading
# reflex or neonize"), with goneonize's Neonize() argument count, so a change fails the suite, not a running engine.
PRIVATE_APIS: tuple[tuple[str, str], ...] = (
    ("neonize._binder", "gocode.Neonize"),
    ("neonize._binder", "gocode.Stop"),
    ("neonize._binder", "gocode.Disconnect"),
    ("neonize._binder", "gocode.PairPhone"),
    ("neonize._binder", "gocode.GetAllDevices"),
    ("neonize._binder", "func_string"),
    ("neonize._binder", "func_callback_bytes"),
    ("neonize._binder", "func_callback_bytes2"),
    ("neonize.aioze.events", "event_global_loop"),
    ("neonize.aioze.events", "Event.execute"),
    ("neonize.aioze.client", "NewAClient._NewAClient__onQr"),
)
# Attributes set on instances (so only in the class's source): (class, attribute).
PRIVATE_INSTANCE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("neonize.aioze.client.NewAClient", "_stop_finalizer"),
    ("neonize.aioze.client.NewAClient", "uuid"),
    ("neonize.aioze.client.NewAClient", "name"),
    ("neonize.aioze.client.NewAClient", "new_device"),
    ("neonize.aioze.events.Event", "list_func"),
)
# _connect_blocking calls gocode.Neonize with this many arguments (ctypes checks none of them at run time).
NEONIZE_ARGUMENTS = 17

CALL_TIMEOUT = 30.0
# A file goes to WhatsApp's media servers before the message: up to 16 MB.
UPLOAD_TIMEOUT = 25.0
STOP_TIMEOUT = 8.0
# The login statuses after which goneonize's QR loop ends (qrchan.go closes its channel); the others go on.
LOOP_ENDING_STATUSES = frozenset({"success", "timeout", "error", "err-unexpected-state", "err-client-outdated"})
# How long pair_phone waits for the pairing socket (the first QR code says it is up).
PAIRING_READY_SECONDS = 20.0
NEVER_STARTED = "the WhatsApp client was never started"
PAIR_CLIENT_CHROME, PAIR_DISPLAY = 1, "Chrome (Linux)"  # the server accepts common "Browser (OS)" names only
_attempts = itertools.count(1)



class NeonizeGateway(NeonizeEvents, Gateway):
    """One organisation's whatsmeow client; its connect runs on its own thread, never on the loop."""

    def __init__(self, org_id: uuid.UUID, sink: EventSink, factory: NeonizeFactory):
        super().__init__(org_id, sink)
        self.factory = factory
        self.app_name = f"{APP_PREFIX}{next(_attempts)}"
        self.client: NewAClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.jid: str | None = None
        self.connected = False
        self.paired = False  # a linked device (resumed or just paired): whatsmeow reconnects it by itself
        self._qr_count = 0
        self._qr_started: float | None = None
        self._last_qr: str | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.owner = GateOwner(f"{org_id}")  # this client's calls at the gate
        self.phases = StartPhases(factory.gate, self.owner, on_entering=lambda: factory.entering(org_id),
                                  on_left=lambda: factory.left(org_id))
        self._returned = threading.Event()  # Neonize() returned; Go still holds the client in its maps
        self._socket_up: asyncio.Event | None = None
        self.end_reason = ""  # why Neonize() returned, once it has

    async def start(self, *, resume_jid: str | None) -> None:
        self.loop = asyncio.get_running_loop()
        self._socket_up = asyncio.Event()
        # neonize dispatches every callback to this module-level loop.
        aioze_events.event_global_loop = self.loop
        await self.factory.prepare_store()
        client = NewAClient(self.factory.dsn(self.app_name), uuid=f"{self.org_id.hex}-{self.app_name}",
                            new_device=resume_jid is None)
        # A Stop from the garbage collector would write Go's client maps outside the gate: we stop it ourselves.
        client._stop_finalizer.detach()
        if resume_jid:
            client.jid = jid_from_str(resume_jid)  # keep our uuid: jid.User may be shared by two orgs
            self.jid, self.paired = resume_jid, True
        self.client = client
        for event_type, handler in self.subscriptions():
            client.event(event_type)(self._guarded(handler))
        client.qr(self._guarded(self._on_qr_code))
        self.factory.live[self.org_id] = self
        if self.factory.dial:
            self._thread = threading.Thread(target=self._connect_blocking, name=f"wa-{self.app_name}", daemon=True)
            self._thread.start()

    # The connect thread -------------------------------------------------------------------------
    def _connect_blocking(self) -> None:
        """neonize's connect() without its asyncio task, whose cancel runs a blocking Stop on the loop. The
        library's own signals move the start through its phases (start_phases.py), never a clock."""
        client = self.client
        subscribed = bytearray(client.event.list_func)
        props = DeviceProps(os="Fleet Dashboard", platformType=DeviceProps.SAFARI).SerializeToString()
        jid = client.jid.SerializeToString() if client.jid else b""
        refs = (func_string(self._qr_from_go), func_string(self._status_from_go),
                func_callback_bytes(self._event_from_go), func_callback_bytes2(self._log_from_go),
                (ctypes.c_char * len(subscribed)).from_buffer(subscribed))
        self._refs = (refs, subscribed)  # ctypes callbacks must outlive the Go call
        if not self.phases.enter():  # stopped while waiting for its turn: nothing in Go to start or stop
            return
        error = ""
        try:
            # DEBUG, so whatsmeow's "Dialing" line (the sign the client is registered) reaches _log_from_go;
            # what the neonize logger's level does not want is dropped there.
            result = gocode.Neonize(client.name.encode(), client.uuid, jid, len(jid), int(client.new_device),
                                    LogLevel.DEBUG.level, *refs[:4], refs[4], len(subscribed), props, len(props),
                                    b"", 0, None)
            if result:
                raw = result if isinstance(result, bytes) else ctypes.string_at(result)
                error = raw.decode(errors="replace")
        except Exception as exc:
            error = reason_of(exc)
        finally:
            self._returned.set()
            self.phases.returned()
        # Neonize() has returned: this attempt's pool is now unused, so its connections can go.
        try:
            store_connections.terminate(self.factory.database_url, self.app_name)
        except Exception:
            log.exception("could not close the connections of %s", self.app_name)
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._connect_ended, error)

    def _connect_ended(self, error: str) -> None:
        self.end_reason = error or "connection closed"
        self._pairing_socket_up()
        self._emit(Disconnected(reason=self.end_reason))

    def _pairing_socket_up(self) -> None:
        if self._socket_up is not None:
            self._socket_up.set()

    def _log_from_go(self, data, size) -> None:
        if not data or size <= 0:
            return
        raw = ctypes.string_at(data, size)
        dialing = b"Dialing" in raw and b"Client/Socket" in raw
        if dialing and self.phases.phase == "entering" and self._on_start_thread():
            self.phases.registered()  # may wait here, paused, for this start's turn to dial
        if neonize_log.isEnabledFor(logging.DEBUG) or LogEntry.FromString(raw).Level != "DEBUG":
            log_whatsmeow(data, size)

    def _qr_from_go(self, uuid_ptr, code_ptr) -> None:
        self.phases.settled("pairing")
        self.client._NewAClient__onQr(uuid_ptr, code_ptr)

    def _event_from_go(self, uuid_ptr, data, size, code) -> None:
        self.phases.settled("running")
        self.client.event.execute(uuid_ptr, data, size, code)

    def _status_from_go(self, _uuid_ptr, status_ptr) -> None:
        status = ctypes.string_at(status_ptr).decode(errors="replace")
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._on_login_status, status)
        if status in LOOP_ENDING_STATUSES and self._on_start_thread():
            self.phases.loop_ending(status == "success")  # anything but success never returns (doomed)

    def _on_start_thread(self) -> bool:
        """Whether Go called back on this client's start thread, i.e. from inside its Neonize() itself."""
        return self._thread is not None and threading.get_ident() == self._thread.ident

    def library_said(self, text: str) -> None:
        """A whatsmeow log line about the passkey step (any thread): a note for this client while it pairs."""
        if self.connected or self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._emit, PairingNote(text=text[:500]))

    def _emit(self, event) -> None:
        if isinstance(event, Disconnected | LoggedOut | Reconnecting | Refused):
            self.connected = False
        # A LoggedOut still counts while stopping: whatsmeow has deleted the device, the row must forget it.
        if not self._stopping or isinstance(event, Receipt | Inbound | LoggedOut):
            self.sink(event)

    # Calls --------------------------------------------------------------------------------------
    async def _call(self, make_coro, timeout: float | None = None):
        """One call into the library: in line at the gate behind starts and stops, dropped if this client is
        stopped meanwhile (ClientStopping), and counted until Go returns, even after our own time limit."""
        if self.client is None:
            raise GatewayError(NEVER_STARTED)
        async with self.factory.gate.held(owner=self.owner):
            self.owner.enter()
            task = asyncio.ensure_future(make_coro())
            task.add_done_callback(self._left_library)
            return await asyncio.wait_for(asyncio.shield(task), timeout or CALL_TIMEOUT)

    def _left_library(self, task: asyncio.Future) -> None:
        self.owner.leave()
        if not task.cancelled():
            task.exception()  # retrieved: a late failure after our time limit is no news to anyone

    async def stop(self) -> None:
        """Close the client: calls still in line are dropped, calls inside the library come back first, and Go's
        Stop runs only once the start is past its map work (start_phases.py), ahead of queued starts."""
        self._stopping, self.connected = True, False
        if self.factory.live.get(self.org_id) is self:
            del self.factory.live[self.org_id]
        self.factory.gate.close(self.owner)
        if self.client is None or self._thread is None:
            return
        if self.owner.inside:
            await asyncio.to_thread(self.owner.wait_idle, CALL_TIMEOUT)
        if not await asyncio.to_thread(self.phases.wait_safe, STOP_TIMEOUT) or self._returned.is_set():
            # Still writing or reading its maps (a slow store or dial), or already over: the factory stops it in
            # Go once it may, and nobody needs to wait for that.
            self.factory.retire(self)
            return
        if self.phases.phase == "skipped":
            return  # it never entered the library
        await self.factory.stop_in_go(self)
        await asyncio.to_thread(self._thread.join, STOP_TIMEOUT)
        if self._thread.is_alive():
            # A pairing that did not succeed never returns from the library: the thread is lost for good.
            self.factory.stuck.add(self._thread)
            log.warning("the WhatsApp client of %s left a thread the library never returns (%d stuck)",
                        self.org_id, self.factory.stuck_threads())
            await self.factory.reap(self.app_name)

    async def logout(self) -> None:
        """Unlink through WhatsApp (which needs the socket); raises when it is down."""
        try:
            if self.client is None or not self.connected:
                raise GatewayError("not connected: WhatsApp could not be told to unlink the device")
            await self._call(self.client.logout)
        finally:
            await self.stop()

    async def send_text(self, phone: str, text: str, *, to: str | None = None) -> str:
        if not self.connected:
            raise SendFailed("not connected")
        # A Message, not a str: neonize would parse "@digits" in a str as mentions and look groups up.
        return await self._send(to or phone, WAMessage(conversation=text))

    async def send_file(self, phone: str, file: OutgoingFile, *, to: str | None = None) -> str:
        """Upload the file to WhatsApp's media servers, then send a DocumentMessage or ImageMessage.

        The message protos are built here, not with neonize's build_*_message: those look groups up for
        mentions in the caption and sniff the type again. A failed upload sent nothing: SendFailed."""
        if not self.connected:
            raise SendFailed("not connected")
        media_type, build = FILE_MESSAGES[file.kind]
        try:
            upload = await self._call(lambda: self.client.upload(file.data, media_type), UPLOAD_TIMEOUT)
        except TimeoutError as exc:
            raise SendFailed(f"the file upload did not finish within {UPLOAD_TIMEOUT:g} s") from exc
        except Exception as exc:
            raise SendFailed(f"the file upload failed: {reason_of(exc)}") from exc
        fields = {"URL": upload.url, "directPath": upload.DirectPath, "mediaKey": upload.MediaKey,
                  "fileEncSHA256": upload.FileEncSHA256, "fileSHA256": upload.FileSHA256,
                  "fileLength": upload.FileLength, "mimetype": file.mime_type}
        if file.caption:
            fields["caption"] = file.caption
        message = build(file, fields)
        return await self._send(to or phone, message)

    async def _send(self, address: str, message: WAMessage) -> str:
        to = _address(address)
        try:
            response = await self._call(lambda: self.client.send_message(to, message))
        except TimeoutError as exc:
            raise SendUnknown(f"WhatsApp did not confirm the message within {CALL_TIMEOUT:g} s; "
                              "it may have been delivered", code=library_errors.CALL_TIMED_OUT.code) from exc
        except (SendFailed, SendUnknown, SendRefused):
            raise
        except Exception as exc:
            raise library_errors.send_error(reason_of(exc)) from exc
        return response.ID

    async def is_on_whatsapp(self, phone: str) -> bool:
        return (await self.look_up([phone]))[phone].on_whatsapp

    async def look_up(self, phones: list[str]) -> dict[str, LookUp]:
        """One usync query for all the numbers; WhatsApp's own JID for each (it may differ from the digits asked,
        and a number whose contact moved to a LID is sent there: a message to its phone JID is refused, 463)."""
        if not self.connected:
            raise GatewayError("not connected")
        answers = await self._call(lambda: self.client.is_on_whatsapp(*[p.lstrip("+") for p in phones]))
        by_digits = {"".join(ch for ch in a.Query if ch.isdigit()): a for a in answers}
        out = {}
        for phone in phones:
            answer = by_digits.get(phone.lstrip("+"))
            if answer is None:
                raise GatewayError(f"WhatsApp gave no answer for {phone}")
            jid = jid_to_str(answer.JID) if answer.IsIn and answer.JID.User else None
            if answer.IsIn and answer.JID.User:
                jid = await self._lid_for(answer.JID) or jid
            out[phone] = LookUp(phone, bool(answer.IsIn), jid)
        return out

    async def _lid_for(self, pn: JID) -> str | None:
        """The LID whatsmeow's store maps this phone JID to, when it knows one."""
        with contextlib.suppress(Exception):
            lid = await self._call(lambda: self.client.get_lid_from_pn(pn), 10.0)
            if lid is not None and lid.User and lid.Server == LID_SERVER:
                return jid_to_str(lid)
        return None

    async def send_presence(self, phone: str, state: str, *, to: str | None = None) -> None:
        if not self.connected:
            raise GatewayError("not connected")
        presence = (ChatPresence.CHAT_PRESENCE_COMPOSING if state == COMPOSING
                    else ChatPresence.CHAT_PRESENCE_PAUSED)
        chat = _address(to or phone)
        await self._call(lambda: self.client.send_chat_presence(chat, presence,
                                                                ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT), 10.0)

    async def pair_phone(self, phone: str) -> PairingCode:
        if self.client is None:
            raise GatewayError(NEVER_STARTED)
        if self.paired:
            raise GatewayError("this session already has a linked device")
        # whatsmeow wants the pairing socket up first (the first QR code says so). If the dial failed, the
        # call still goes through: the library then says why no code can come.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._socket_up.wait(), PAIRING_READY_SECONDS)
        params = pb.PairPhoneParams(phone=phone.lstrip("+"), clientDisplayName=PAIR_DISPLAY,
                                    clientType=PAIR_CLIENT_CHROME, showPushNotification=True).SerializeToString()
        uuid_bytes = self.client.uuid
        try:
            raw = await self._call(lambda: asyncio.to_thread(gocode.PairPhone, uuid_bytes, params, len(params)))
            answer = pb.PairPhoneReturnFunction.FromString(raw if isinstance(raw, bytes) else ctypes.string_at(raw))
        except Exception as exc:
            raise GatewayError(f"WhatsApp gave no linking code: {reason_of(exc)}") from exc
        if answer.Error or not answer.Code:
            why = answer.Error or "empty answer"
            if self.end_reason:
                why = f"{why} ({self.end_reason})"
            raise GatewayError(f"WhatsApp gave no linking code: {why}")
        return PairingCode(code=answer.Code, expires_in_seconds=self.pairing_seconds_left())

    async def _pn_for_lid(self, lid):
        if not self.connected:  # the store's LID map is only there for a linked, registered client
            return None
        try:
            return await self._call(lambda: self.client.get_pn_from_lid(lid), 10.0)
        except Exception as exc:
            log.warning("no phone number for a LID sender of %s: %s", self.org_id, reason_of(exc))
            return None


class NeonizeFactory(GatewayFactory):
    """Clients share one whatsmeow store in the app database, one device per organisation."""

    name = "neonize"

    def __init__(self, database_url: str | None = None, *, dial: bool = True, sweep_seconds: float = 30.0,
                 gate: LibraryGate | None = None):
        settings = get_settings()
        self.database_url = libpq_url(database_url or app_database_url())
        self.dial = dial  # False builds clients that never connect: tests feed them events
        self.sweep_seconds = sweep_seconds
        self.gate = gate or LibraryGate(enabled=settings.neonize_serialize)
        self.idle_seconds = settings.neonize_store_idle_seconds
        self.live: dict[uuid.UUID, NeonizeGateway] = {}
        self.stuck: set[threading.Thread] = set()
        self._retiring: set[asyncio.Task] = set()
        self._prepared = False
        self._prepare_lock: asyncio.Lock | None = None
        # whatsmeow's log lines reach the `whatsmeow.*` loggers: the passkey step is read from them.
        self.log_watch = PairingLogWatch(self)
        logging.getLogger("whatsmeow").addHandler(self.log_watch)

    def create(self, org_id: uuid.UUID, sink: EventSink) -> NeonizeGateway:
        return NeonizeGateway(org_id, sink, self)

    def dsn(self, app_name: str) -> str:
        """The store's URL for one connect attempt's pool."""
        return store_connections.store_dsn(self.database_url, app_name, idle_seconds=self.idle_seconds)

    async def device_exists(self, jid: str) -> bool:
        return await asyncio.to_thread(store_connections.device_exists, self.database_url, jid)

    async def forget_device(self, jid: str) -> None:
        await asyncio.to_thread(store_connections.forget_device, self.database_url, jid)

    def stuck_threads(self) -> int:
        self.stuck = {t for t in self.stuck if t.is_alive()}
        return len(self.stuck)

    async def prepare_store(self) -> None:
        """Create whatsmeow's tables once, before concurrent connects could race to create them."""
        if self._prepared or not self.dial:
            return
        self._prepare_lock = self._prepare_lock or asyncio.Lock()
        async with self._prepare_lock:
            if self._prepared:
                return
            app_name = f"{APP_PREFIX}prepare"
            cb = func_callback_bytes2(log_whatsmeow)
            await asyncio.wait_for(asyncio.to_thread(gocode.GetAllDevices, self.dsn(app_name).encode(), cb),
                                   CALL_TIMEOUT)
            await self.reap(app_name)
            self._prepared = True

    async def reap(self, app_name: str) -> int:
        """End the server backends a finished connect attempt left open."""
        return await asyncio.to_thread(store_connections.terminate, self.database_url, app_name)

    def retire(self, gateway: NeonizeGateway) -> None:
        """A client Go still holds in its maps (about half a megabyte each): Stop it once its start is past its
        map work, in line at the gate; nobody waits for it."""
        task = asyncio.get_running_loop().create_task(self._retire(gateway), name=f"neonize-retire-{gateway.app_name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, gateway: NeonizeGateway) -> None:
        try:
            while not await asyncio.to_thread(gateway.phases.wait_safe, 60.0):
                log.warning("the WhatsApp client of %s is still in its start; stopping it when it may be",
                            gateway.org_id)
            if gateway.phases.phase != "skipped":
                await self.stop_in_go(gateway)
        except Exception as exc:
            log.warning("could not release a finished WhatsApp client: %s", reason_of(exc))

    async def stop_in_go(self, gateway: NeonizeGateway) -> None:
        """Go's Stop for a registered client. Disconnect first, holding the gate only while it reads the maps
        (it may wait for a dial of whatsmeow's own reconnect); then Stop, alone at the gate and ahead of queued
        starts, until it has deleted the client's map entries."""
        client_id = gateway.client.uuid
        try:
            async with self.gate.held():
                disconnect = asyncio.ensure_future(asyncio.to_thread(gocode.Disconnect, client_id))
            await asyncio.wait_for(asyncio.shield(disconnect), CALL_TIMEOUT)
        except Exception as exc:
            log.warning("disconnecting the WhatsApp client of %s: %s", gateway.org_id, reason_of(exc))
        async with self.gate.held(exclusive=True, priority=True, max_seconds=None):
            await asyncio.to_thread(gocode.Stop, client_id)

    async def close(self) -> None:
        """Release the finished clients, and end whatever their pools left open."""
        logging.getLogger("whatsmeow").removeHandler(self.log_watch)
        if self._retiring:
            await asyncio.wait(list(self._retiring), timeout=STOP_TIMEOUT)
        await self.sweep()

    async def sweep(self) -> int:
        """Terminate this process's neonize connections that belong to no live client."""
        live = [g.app_name for g in self.live.values()]
        return await asyncio.to_thread(store_connections.terminate_strays, self.database_url, live)

    async def run(self) -> None:
        """Now and then end strays of this process that belong to no live client."""
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping neonize connections failed")
