"""The gate in front of Reflex's file upload (`POST /_upload`): nothing of a body is read before it passes.

Reflex parses the whole multipart body (spooled to the temporary directory) before any event handler, and so
before the access chokepoint, sees it. So this ASGI gate, around the whole app, refuses first:
1. a Content-Length above the largest media file plus the multipart's overhead (413), before reading;
2. a request without a live dashboard sign-in (the `fd_session` cookie, checked as every event checks it:
   signed, unexpired, the current sign-in version, an active person) with 401, before reading;
3. a body that streams past the cap without announcing its length: cut off at the cap (413).
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from fleet_dashboard.accounts import signin
from fleet_dashboard.api.middleware import BodySizeLimitMiddleware, declared_too_large, reject_too_large
from fleet_dashboard.core import offload

UPLOAD_PATH = "/_upload"
# Multipart boundaries, part headers and the handler's arguments around one file.
OVERHEAD_BYTES = 64 * 1024


def upload_limit() -> int:
    """The largest body an upload may have: the larger media limit (messaging/media.py) plus the overhead."""
    from fleet_dashboard.messaging import media

    return media.largest_limit() + OVERHEAD_BYTES


def signin_token(scope: Scope) -> str:
    """The dashboard sign-in token the request's cookie carries, or ""."""
    raw = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"cookie"), "")
    cookies = SimpleCookie()
    try:
        cookies.load(raw)
    except CookieError:
        return ""
    morsel = cookies.get(signin.SIGNIN_COOKIE)
    return morsel.value if morsel else ""


def _signed_in(token: str) -> bool:
    return signin.signin_user(token)[0] is not None


async def _unauthorized(send: Send) -> None:
    body = json.dumps({"success": False, "error": "uploading needs a signed-in dashboard session",
                       "code": "unauthorized"}).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class UploadGate:
    """ASGI middleware: the size cap and the sign-in check for `POST /_upload`, before a byte of body is read."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes or upload_limit()
        self._capped = BodySizeLimitMiddleware(app, max_bytes=self.max_bytes, prefix=UPLOAD_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope.get("method") == "POST"
                and scope.get("path", "").rstrip("/") == UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        if declared_too_large(scope, self.max_bytes):
            await reject_too_large(send, self.max_bytes)
            return
        if not await offload.run_sync(_signed_in, signin_token(scope)):
            await _unauthorized(send)
            return
        await self._capped(scope, receive, send)
