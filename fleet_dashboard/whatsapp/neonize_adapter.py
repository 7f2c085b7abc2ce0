"""The real WhatsApp gateway on neonize (whatsmeow); the only module that imports neonize.

Auth state lives in the app's database: one whatsmeow store, one device per organisation, resumed by
its stored jid. neonize leaks a PostgreSQL pool per connect(); see store_connections for how the
adapter keeps open connections bounded anyway (a child process per organisation would too, at ~70 MB
each).
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import logging
import threading
import uuid

from neonize._binder import func_callback_bytes, func_callback_bytes2, func_string, gocode
from neonize.aioze import events as neonize_events
from neonize.aioze.client import NewAClient
from neonize.aioze.events import (
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    QREv,
    ReceiptEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import JID
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.utils.enum import LogLevel
from neonize.utils.log import log as neonize_log
from neonize.utils.log import log_whatsmeow

from fleet_dashboard.whatsapp.gateway import (
    Connected,
    Disconnected,
    EventSink,
    Gateway,
    GatewayError,
    GatewayFactory,
    Inbound,
    LoggedOut,
    Paired,
    QRCodes,
    Receipt,
    SendFailed,
    TemporaryBan,
)
from fleet_dashboard.whatsapp.store_connections import APP_PREFIX, store_dsn, terminate, terminate_strays

log = logging.getLogger(__name__)
CALL_TIMEOUT = 30.0
STOP_TIMEOUT = 8.0
FIRST_QR_SECONDS, NEXT_QR_SECONDS = 60.0, 20.0  # whatsmeow's QR channel timings


def _enum(message, field: str):
    return message.DESCRIPTOR.fields_by_name[field].enum_type


RECEIPT_KINDS = {_enum(ReceiptEv, "Type").values_by_name[name].number: kind
                 for name, kind in (("DELIVERED", "delivered"), ("READ", "read"))}
PAIR_SUCCESS = _enum(PairStatusEv, "Status").values_by_name["SUCCESS"].number
_attempts = itertools.count(1)


def jid_to_str(jid: JID) -> str:
    """`user:device@server`, the form stored in whatsapp_sessions.whatsapp_id."""
    device = f":{jid.Device}" if jid.Device else ""
    return f"{jid.User}{device}@{jid.Server}"


def jid_from_str(text: str) -> JID:
    """The JID proto of a stored `user:device@server`."""
    user, _, server = text.partition("@")
    user, _, device = user.partition(":")
    return JID(User=user, Device=int(device or 0), Server=server or "s.whatsapp.net", RawAgent=0,
               Integrator=0, IsEmpty=False)


def _reason(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__)[:500]


class NeonizeGateway(Gateway):
    """One organisation's whatsmeow client; its connect runs on its own thread, never on the loop."""

    def __init__(self, org_id: uuid.UUID, sink: EventSink, factory: NeonizeFactory):
        super().__init__(org_id, sink)
        self.factory = factory
        self.app_name = f"{APP_PREFIX}{next(_attempts)}"
        self.client: NewAClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.jid: str | None = None
        self.connected = False
        self._qr_count = 0
        self._last_qr: str | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    async def start(self, *, resume_jid: str | None) -> None:
        self.loop = asyncio.get_running_loop()
        # neonize dispatches every callback to this module-level loop.
        neonize_events.event_global_loop = self.loop
        await self.factory.prepare_store()
        dsn = store_dsn(self.factory.database_url, self.app_name)
        client = NewAClient(dsn, uuid=f"{self.org_id.hex}-{self.app_name}", new_device=resume_jid is None)
        if resume_jid:
            client.jid = jid_from_str(resume_jid)  # keep our uuid: jid.User may be shared by two orgs
            self.jid = resume_jid
        self.client = client
        self._register(client)
        self.factory.live[self.org_id] = self
        if self.factory.dial:
            self._thread = threading.Thread(target=self._connect_blocking, name=f"wa-{self.app_name}",
                                            daemon=True)
            self._thread.start()

    def _register(self, client: NewAClient) -> None:
        """Wire neonize's callbacks to the sink; handler errors are logged, neonize would drop them."""
        for event_type, handler in ((QREv, self._on_qr_event), (PairStatusEv, self._on_pair),
                                    (ConnectedEv, self._on_connected), (DisconnectedEv, self._on_disconnected),
                                    (LoggedOutEv, self._on_logged_out), (ReceiptEv, self._on_receipt),
                                    (MessageEv, self._on_message), (TemporaryBanEv, self._on_ban),
                                    (ConnectFailureEv, self._on_connect_failure),
                                    (StreamErrorEv, self._on_stream_error),
                                    (StreamReplacedEv, self._on_replaced), (ClientOutdatedEv, self._on_outdated)):
            client.event(event_type)(self._guarded(handler))
        client.qr(self._guarded(self._on_qr_code))

    def _guarded(self, handler):
        async def run(_client, payload):
            try:
                handler(payload)
            except Exception:
                log.exception("neonize %s handler failed for %s", handler.__name__, self.org_id)

        return run

    def _connect_blocking(self) -> None:
        """neonize's connect() without its asyncio task, whose cancel runs a blocking Stop on the loop."""
        client = self.client
        subscribed = bytearray(client.event.list_func)
        props = DeviceProps(os="Fleet Dashboard", platformType=DeviceProps.SAFARI).SerializeToString()
        jid = client.jid.SerializeToString() if client.jid else b""
        refs = (func_string(client._NewAClient__onQr), func_string(client._NewAClient__onLoginStatus),
                func_callback_bytes(client.event.execute), func_callback_bytes2(log_whatsmeow),
                (ctypes.c_char * len(subscribed)).from_buffer(subscribed))
        self._refs = (refs, subscribed)  # ctypes callbacks must outlive the Go call
        error = ""
        try:
            result = gocode.Neonize(client.name.encode(), client.uuid, jid, len(jid), int(client.new_device),
                                    LogLevel.from_logging(neonize_log.level).level, *refs[:4], refs[4],
                                    len(subscribed), props, len(props), b"", 0, None)
            if result:
                raw = result if isinstance(result, bytes) else ctypes.string_at(result)
                error = raw.decode(errors="replace")
        except Exception as exc:
            error = _reason(exc)
        # Neonize() has returned: this attempt's pool is now unused, so its connections can go.
        try:
            terminate(self.factory.database_url, self.app_name)
        except Exception:
            log.exception("could not close the connections of %s", self.app_name)
        if not self._stopping and self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._emit, Disconnected(reason=error or "connection closed"))

    def _emit(self, event) -> None:
        if isinstance(event, Disconnected | LoggedOut):
            self.connected = False
        if not self._stopping or isinstance(event, Receipt | Inbound):
            self.sink(event)

    # neonize events -> gateway events -------------------------------------------------------------
    def _on_qr_code(self, data: bytes) -> None:
        self._qr(data.decode() if isinstance(data, bytes) else str(data))

    def _on_qr_event(self, ev) -> None:
        if ev.Codes:
            self._qr(ev.Codes[0], tuple(ev.Codes))

    def _qr(self, code: str, codes: tuple[str, ...] | None = None) -> None:
        if code == self._last_qr:
            return
        self._last_qr = code
        self._qr_count += 1
        ttl = FIRST_QR_SECONDS if self._qr_count == 1 else NEXT_QR_SECONDS
        self._emit(QRCodes(codes=codes or (code,), ttl_seconds=ttl))

    def _on_pair(self, ev) -> None:
        if ev.Status != PAIR_SUCCESS:
            self._emit(Disconnected(reason=f"pairing failed: {ev.Error or 'unknown error'}"))
            return
        self.jid = jid_to_str(ev.ID)
        self._emit(Paired(jid=self.jid, phone="+" + ev.ID.User, push_name=ev.BusinessName))

    def _on_connected(self, _ev) -> None:
        me = self.client.me if self.client is not None else None
        jid = jid_to_str(me.JID) if me is not None and me.JID.User else (self.jid or "")
        self.jid = jid or self.jid
        self.connected = True
        phone = "+" + jid.split("@")[0].split(":")[0] if jid else ""
        self._emit(Connected(jid=jid, phone=phone, push_name=me.PushName if me is not None else ""))

    def _on_disconnected(self, _ev) -> None:
        self._emit(Disconnected(reason="connection to WhatsApp lost"))

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
        else:
            self._emit(Disconnected(reason=f"WhatsApp refused the connection: {name} {ev.Message}".strip()))

    def _on_stream_error(self, ev) -> None:
        self._emit(Disconnected(reason=f"stream error {ev.Code}"))

    def _on_replaced(self, _ev) -> None:
        self._emit(Disconnected(reason="another client took over this device's connection"))

    def _on_outdated(self, _ev) -> None:
        self._emit(Disconnected(reason="WhatsApp says this client version is outdated"))

    def _on_ban(self, ev) -> None:
        code = _enum(TemporaryBanEv, "Code").values_by_number.get(ev.Code)
        self._emit(TemporaryBan(code=code.name if code else str(ev.Code), expires_seconds=float(ev.Expire)))

    def _on_receipt(self, ev) -> None:
        kind = RECEIPT_KINDS.get(ev.Type)
        if kind and ev.MessageIDs:
            self._emit(Receipt(message_ids=tuple(ev.MessageIDs), kind=kind))

    def _on_message(self, ev) -> None:
        source = ev.Info.MessageSource
        if source.IsFromMe or source.IsGroup:
            return
        text = ev.Message.conversation or ev.Message.extendedTextMessage.text
        sender = next((j for j in (source.Sender, source.SenderAlt) if j.Server == "s.whatsapp.net"), None)
        if text and sender is not None and sender.User:
            self._emit(Inbound(sender="+" + sender.User, text=text, message_id=ev.Info.ID))

    # calls -----------------------------------------------------------------------------------------
    async def _call(self, coro, timeout: float = CALL_TIMEOUT):
        if self.client is None:
            raise GatewayError("not started")
        try:
            return await asyncio.wait_for(coro, timeout)
        except TimeoutError as exc:
            raise GatewayError(f"WhatsApp did not answer within {int(timeout)} s") from exc

    async def stop(self) -> None:
        self._stopping, self.connected = True, False
        if self.factory.live.get(self.org_id) is self:
            del self.factory.live[self.org_id]
        if self.client is None:
            return
        if self._thread is None:  # never dialled: nothing in Go to stop, now or at garbage collection
            self.client._stop_finalizer.detach()
            return
        # A Stop that lands before Go registered the client does nothing, so repeat it until the
        # connect thread ends; that thread then closes its pool's connections itself.
        deadline = self.loop.time() + STOP_TIMEOUT
        while self._thread.is_alive() and self.loop.time() < deadline:
            try:
                await self._call(self.client.stop(), max(0.1, deadline - self.loop.time()))
            except Exception as exc:
                log.warning("stopping the WhatsApp client of %s: %s", self.org_id, _reason(exc))
            await asyncio.to_thread(self._thread.join, 0.2)
        if self._thread.is_alive():
            log.warning("the WhatsApp client of %s is still closing; its thread cleans up after it", self.org_id)
            await self.factory.reap(self.app_name)
        else:
            # Go already forgot this client; a Stop from the garbage collector could land on the loop.
            self.client._stop_finalizer.detach()

    async def logout(self) -> None:
        if self.client is not None and self.connected:
            try:
                await self._call(self.client.logout())
            finally:
                await self.stop()
        else:
            await self.stop()

    async def send_text(self, phone: str, text: str) -> str:
        if not self.connected:
            raise SendFailed("not connected")
        try:
            to = jid_from_str(phone.lstrip("+") + "@s.whatsapp.net")
            response = await self._call(self.client.send_message(to, text))
        except Exception as exc:
            raise SendFailed(_reason(exc)) from exc
        return response.ID

    async def is_on_whatsapp(self, phone: str) -> bool:
        if not self.connected:
            raise GatewayError("not connected")
        answers = await self._call(self.client.is_on_whatsapp(phone.lstrip("+")))
        return bool(answers and answers[0].IsIn)


class NeonizeFactory(GatewayFactory):
    """Clients share one whatsmeow store in the app database, one device per organisation."""

    name = "neonize"

    def __init__(self, database_url: str | None = None, *, dial: bool = True, sweep_seconds: float = 30.0):
        from fleet_dashboard.db import database_url as app_database_url
        from fleet_dashboard.db import libpq_url

        self.database_url = libpq_url(database_url or app_database_url())
        self.dial = dial  # False builds clients that never connect: tests feed them events
        self.sweep_seconds = sweep_seconds
        self.live: dict[uuid.UUID, NeonizeGateway] = {}
        self._prepared = False
        self._prepare_lock: asyncio.Lock | None = None

    def create(self, org_id: uuid.UUID, sink: EventSink) -> NeonizeGateway:
        return NeonizeGateway(org_id, sink, self)

    async def prepare_store(self) -> None:
        """Create whatsmeow's tables once, before concurrent connects could race to create them."""
        if self._prepared or not self.dial:
            return
        self._prepare_lock = self._prepare_lock or asyncio.Lock()
        async with self._prepare_lock:
            if self._prepared:
                return
            app_name = f"{APP_PREFIX}prepare"
            dsn = store_dsn(self.database_url, app_name)
            cb = func_callback_bytes2(log_whatsmeow)
            await asyncio.wait_for(asyncio.to_thread(gocode.GetAllDevices, dsn.encode(), cb), CALL_TIMEOUT)
            await self.reap(app_name)
            self._prepared = True

    async def reap(self, app_name: str) -> int:
        """End the server backends a finished connect attempt left open."""
        return await asyncio.to_thread(terminate, self.database_url, app_name)

    async def close(self) -> None:
        """End whatever this process's finished clients left open."""
        await self.sweep()

    async def sweep(self) -> int:
        """Terminate this process's neonize connections that belong to no live client."""
        live = [g.app_name for g in self.live.values()]
        return await asyncio.to_thread(terminate_strays, self.database_url, live)

    async def run(self) -> None:
        """Now and then end strays of this process that belong to no live client."""
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping neonize connections failed")

