"""ASGI middleware for the API: helmet's security headers, a request body cap, and CORS."""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api"
DOCS_PREFIX = "/api/docs"

# helmet 8's defaults, minus upgrade-insecure-requests, which breaks a plain-HTTP LAN deployment.
_CSP = ("default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
        "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
        "script-src-attr 'none';style-src 'self' https: 'unsafe-inline'")
# Swagger UI boots from one inline script; it still loads nothing from outside this server.
_DOCS_CSP = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
_HELMET = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"origin-agent-cluster", b"?1"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-dns-prefetch-control", b"off"),
    (b"x-download-options", b"noopen"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-permitted-cross-domain-policies", b"none"),
    (b"x-xss-protection", b"0"),
]
# The dashboard pages get the headers that cannot break a single-page app.
_PAGE_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"),
                 (b"referrer-policy", b"no-referrer")]


class SecurityHeadersMiddleware:
    """Adds helmet's headers to API responses (and the safe subset to everything else)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith(API_PREFIX):
            extra = [*_HELMET, (b"content-security-policy",
                                (_DOCS_CSP if path.startswith(DOCS_PREFIX) else _CSP).encode())]
        else:
            extra = _PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                headers = [(k, v) for k, v in headers if k.lower() not in (b"server", b"x-powered-by")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(HTTPException):
    """Raised from receive(); an HTTPException so FastAPI's body parsing passes it on untouched."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body is larger than {max_bytes} bytes")


def declared_too_large(scope: Scope, max_bytes: int) -> bool:
    """True when the request announces a body over `max_bytes` (or a Content-Length that is not a number)."""
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value) > max_bytes
            except ValueError:
                return True
    return False


async def reject_too_large(send: Send, max_bytes: int) -> None:
    """The 413 answer, as JSON, closing the connection (the rest of the body is never read)."""
    body = json.dumps({"success": False, "error": f"request body is larger than {max_bytes} bytes",
                       "code": "body_too_large"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimitMiddleware:
    """Refuses request bodies under `prefix` (the API by default) over the cap with 413, whether or not
    Content-Length is honest: an announced length is refused before reading, a streamed one cut off at the cap."""

    def __init__(self, app: ASGIApp, max_bytes: int, file_paths: frozenset[str] = frozenset(),
                 file_bytes: int = 0, prefix: str = API_PREFIX):
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix
        # Routes that take a document or an image in base64 accept a body that large.
        self.file_paths, self.file_bytes = file_paths, max(file_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        max_bytes = self.file_bytes if scope.get("path", "").rstrip("/") in self.file_paths else self.max_bytes
        if declared_too_large(scope, max_bytes):
            await reject_too_large(send, max_bytes)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await reject_too_large(send, max_bytes)


def install_middleware(api: FastAPI, *, origins: list[str], max_body_bytes: int,
                       file_paths: frozenset[str] = frozenset(), file_body_bytes: int = 0) -> None:
    """CORS innermost, then the body cap, then security headers outermost (so even a 413 carries them)."""
    api.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                       allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                       allow_headers=["Authorization", "Content-Type", "X-Org-Id", "Idempotency-Key"],
                       expose_headers=["Retry-After"], max_age=600)
    api.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes, file_paths=file_paths,
                       file_bytes=file_body_bytes)
    api.add_middleware(SecurityHeadersMiddleware)
