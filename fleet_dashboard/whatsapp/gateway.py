"""The contract between the engine and a WhatsApp connection (neonize or the simulator), and what the queue worker
sees of it: the events a connection reports, the errors a send raises, the file it sends.

In whatsapp/, not whatsapp/engine/: plain types the worker and the API read too, with no library behind them."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fleet_dashboard.core.errors import OutcomeUnknown
from fleet_dashboard.messaging.models import RECEIPT_KINDS

# The receipt kinds WhatsApp reports, from models.MessageStatus (each is the status it moves a message to).
ReceiptKind = Literal[RECEIPT_KINDS]  # type: ignore[valid-type]


@dataclass(frozen=True, slots=True)
class QRCodes:
    """Codes to show for pairing; the first is current and is valid for `ttl_seconds`.

    `window_seconds` is how long the whole pairing stays open from now (0 when the backend sets no
    limit); the supervisor ends a pairing nobody completed shortly after it."""

    codes: tuple[str, ...]
    ttl_seconds: float
    window_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PairingCode:
    """The 8-character code to type on the phone (Linked devices > Link with phone number)."""

    code: str
    expires_in_seconds: float


@dataclass(frozen=True, slots=True)
class PairingEnded:
    """The pairing window closed without a scan or a code entered (or the phone refused it)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Paired:
    """The phone scanned the code: this device now belongs to that account."""

    jid: str
    phone: str
    push_name: str = ""


@dataclass(frozen=True, slots=True)
class PairingNote:
    """The library said something about a pairing in progress (e.g. WhatsApp asks the phone for a passkey)."""

    text: str


@dataclass(frozen=True, slots=True)
class Connected:
    """The socket is up and authenticated; sends may start."""

    jid: str = ""
    phone: str = ""
    push_name: str = ""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The socket went down; the device is still paired, so a reconnect may resume it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The socket dropped and the library reconnects by itself; sends wait until Connected again."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """WhatsApp ended this connection for good (another client took over, client outdated): no retry."""

    code: str  # a models.SessionReason
    reason: str


@dataclass(frozen=True, slots=True)
class HealthChanged:
    """Connected but not healthy (keep-alive pings unanswered), or healthy again when `code` is None."""

    code: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """The device was unlinked (from the phone or by us): only a new scan brings it back."""

    reason: str = "logged out"


@dataclass(frozen=True, slots=True)
class Receipt:
    """WhatsApp reports messages delivered to, or read on, the recipient's phone."""

    message_ids: tuple[str, ...]
    kind: ReceiptKind
    chat: str = ""  # who it came from: an E.164 number, or `<user>@lid` when WhatsApp named them by LID only


@dataclass(frozen=True, slots=True)
class Inbound:
    """A text message someone sent to this number."""

    sender: str  # E.164
    text: str
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class TemporaryBan:
    """WhatsApp banned the number for a while: sending must stop."""

    code: str
    expires_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A document or an image to send, with the caption under it."""

    kind: str  # models.MessageType.document | image
    data: bytes
    filename: str
    mime_type: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class LookUp:
    """WhatsApp's answer about one number: on WhatsApp or not, and the address to send to (None: the number)."""

    phone: str  # E.164, as asked
    on_whatsapp: bool
    jid: str | None = None


# Chat presence states shown to the recipient before a message (typing, then stopped typing).
COMPOSING, PAUSED = "composing", "paused"

GatewayEvent = (QRCodes | Paired | PairingNote | Connected | Disconnected | Reconnecting | Refused | HealthChanged
                | PairingEnded | LoggedOut | Receipt | Inbound | TemporaryBan)
EventSink = Callable[[GatewayEvent], None]


def reason_of(exc: BaseException) -> str:
    """An exception as a short reason to store and show."""
    return (str(exc).strip() or type(exc).__name__)[:500]


class GatewayError(Exception):
    """A gateway call failed; the message is safe to show and store, `code` is its strings.ERRORS key."""

    code = "send_failed"

    def __init__(self, message: str = "", *, code: str | None = None, pause: bool = False):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.pause = pause


class SendFailed(GatewayError):
    """Nothing left this process (library_errors.Verdict.NOT_SENT): a retry cannot send it twice."""


class SendUnknown(GatewayError, OutcomeUnknown):
    """The message may have reached WhatsApp (no answer in time, or the socket fell mid-send): never resend it
    automatically; a receipt for it settles it."""

    code = "send_outcome_unknown"


class SendRefused(GatewayError):
    """WhatsApp answered no: the message fails with the reason, and a retry would get the same answer.
    `pause` says the number itself is restricted, so the organisation should stop sending for a while."""

    code = "send_refused"


class Gateway(abc.ABC):
    """One organisation's WhatsApp connection; events go to the sink given at creation, on the loop."""

    def __init__(self, org_id: uuid.UUID, sink: EventSink):
        self.org_id = org_id
        self.sink = sink

    @abc.abstractmethod
    async def start(self, *, resume_jid: str | None) -> None:
        """Resume the stored device, or pair a new one (QR events follow) when resume_jid is None."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Close the socket and keep the device for a later resume."""

    @abc.abstractmethod
    async def logout(self) -> None:
        """Unlink the device from the account; a later start needs a new scan."""

    @abc.abstractmethod
    async def send_text(self, phone: str, text: str, *, to: str | None = None) -> str:
        """Send a text to an E.164 number (at `to`, the address a look-up gave, when known) and return WhatsApp's
        message id; raises SendFailed."""

    async def send_file(self, phone: str, file: OutgoingFile, *, to: str | None = None) -> str:
        """Upload and send a document or an image; same outcomes as send_text."""
        raise SendFailed("this gateway cannot send files")

    @abc.abstractmethod
    async def is_on_whatsapp(self, phone: str) -> bool:
        """Whether the E.164 number has a WhatsApp account."""

    async def look_up(self, phones: list[str]) -> dict[str, LookUp]:
        """Ask WhatsApp about several numbers in one call; raises when it could not be asked (that is no answer)."""
        return {phone: LookUp(phone, await self.is_on_whatsapp(phone)) for phone in phones}

    async def send_presence(self, phone: str, state: str, *, to: str | None = None) -> None:  # noqa: B027
        """Show the recipient COMPOSING (typing) or PAUSED; a gateway without presence does nothing."""

    async def pair_phone(self, phone: str) -> PairingCode:
        """During a pairing (started with resume_jid=None): a code to link the phone with that number."""
        raise GatewayError("this gateway cannot link by phone number")


class GatewayFactory(abc.ABC):
    """Makes gateways for the engine and runs whatever process-wide work the backend needs."""

    name = "gateway"
    # Told (on whatever thread starts it) right before a gateway enters the library's start: the engine records
    # it, so an abort during that start can be blamed on that organisation alone (quarantine).
    on_entering: Callable[[uuid.UUID], None] | None = None
    # Told when that start is past the library's map work (registered, or it ended).
    on_left: Callable[[uuid.UUID], None] | None = None

    def entering(self, org_id: uuid.UUID) -> None:
        """A start is about to enter the library."""
        if self.on_entering is not None:
            self.on_entering(org_id)

    def left(self, org_id: uuid.UUID) -> None:
        """That start is past the part of the library where an abort is blamed on it."""
        if self.on_left is not None:
            self.on_left(org_id)

    @abc.abstractmethod
    def create(self, org_id: uuid.UUID, sink: EventSink) -> Gateway:
        """A new, unstarted gateway for one organisation."""

    def release(self, org_id: uuid.UUID) -> None:  # noqa: B027 - optional hook
        """The engine no longer owns this organisation."""

    async def device_exists(self, jid: str) -> bool:
        """Whether the backend still stores this paired device, so resuming it is safe."""
        return True

    async def forget_device(self, jid: str) -> None:  # noqa: B027 - optional hook
        """Drop a device's stored keys when WhatsApp could not be told to unlink it."""

    def stuck_threads(self) -> int:
        """Library threads that will never return (for the heartbeat; the process recycles past a limit)."""
        return 0

    async def run(self) -> None:  # noqa: B027 - optional hook
        """Process-wide background work for the engine's life (cancelled on stop)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Free process-wide resources."""
