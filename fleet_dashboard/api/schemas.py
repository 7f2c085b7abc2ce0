"""Request and response bodies, shaped like the seed guide's so its callers work unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from fleet_dashboard.messaging.models import API_FILE_TYPES, API_TYPES

ORG_ID = Field(default=None, max_length=64, description="optional; must equal X-Org-Id when given")
RECIPIENT = Field(max_length=64, description="phone number, best in E.164 (+201001234567)",
                  examples=["+201001234567"])
TEMPLATE_ID = Field(default=None, max_length=64, description="template UUID (a system or own template)")
TEMPLATE_NAME = Field(default=None, max_length=64, description="template name, instead of template_id")
VARIABLES = Field(default=None, description="values for the template's {{variables}}")
URGENT = Field(default=False, description="an OTP or a failed payment: ignores quiet hours (never the pacing) and "
               "may use the daily cap's 10% reserve. A template can be urgent itself")
SCHEDULED_FOR_OUT = Field(default=None, description="when a guard holds the message: when it will go (ISO 8601, "
                          "UTC); null when it goes now, or waits for a person to resume sending")
WAIT_REASON = Field(default=None, description="why it waits: quiet_hours, daily_cap, paused, lookup_failed")
WAIT_TEXT = Field(default=None, description="the same, in Arabic, with the time in the organisation's zone")


class _Body(BaseModel):
    # Unknown fields are ignored, as the Node service did, so richer callers keep working.
    model_config = ConfigDict(extra="ignore")


class SessionInit(_Body):
    org_id: str | None = ORG_ID


class MediaIn(_Body):
    """A file to send: exactly one of `url` (fetched once, public addresses only) or `base64`."""

    url: str | None = Field(default=None, max_length=2048, description="http(s) URL of the file",
                            examples=["https://fleet.example.com/invoices/INV-1001.pdf"])
    base64: str | None = Field(default=None, description="the file's bytes in base64 (a data: URL is accepted)")
    filename: str | None = Field(default=None, max_length=255, description="the name the recipient sees; "
                                 "default: from the URL", examples=["INV-1001.pdf"])
    mime_type: str | None = Field(default=None, max_length=127, description="e.g. application/pdf, image/jpeg; "
                                  "default: from the file name or the URL's Content-Type",
                                  examples=["application/pdf"])


MEDIA = Field(default=None, description="a document or an image to send, with the text as its caption. Limits: "
              "MEDIA_MAX_DOCUMENT_BYTES (16 MB) and MEDIA_MAX_IMAGE_BYTES (5 MB; JPEG, PNG or WebP)")
# The `type` a caller may name, and the file kinds among them: both from messaging.models.MessageType.
SendType = Literal[API_TYPES]  # type: ignore[valid-type]
FileKind = Literal[API_FILE_TYPES]  # type: ignore[valid-type]
MEDIA_KIND = Field(default=None, description=f"{' or '.join(API_FILE_TYPES)}; default: image for JPEG, PNG and "
                   "WebP, else document")


class SendText(_Body):
    org_id: str | None = ORG_ID
    recipient: str = RECIPIENT
    message: str = Field(default="", max_length=4096, description="message text; with a file, its caption "
                         "(may be empty)")
    type: SendType = Field(default="text", description=f"{' and '.join(API_FILE_TYPES)} need `media`")
    media: MediaIn | None = MEDIA
    urgent: bool = URGENT


class SendTemplate(_Body):
    org_id: str | None = ORG_ID
    recipient: str = RECIPIENT
    template_id: str | None = TEMPLATE_ID
    template_name: str | None = TEMPLATE_NAME
    variables: dict[str, Any] | None = VARIABLES
    media: MediaIn | None = MEDIA
    type: FileKind | None = MEDIA_KIND
    urgent: bool = URGENT


class NotificationIn(SendTemplate):
    """A template message for the queue: what /send-template takes, and when and how to send it."""

    scheduled_for: datetime | None = Field(default=None, description="send at or after (ISO 8601)")
    priority: int | None = Field(default=None, ge=0, le=10, description="lower goes first")
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    idempotency_key: str | None = Field(default=None, max_length=200)


class SessionInitOut(BaseModel):
    success: bool = True
    session_id: str
    status: str
    qr_code: str | None = None
    qr_expires_at: str | None = None
    message: str | None = None
    connection_error: str | None = None
    connection_error_code: str | None = None


class SessionQrOut(BaseModel):
    success: bool = True
    qr_code: str
    expires_at: str | None = None
    status: str
    qr_svg: str


class SessionStatusOut(BaseModel):
    success: bool = True
    status: str
    phone_number: str | None = None
    display_name: str | None = None
    last_connected_at: str | None = None
    connection_error: str | None = None
    connection_error_code: str | None = None
    next_retry_at: str | None = None
    pair_code: str | None = None
    pair_code_expires_at: str | None = None


class OkOut(BaseModel):
    success: bool = True
    message: str


class SendOut(BaseModel):
    success: bool = True
    message_id: str
    whatsapp_message_id: str | None = None
    status: str


class HeldOut(SendOut):
    """202: accepted, and a guard holds it back (quiet hours, the daily cap, a pause)."""

    scheduled_for: datetime | None = SCHEDULED_FOR_OUT
    wait_reason: str | None = WAIT_REASON
    wait_text: str | None = WAIT_TEXT


class MediaView(BaseModel):
    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None
    sha256: str | None = None


class MessageView(BaseModel):
    direction: Literal["outbound"] = "outbound"
    id: str
    org_id: str
    recipient_phone: str
    message_type: str
    message_body: str
    template_name: str | None = None
    status: str
    whatsapp_message_id: str | None = None
    error: str | None = None
    error_code: str | None = Field(default=None, description="stable failure code, e.g. opted_out, send_failed")
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    created_at: datetime
    media: MediaView | None = Field(default=None, description="the document or image, for those types")


class InboundView(BaseModel):
    """A customer's message to the organisation's number (a reply, or a STOP/START keyword)."""

    direction: Literal["inbound"] = "inbound"
    id: str
    org_id: str
    from_phone: str = Field(description="the sender, E.164 when it parses")
    message_body: str
    whatsapp_message_id: str
    opt_out: str | None = Field(default=None, description="what a STOP/START keyword did: opted_out, opted_in")
    created_at: datetime = Field(description="when it reached the organisation's number")


AnyMessageView = Annotated[MessageView | InboundView, Field(discriminator="direction")]


class MessageOut(BaseModel):
    success: bool = True
    message: AnyMessageView


def Page(name: str, key: str, item: Any) -> type[BaseModel]:  # noqa: N802  (a generic model, read as Page[T])
    """A list answer: `{"success": true, <key>: [item, ...], "next_cursor": ...}`, newest first by keyset pages.

    Each list keeps its own key (`messages`, `opt_outs`), as the seed guide's callers read it."""
    return create_model(name, __doc__=f"One page of {key}, newest first, and the next page's cursor.",
                        success=(bool, True), **{key: (list[item], ...)},
                        next_cursor=(str | None, Field(default=None, description="pass as `cursor` for the next "
                                                       "page; null on the last page")))


MessageListOut = Page("MessageListOut", "messages", AnyMessageView)


class OptOutView(BaseModel):
    phone: str
    reason: str = Field(default="", description="why a person added it; empty for a STOP keyword")
    keyword: str = Field(default="", description="the STOP word the customer sent; empty when added by a person")
    created_at: datetime


class OptOutIn(_Body):
    phone: str = Field(max_length=64, examples=["+201001234567"])
    reason: str | None = Field(default=None, max_length=500, examples=["asked by phone"])


class OptOutOut(BaseModel):
    success: bool = True
    opt_out: OptOutView


OptOutListOut = Page("OptOutListOut", "opt_outs", OptOutView)


class OptOutRemovedOut(BaseModel):
    success: bool = True
    phone: str


class NotificationView(BaseModel):
    id: str
    org_id: str
    recipient_phone: str
    template_id: str | None = None
    status: str
    priority: int
    scheduled_for: datetime
    attempts: int
    max_attempts: int
    error_message: str | None = None
    error_code: str | None = Field(default=None, description="stable failure code, e.g. opted_out, send_timeout")
    message_id: str | None = None
    whatsapp_message_id: str | None = None
    created_at: datetime
    completed_at: datetime | None = None
    urgent: bool = False
    wait_reason: str | None = WAIT_REASON
    wait_text: str | None = WAIT_TEXT


class NotificationOut(BaseModel):
    success: bool = True
    notification: NotificationView


class EnqueuedOut(BaseModel):
    success: bool = True
    id: str
    status: str
    scheduled_for: datetime | None = Field(default=None, description="when it will go (ISO 8601, UTC)")
    wait_reason: str | None = WAIT_REASON
    wait_text: str | None = WAIT_TEXT


class EnqueuedManyOut(BaseModel):
    success: bool = True
    ids: list[str]
    count: int
    items: list[EnqueuedOut] = Field(default_factory=list, description="each notification: when it will go, and "
                                     "why it waits when a guard holds it")


class ErrorOut(BaseModel):
    success: Literal[False] = False
    error: str
    code: str


def message_view(row: Any, media: dict[str, Any] | None = None) -> MessageView:
    """A message row as the API shows it (`media`: messaging.media.describe of its file)."""
    return MessageView(
        media=MediaView(**media) if media else None,
        id=str(row.id), org_id=str(row.org_id), recipient_phone=row.recipient_phone,
        message_type=row.message_type, message_body=row.message_body, template_name=row.template_name,
        status=row.status, whatsapp_message_id=row.whatsapp_message_id, error=row.error, error_code=row.error_code,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at, read_at=row.read_at, failed_at=row.failed_at, created_at=row.created_at)


def inbound_view(row: Any) -> InboundView:
    """A customer's message as the API shows it."""
    return InboundView(id=str(row.id), org_id=str(row.org_id), from_phone=row.phone, message_body=row.message_body,
                       whatsapp_message_id=row.whatsapp_message_id, opt_out=row.opt_out, created_at=row.created_at)


def opt_out_view(row: Any) -> OptOutView:
    """An opted-out number as the API shows it."""
    return OptOutView(phone=row.phone, reason=row.reason or "", keyword=row.keyword or "", created_at=row.created_at)


def notification_view(row: Any, wait_text: str | None = None) -> NotificationView:
    """A queue row as the API shows it (`wait_text`: why it waits, in Arabic, when a guard holds it)."""
    return NotificationView(
        urgent=bool(getattr(row, "urgent", False)), wait_reason=getattr(row, "wait_reason", None),
        wait_text=wait_text if getattr(row, "wait_reason", None) else None,
        id=str(row.id), org_id=str(row.org_id), recipient_phone=row.recipient_phone,
        template_id=str(row.template_id) if row.template_id else None, status=row.status,
        priority=row.priority, scheduled_for=row.scheduled_for, attempts=row.attempts,
        max_attempts=row.max_attempts, error_message=row.error_message, error_code=row.error_code,
        message_id=str(row.message_id) if row.message_id else None,
        whatsapp_message_id=row.whatsapp_message_id, created_at=row.created_at, completed_at=row.completed_at)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in {
        400: "bad request (malformed JSON, missing X-Org-Id)", 401: "missing or invalid credential",
        403: "credential may not act for this organisation", 404: "not found",
        409: "conflict (e.g. WhatsApp not connected)", 413: "body too large", 422: "invalid body",
        429: "rate limited (see Retry-After)"}.items()
}


class PairCodeIn(_Body):
    phone: str = Field(min_length=3, max_length=32, description="the WhatsApp number to link, best in E.164",
                       examples=["+201001234567"])


class PairCodeOut(BaseModel):
    success: bool = True
    code: str | None = Field(default=None, description="8 characters to type on the phone: WhatsApp > Linked "
                             "devices > Link a device > Link with phone number instead", examples=["ABCD-EFGH"])
    expires_at: str | None = Field(default=None, description="when the code stops working (ISO 8601)")
    status: str
