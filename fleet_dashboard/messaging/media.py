"""Documents and images: take a file (base64, a URL or an upload), check it, store it once, read it back to send.

Every check happens before anything is queued: kind and type, size against the kind's limit, and that the
bytes are what the type says (a PDF starts with %PDF, a JPEG with its marker...). URLs are fetched through
safe_http, so an organisation cannot make the server read its own network. Files live behind `MediaStore`
(PostgreSQL by default), one row per content per organisation, and retention deletes a file once no message
or queue row refers to it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import mimetypes
import re
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from fleet_dashboard.core import safe_http
from fleet_dashboard.core.errors import DomainError, NotFound, ValidationError
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.messaging.models import MEDIA_TYPES, MessageType, WhatsAppMedia

# Images WhatsApp shows inline; anything else goes as a document.
IMAGE_MIME_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class FileRule:
    """What one file kind (a MessageType that carries a file) accepts."""

    limit_setting: str  # the setting that caps its size, in bytes
    mime_types: tuple[str, ...] | None = None  # the types it accepts; None = any (a document)
    refusal: str = ""  # the error code of a file of another type


# One rule per file kind; a file whose type no narrower kind accepts goes as the catch-all (mime_types None).
FILE_RULES: dict[str, FileRule] = {
    MessageType.image.value: FileRule("media_max_image_bytes", IMAGE_MIME_TYPES, "media_not_image"),
    MessageType.document.value: FileRule("media_max_document_bytes"),
}
# Magic numbers of the types whose content we can tell; a declared type with a known signature must match it.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
}
FILENAME_MAX = 255
URL_MAX = 2048
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


class MediaTooLarge(DomainError):
    status = 413
    code = "media_too_large"


class MediaFetchFailed(ValidationError):
    code = "media_fetch_failed"


@dataclass(frozen=True)
class MediaFile:
    """A checked file ready to store and send."""

    kind: str  # MessageType.document or MessageType.image
    data: bytes
    filename: str
    mime_type: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Attachment:
    """A stored file as a message or queue row refers to it."""

    media_id: uuid.UUID
    filename: str
    kind: str


def limit_for(kind: str) -> int:
    """The largest file of this kind, in bytes (settings)."""
    return getattr(get_settings(), FILE_RULES[kind].limit_setting)


def largest_limit() -> int:
    return max(limit_for(kind) for kind in MEDIA_TYPES)


def request_body_limit() -> int:
    """The body size a route that takes a file must accept: the larger limit in base64, plus the JSON around it."""
    return largest_limit() * 4 // 3 + 64 * 1024


def kind_of(mime_type: str) -> str:
    """The message type a file of this type goes out as when the caller does not say."""
    return next((kind for kind, rule in FILE_RULES.items() if rule.mime_types and mime_type in rule.mime_types),
                MessageType.document.value)


def _check_type(kind: str, mime: str) -> None:
    rule = FILE_RULES[kind]
    if rule.mime_types is not None and mime not in rule.mime_types:
        raise ValidationError(f"an {kind} must be one of {', '.join(rule.mime_types)}, not {mime}",
                              code=rule.refusal, mime_type=mime)


def clean_filename(name: str | None, mime_type: str | None = None) -> str:
    """A file name safe to store and show: no path, no control characters, at most 255 characters."""
    name = _UNSAFE_NAME.sub("_", (name or "").strip().rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")
    if not name:
        name = "file" + (mimetypes.guess_extension(mime_type or "") or "")
    return name[:FILENAME_MAX]


def _mime(declared: str | None, filename: str) -> str:
    mime = (declared or "").split(";", 1)[0].strip().lower()
    if not mime or mime == "application/octet-stream":
        mime = (mimetypes.guess_type(filename)[0] or mime or "application/octet-stream").lower()
    if not _MIME.match(mime):
        raise ValidationError(f"{declared!r} is not a MIME type", code="media_invalid_type")
    return mime


def check(*, kind: str | None, data: bytes, filename: str | None, mime_type: str | None) -> MediaFile:
    """A MediaFile from raw bytes, or the precise reason it cannot be sent."""
    if kind is not None and kind not in MEDIA_TYPES:
        raise ValidationError(f"type {kind!r} carries no file", code="media_invalid_kind")
    name = clean_filename(filename, mime_type)
    mime = _mime(mime_type, name)
    kind = kind or kind_of(mime)
    _check_type(kind, mime)
    limit = limit_for(kind)
    if len(data) > limit:
        raise MediaTooLarge(f"the {kind} is {len(data)} bytes; the limit is {limit}", kind=kind, limit=limit)
    if not data:
        raise ValidationError("the file is empty", code="media_empty")
    signatures = _SIGNATURES.get(mime)
    if signatures and not data.startswith(signatures):
        raise ValidationError(f"the file's content is not {mime}", code="media_content_mismatch", mime_type=mime)
    return MediaFile(kind=kind, data=data, filename=name, mime_type=mime)


def decode_base64(value: str, kind: str) -> bytes:
    """Strict base64 (a data: URL prefix allowed), refused when the decoded size would pass the kind's limit."""
    value = value.strip()
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    value = re.sub(r"\s+", "", value)
    limit = limit_for(kind)
    if len(value) * 3 // 4 - value.count("=") > limit:
        raise MediaTooLarge(f"the {kind} is larger than the limit of {limit} bytes", kind=kind, limit=limit)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("media.base64 is not valid base64", code="media_invalid_base64") from exc


async def fetch(url: str, kind: str) -> tuple[bytes, str | None, str]:
    """GET a public http(s) URL, at most the kind's limit: (bytes, Content-Type, a file name from the path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > URL_MAX:
        raise ValidationError("media.url must be an http(s) URL", code="media_invalid_url")
    literal = safe_http.literal_address(parts.hostname)
    if literal and safe_http.is_internal(literal) and not get_settings().webhook_allow_private_networks:
        raise MediaFetchFailed(f"{parts.hostname} is a private or reserved address", code="media_url_refused")
    limit = limit_for(kind)
    try:
        async with safe_http.checked_client(timeout=get_settings().media_fetch_timeout_seconds) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise MediaFetchFailed(f"the file's URL answered HTTP {response.status_code}",
                                       status_code=response.status_code)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise MediaTooLarge(f"the {kind} is {declared} bytes; the limit is {limit}", kind=kind, limit=limit)
            chunks, received = [], 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    raise MediaTooLarge(f"the {kind} is larger than the limit of {limit} bytes", kind=kind,
                                        limit=limit)
                chunks.append(chunk)
            content_type = response.headers.get("content-type")
    except httpx.InvalidURL as exc:  # a host httpx cannot parse (say 0177.0.0.1): the caller's URL, not a 500
        raise ValidationError(f"media.url is not a usable URL: {exc}", code="media_invalid_url") from exc
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        code = "media_url_refused" if "refused:" in reason else "media_fetch_failed"
        raise MediaFetchFailed(f"could not fetch the file: {reason}", code=code) from exc
    return b"".join(chunks), content_type, unquote(parts.path.rsplit("/", 1)[-1])


async def resolve(spec: Any, kind: str | None) -> MediaFile:
    """The checked file an API body's `media` object names (`url` or `base64`, `filename`, `mime_type`)."""
    url, b64 = getattr(spec, "url", None), getattr(spec, "base64", None)
    if bool(url) == bool(b64):
        raise ValidationError("media needs exactly one of url or base64", code="media_source")
    mime = getattr(spec, "mime_type", None)
    guess = kind or kind_of(_mime(mime, clean_filename(getattr(spec, "filename", None), mime)))
    # Decoding and checking megabytes is CPU work: in a thread, so the caller's event loop keeps serving.
    if b64:
        return await asyncio.to_thread(
            lambda: check(kind=kind, data=decode_base64(b64, guess), filename=spec.filename, mime_type=mime))
    data, content_type, url_name = await fetch(url, guess)
    return await asyncio.to_thread(check, kind=kind, data=data, filename=spec.filename or url_name,
                                   mime_type=mime or content_type)


class MediaStore(Protocol):
    """Where file bytes live. `put` runs in the caller's transaction; `get` reads them back to send."""

    name: str

    def put(self, session: Session, row: WhatsAppMedia, data: bytes) -> None: ...

    def get(self, session: Session, row: WhatsAppMedia) -> bytes: ...


class PostgresStore:
    """The default: bytes in whatsapp_media.data (TOAST, stored uncompressed)."""

    name = "postgres"

    def put(self, session: Session, row: WhatsAppMedia, data: bytes) -> None:
        row.data, row.storage = data, self.name

    def get(self, session: Session, row: WhatsAppMedia) -> bytes:
        return bytes(row.data or b"")


_STORES: dict[str, MediaStore] = {"postgres": PostgresStore()}


def store_backend() -> MediaStore:
    return _STORES[get_settings().media_store]


# FOR SHARE: the purge (FOR UPDATE SKIP LOCKED) leaves a file alone while a send is taking it up again.
_FIND_SQL = text("SELECT id FROM whatsapp_media WHERE org_id = :org AND sha256 = :sha FOR SHARE")


def store(*, session: Session, org_id: uuid.UUID, file: MediaFile) -> Attachment:
    """Keep the file (once per content per organisation) and return what a message or queue row refers to."""
    sha = file.sha256
    found = session.execute(_FIND_SQL, {"org": org_id, "sha": sha}).scalar()
    if found is None:
        row = WhatsAppMedia(org_id=org_id, sha256=sha, mime_type=file.mime_type, size=file.size)
        store_backend().put(session, row, file.data)
        try:
            with session.begin_nested():  # a concurrent twin may win the unique index; then use its row
                session.add(row)
            found = row.id
        except Exception:  # noqa: BLE001 - IntegrityError from the race; re-read the winner
            found = session.execute(_FIND_SQL, {"org": org_id, "sha": sha}).scalar()
            if found is None:
                raise
    return Attachment(media_id=found, filename=file.filename, kind=file.kind)


def _row(session: Session, media_id: uuid.UUID | str, *, with_data: bool = False) -> WhatsAppMedia | None:
    try:
        wanted = uuid.UUID(str(media_id))
    except ValueError:
        return None
    query = select(WhatsAppMedia).where(WhatsAppMedia.id == wanted)
    if not with_data:  # up to 16 MB: read only to send
        query = query.options(defer(WhatsAppMedia.data))
    return session.exec(query).first()


def get_row(*, session: Session, org_id: uuid.UUID, media_id: uuid.UUID | str,
            with_data: bool = False) -> WhatsAppMedia:
    """This organisation's file row; another organisation's id is NotFound."""
    row = _row(session, media_id, with_data=with_data)
    if row is None or row.org_id != org_id:
        raise NotFound("the file is gone (deleted by retention, or never stored)", code="media_missing")
    return row


def attachment(*, session: Session, org_id: uuid.UUID, media_id: uuid.UUID | str, filename: str,
               kind: str) -> Attachment:
    """A stored file of this organisation, checked again for the kind it is about to be sent as."""
    row = get_row(session=session, org_id=org_id, media_id=media_id)
    if kind not in MEDIA_TYPES:
        raise ValidationError(f"type {kind!r} carries no file", code="media_invalid_kind")
    _check_type(kind, row.mime_type)
    return Attachment(media_id=row.id, filename=clean_filename(filename, row.mime_type), kind=kind)


def load(*, session: Session, org_id: uuid.UUID, media_id: uuid.UUID) -> tuple[bytes, str]:
    """The file's bytes and type, to send."""
    row = get_row(session=session, org_id=org_id, media_id=media_id, with_data=True)
    return _STORES[row.storage].get(session, row), row.mime_type


def describe(*, session: Session, media_id: uuid.UUID | None, filename: str | None) -> dict[str, Any] | None:
    """What the API and the dashboard show of a message's file: name, type, size and sha256."""
    if media_id is None:
        return None
    row = _row(session, media_id)
    if row is None:
        return {"filename": filename, "mime_type": None, "size": None, "sha256": None}
    return {"filename": filename, "mime_type": row.mime_type, "size": row.size, "sha256": row.sha256}


def describe_many(*, session: Session, rows: list[Any]) -> dict[uuid.UUID, dict[str, Any]]:
    """`describe` for a page of messages, in one query: message id -> its file's description."""
    ids = {r.media_id for r in rows if getattr(r, "media_id", None)}
    if not ids:
        return {}
    query = select(WhatsAppMedia).where(WhatsAppMedia.id.in_(ids)).options(defer(WhatsAppMedia.data))
    found = {m.id: m for m in session.exec(query)}
    out = {}
    for r in rows:
        if getattr(r, "media_id", None):
            m = found.get(r.media_id)
            out[r.id] = {"filename": r.media_filename, "mime_type": m.mime_type if m else None,
                         "size": m.size if m else None, "sha256": m.sha256 if m else None}
    return out


def request_kind(kind: str | None, spec: Any) -> str | None:
    """The file kind an API body asks for, or a clear refusal when type and media do not go together."""
    if kind == MessageType.text.value:
        kind = None
        if spec is not None:
            raise ValidationError('a file needs "type": "document" or "image"', code="media_needs_type")
    if kind in MEDIA_TYPES and spec is None:
        raise ValidationError(f'"type": "{kind}" needs "media"', code="media_required", kind=kind)
    return kind
