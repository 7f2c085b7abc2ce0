"""The real WhatsApp gateway on neonize (whatsmeow): one organisation's client. Its event handlers are in
events.py, the process-wide factory in factory.py; this package is the only code that imports neonize.

Auth state lives in the app's database: one whatsmeow store, one device per organisation, resumed by its
stored jid (checked first: resuming a device whatsmeow deleted crashes the library). Every call into the
library goes through the process's LibraryGate (library_gate.py), which keeps starts and stops from
overlapping other calls. neonize leaks a PostgreSQL pool per connect(); store_connections keeps open
connections bounded anyway. Only engine processes load this module (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import logging
import threading
import uuid
from typing import TYPE_CHECKING

from neonize._binder import func_callback_bytes, func_callback_bytes2, func_string, gocode
from neonize.aioze import events as aioze_events
from neonize.aioze.client import NewAClient
from neonize.proto import Neonize_pb2 as pb
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import DocumentMessage, ImageMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils.enum import LogLevel, MediaType
from neonize.utils.log import log as neonize_log
from neonize.utils.log import log_whatsmeow

from fleet_dashboard.models import MessageType
from fleet_dashboard.whatsapp import store_connections
from fleet_dashboard.whatsapp.gateway import (
    Disconnected,
    EventSink,
    Gateway,
    GatewayError,
    Inbound,
    LoggedOut,
    OutgoingFile,
    PairingCode,
    Receipt,
    Reconnecting,
    Refused,
    SendFailed,
    SendUnknown,
    reason_of,
)
from fleet_dashboard.whatsapp.library_gate import SHARED_HOLD_SECONDS
from fleet_dashboard.whatsapp.neonize_gateway.events import NeonizeEvents, jid_from_str
from fleet_dashboard.whatsapp.store_connections import APP_PREFIX

if TYPE_CHECKING:
    from fleet_dashboard.whatsapp.neonize_gateway.factory import NeonizeFactory

log = logging.getLogger(__name__)
CALL_TIMEOUT = 30.0
# A file goes to WhatsApp's media servers before the message: up to 16 MB.
UPLOAD_TIMEOUT = 25.0
STOP_TIMEOUT = 8.0
STOP_TRIES = 3
# Stop() disconnects first and deletes its map entries after: hold the gate that long (a closed socket is quick).
STOP_HOLD_SECONDS = 2.0
# How long pair_phone waits for the pairing socket (the first QR code says it is up).
PAIRING_READY_SECONDS = 20.0
# whatsmeow's errors that come after the message left: WhatsApp may have it.
AMBIGUOUS_SEND_ERRORS = ("timed out waiting for message send response", "disconnected before message send",
                         "context deadline exceeded", "context canceled")
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
        # The connect thread may still wait for its turn at the gate when a stop comes: then it never enters Go.
        self._enter_lock = threading.Lock()
        self._entered = False
        self._returned = threading.Event()  # Neonize() returned; Go still holds the client in its maps
        self._start_hold = None
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
        """neonize's connect() without its asyncio task, whose cancel runs a blocking Stop on the loop."""
        client = self.client
        subscribed = bytearray(client.event.list_func)
        props = DeviceProps(os="Fleet Dashboard", platformType=DeviceProps.SAFARI).SerializeToString()
        jid = client.jid.SerializeToString() if client.jid else b""
        refs = (func_string(self._qr_from_go), func_string(self._status_from_go),
                func_callback_bytes(self._event_from_go), func_callback_bytes2(log_whatsmeow),
                (ctypes.c_char * len(subscribed)).from_buffer(subscribed))
        self._refs = (refs, subscribed)  # ctypes callbacks must outlive the Go call
        # Neonize() writes Go's client maps in its first moments, then blocks for the session's life.
        self._start_hold = self.factory.gate.hold(exclusive=True, max_seconds=self.factory.start_hold_seconds)
        with self._enter_lock:
            if self._stopping:  # stopped while waiting: nothing in Go to start, or to stop later
                self._start_hold.release()
                return
            self._entered = True
        error = ""
        try:
            result = gocode.Neonize(client.name.encode(), client.uuid, jid, len(jid), int(client.new_device),
                                    LogLevel.from_logging(neonize_log.level).level, *refs[:4], refs[4],
                                    len(subscribed), props, len(props), b"", 0, None)
            if result:
                raw = result if isinstance(result, bytes) else ctypes.string_at(result)
                error = raw.decode(errors="replace")
        except Exception as exc:
            error = reason_of(exc)
        finally:
            self._returned.set()
            self._start_hold.release()
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

    def _registered(self) -> None:
        """Any callback means Go has registered the client: the start no longer needs the gate."""
        if self._start_hold is not None:
            self._start_hold.release()

    def _qr_from_go(self, uuid_ptr, code_ptr) -> None:
        self._registered()
        self.client._NewAClient__onQr(uuid_ptr, code_ptr)

    def _event_from_go(self, uuid_ptr, data, size, code) -> None:
        self._registered()
        self.client.event.execute(uuid_ptr, data, size, code)

    def _status_from_go(self, _uuid_ptr, status_ptr) -> None:
        status = ctypes.string_at(status_ptr).decode(errors="replace")
        self._registered()
        # Right after this returns, Neonize() reads its client maps (then, unless the pairing succeeded,
        # spins forever in FetchMe): keep writers out meanwhile. The hold ends by itself.
        self.factory.gate.hold(exclusive=False, max_seconds=0.3)
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._on_login_status, status)

    def _emit(self, event) -> None:
        if isinstance(event, Disconnected | LoggedOut | Reconnecting | Refused):
            self.connected = False
        # A LoggedOut still counts while stopping: whatsmeow has deleted the device, the row must forget it.
        if not self._stopping or isinstance(event, Receipt | Inbound | LoggedOut):
            self.sink(event)

    # Calls --------------------------------------------------------------------------------------
    async def _call(self, make_coro, timeout: float | None = None, *, exclusive: bool = False,
                    priority: bool = False):
        if self.client is None:
            raise GatewayError("not started")
        hold = STOP_HOLD_SECONDS if exclusive else SHARED_HOLD_SECONDS
        async with self.factory.gate.held(exclusive=exclusive, priority=priority, max_seconds=hold):
            return await asyncio.wait_for(make_coro(), timeout or CALL_TIMEOUT)

    async def stop(self) -> None:
        with self._enter_lock:
            self._stopping, self.connected = True, False
            entered = self._entered
        if self.factory.live.get(self.org_id) is self:
            del self.factory.live[self.org_id]
        if self.client is None or self._thread is None or not entered:  # nothing in Go to stop
            return
        if self._returned.is_set():
            # The attempt is over (a failed dial), but Go keeps the client in its maps until a Stop: the
            # factory does that when the gate allows, and nobody needs to wait for it.
            self.factory.retire(self.client)
            return
        # A live client (or one still starting): Stop it ahead of queued starts. A Stop that lands before Go
        # registered the client does nothing, so repeat it (a few times) until the connect thread ends.
        deadline = self.loop.time() + STOP_TIMEOUT
        for _ in range(STOP_TRIES):
            if not self._thread.is_alive() or self.loop.time() >= deadline:
                break
            try:
                await self._call(self.client.stop, max(0.1, deadline - self.loop.time()), exclusive=True,
                                 priority=True)
            except Exception as exc:
                log.warning("stopping the WhatsApp client of %s: %s", self.org_id, reason_of(exc))
            await asyncio.to_thread(self._thread.join, min(2.0, max(0.0, deadline - self.loop.time())))
        if self._thread.is_alive():
            # The library never returns from a pairing that did not succeed: the thread is lost for good.
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

    async def send_text(self, phone: str, text: str) -> str:
        if not self.connected:
            raise SendFailed("not connected")
        # A Message, not a str: neonize would parse "@digits" in a str as mentions and look groups up.
        return await self._send(phone, WAMessage(conversation=text))

    async def send_file(self, phone: str, file: OutgoingFile) -> str:
        """Upload the file to WhatsApp's media servers, then send a DocumentMessage or ImageMessage.

        The message protos are built here, not with neonize's build_*_message: those look groups up for
        mentions in the caption and sniff the type again. A failed upload sent nothing: SendFailed."""
        if not self.connected:
            raise SendFailed("not connected")
        is_image = file.kind == MessageType.image.value
        media_type = MediaType.MediaImage if is_image else MediaType.MediaDocument
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
        if is_image:
            message = WAMessage(imageMessage=ImageMessage(**fields))
        else:
            message = WAMessage(documentMessage=DocumentMessage(fileName=file.filename, title=file.filename,
                                                                **fields))
        return await self._send(phone, message)

    async def _send(self, phone: str, message: WAMessage) -> str:
        to = jid_from_str(phone.lstrip("+") + "@s.whatsapp.net")
        try:
            response = await self._call(lambda: self.client.send_message(to, message))
        except TimeoutError as exc:
            raise SendUnknown(f"WhatsApp did not confirm the message within {CALL_TIMEOUT:g} s; "
                              "it may have been delivered") from exc
        except Exception as exc:
            reason = reason_of(exc)
            if any(marker in reason for marker in AMBIGUOUS_SEND_ERRORS):
                raise SendUnknown(reason) from exc
            raise SendFailed(reason) from exc
        return response.ID

    async def is_on_whatsapp(self, phone: str) -> bool:
        if not self.connected:
            raise GatewayError("not connected")
        answers = await self._call(lambda: self.client.is_on_whatsapp(phone.lstrip("+")))
        return bool(answers and answers[0].IsIn)

    async def pair_phone(self, phone: str) -> PairingCode:
        if self.client is None:
            raise GatewayError("not started")
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
