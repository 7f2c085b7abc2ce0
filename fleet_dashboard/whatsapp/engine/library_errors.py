"""The WhatsApp library's error texts and codes, each with what it means for the message: the one table.

whatsmeow answers a failed call with an error whose text is all neonize hands back (`SendMessageError(text)`).
Whether a retry is safe depends on where the call failed, so every text the library can return from a send
is classified here, and nowhere else:

- `NOT_SENT`: the call failed before a frame left this process; the worker retries it (with backoff, up to
  the row's attempts).
- `MAYBE_SENT`: a frame left (or may have), and no answer settled it; the message is `unknown`, never
  retried by itself; a later receipt for it (messaging.receipts, `settle_unknown`) settles it.
- `REFUSED`: WhatsApp answered no; the message fails with the reason and is not retried. `pause` marks an
  answer that says the number itself is restricted (the sender should stop for a while).

Rows are matched in order, first match wins, on the lower-cased text: more specific texts come first. A text no
row matches is `MAYBE_SENT`: an error nobody has classified might have come after the write, and a message
sent twice cannot be taken back (the cost of a wrong guess is a person checking one message).
Add a row with its test (tests/whatsapp/test_library_errors.py walks the table) when the library grows a new
answer; say in `meaning` what whatsmeow did before it returned it (send.go, request.go, client.go).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fleet_dashboard.whatsapp.gateway import GatewayError, SendFailed, SendRefused, SendUnknown


class Verdict(enum.StrEnum):
    NOT_SENT = "not_sent"
    MAYBE_SENT = "maybe_sent"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class LibraryError:
    """One answer of the library: a piece of its error text, the verdict, and the code the message keeps."""

    match: str
    verdict: Verdict
    code: str  # strings.ERRORS key stored with the message / queue row
    meaning: str
    example: str = ""  # a whole text whatsmeow returns for this row (the tests feed it to the adapter)
    pause: bool = False  # WhatsApp restricts the number itself: stop sending for the organisation

    def matches(self, text: str) -> bool:
        return self.match in text.lower()


N, M, R = Verdict.NOT_SENT, Verdict.MAYBE_SENT, Verdict.REFUSED
SEND_FAILED, SEND_UNKNOWN, SEND_REFUSED = "send_failed", "send_outcome_unknown", "send_refused"


def _row(match: str, verdict: Verdict, meaning: str, example: str = "", *, code: str | None = None,
         pause: bool = False) -> LibraryError:
    default = {N: SEND_FAILED, M: SEND_UNKNOWN, R: SEND_REFUSED}[verdict]
    return LibraryError(match.lower(), verdict, code or default, meaning, example or match, pause)


LIBRARY_ERRORS: tuple[LibraryError, ...] = (
    # Ours, before the library is called.
    _row("the WhatsApp client is stopping", N,
         "the gate dropped a call queued for a client that was being stopped: it never reached Go"),
    _row("the WhatsApp client was never started", N, "the adapter has no library client: nothing was called"),
    _row("client not found", N, "goneonize has no client under this id: nothing was called"),
    _row("client is nil", N, "whatsmeow.ErrClientIsNil: refused before anything else"),
    _row("the store doesn't contain a device JID", N, "ErrNotLoggedIn: the device is not paired"),
    # Before the write: looking the recipient up, or encrypting for its devices. These wrap lower errors
    # (a timeout, "websocket not connected") that mean something else on their own, so they come first.
    _row("failed to get LID for PN", N, "the store's LID map could not be read",
         "failed to get LID for PN 201009998887@s.whatsapp.net: sql: database is closed"),
    _row("failed to get user info", N, "the user info query for the recipient's LID failed",
         "failed to get user info for 201009998887@s.whatsapp.net to fill LID cache: info query timed out"),
    _row("failed to get device list", N, "the recipient's device list query failed",
         "failed to get device list: websocket not connected"),
    _row("failed to fetch LID mappings", N, "looking up the devices' LIDs failed",
         "failed to fetch LID mappings: context deadline exceeded"),
    _row("failed to prefetch sessions", N, "loading Signal sessions from the store failed",
         "failed to prefetch sessions: sql: connection refused"),
    _row("failed to fetch prekeys", N, "fetching the devices' prekeys failed",
         "failed to fetch prekeys: info query timed out"),
    _row("failed to process prekey bundle", N, "a device's prekey bundle was unusable",
         "failed to process prekey bundle: invalid signature"),
    _row("no signal session established", N, "ErrNoSession: nothing could be encrypted",
         "can't encrypt message for device: no signal session established"),
    _row("failed to encrypt", N, "encrypting for a device failed before any write",
         "failed to encrypt peer message for 201009998887@s.whatsapp.net: untrusted identity"),
    _row("cipher encryption failed", N, "Signal encryption failed before any write",
         "cipher encryption failed: no sender chain"),
    _row("failed to save cached sessions", N, "the store refused the Signal sessions",
         "failed to save cached sessions: sql: database is closed"),
    _row("failed to add message to retry store", N, "the store refused the outgoing copy",
         "failed to add message to retry store: sql: database is closed"),
    # sendDM wraps every error of writing the message frame: what follows the prefix says where it failed.
    _row("failed to send message node: websocket not connected", N,
         "sendNodeAndGetData found no socket before writing (ErrNotConnected on the first attempt)"),
    _row("failed to send message node: frame socket is closed", N,
         "FrameSocket.SendFrame found the connection gone before writing (ErrSocketClosed)"),
    _row("failed to send message node: failed to marshal node", N, "the node could not be encoded",
         "failed to send message node: failed to marshal node: unsupported attribute type"),
    _row("failed to send message node", M,
         "the websocket write itself failed: the socket closed mid-send, part or all of the frame may have "
         "reached WhatsApp", "failed to send message node: failed to write msg: use of closed network connection"),
    _row("failed to marshal", N, "the message could not be encoded", "failed to marshal message: proto: invalid"),
    # Refused by WhatsApp: it answered, and the answer was no. First the answers that say the number itself is
    # restricted: the organisation's sending pauses (deliverability/pauses.py) and the message waits, not fails.
    _row("server returned error 463", R,
         "WhatsApp refuses this number's messages (a reach-out restriction on a number that messages people who "
         "never wrote to it, or a message addressed to the phone number of a contact WhatsApp moved to a LID: "
         "Evolution API #2626, #2597, OpenWA PR #717)", code="restricted", pause=True),
    _row("server returned error 429", R,
         "rate-overlimit: WhatsApp says this number sends too much, too fast (a ban follows if it goes on)",
         code="restricted_rate", pause=True),
    _row("server returned error", R,
         "the ack carried an error code (ErrServerReturnedError): WhatsApp has the message and refused it",
         "server returned error 406"),
    _row("info query returned status", R, "a query the send needed was answered with an error status (IQError)",
         "info query returned status 400: bad-request"),
    _row("can't send message to unknown server", R, "ErrUnknownServer: not a WhatsApp address",
         "can't send message to unknown server example.com"),
    _row("message recipient must be a user JID", R, "ErrRecipientADJID: a device address cannot be messaged",
         "message recipient must be a user JID with no device part"),
    _row("no LID found for", R, "WhatsApp's user info has no account for this number: nothing can be sent",
         "no LID found for 201009998887@s.whatsapp.net from server"),
    # After the frame was written: the answer never came, or came as a disconnect.
    _row("timed out waiting for message send response", M,
         "ErrMessageTimedOut: the frame was written and WhatsApp's ack did not come in time"),
    _row("websocket disconnected before message send", M,
         "DisconnectedError: the socket dropped after the write and before the ack (also after the one retry)",
         "websocket disconnected before message send (retry) returned response"),
    _row("websocket not connected", M,
         "an unwrapped ErrNotConnected comes from retryFrame: the frame was written, the socket dropped, and it "
         "was not back within 5 s to send the frame again"),
    _row("frame socket is closed", M,
         "an unwrapped ErrSocketClosed comes from retryFrame re-sending a frame it had already written once"),
    _row("info query timed out", M, "ErrIQTimedOut from a retried frame: written, never answered"),
    _row("context deadline exceeded", M, "the call's context ended while it waited for the ack"),
    _row("context canceled", M, "the call's context was cancelled while it waited for the ack"),
)

# An error no row matches: it might have come after the write.
UNLISTED = LibraryError("", M, SEND_UNKNOWN, "not in the table: maybe sent, never resent by itself")
# Our own deadline on the call ran out (the library call goes on in its thread): the ack may still come.
CALL_TIMED_OUT = LibraryError("", M, SEND_UNKNOWN, "the library did not answer within the call's time limit")


def classify(text: str) -> LibraryError:
    """The table's row for an error text of the library (UNLISTED when no row matches)."""
    return next((row for row in LIBRARY_ERRORS if row.matches(text)), UNLISTED)


def send_error(text: str, row: LibraryError | None = None) -> GatewayError:
    """The gateway exception a failed send raises, from the table's verdict on the library's text."""
    row = row or classify(text)
    if row.verdict is Verdict.NOT_SENT:
        return SendFailed(text, code=row.code)
    if row.verdict is Verdict.REFUSED:
        return SendRefused(text, code=row.code, pause=row.pause)
    return SendUnknown(text, code=row.code)
