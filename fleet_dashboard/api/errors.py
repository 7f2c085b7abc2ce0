"""Every API error as {"success": false, "error": "...", "code": "..."} with the right status, never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleet_dashboard.core.errors import DomainError

log = logging.getLogger(__name__)

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "body_too_large", 415: "unsupported_media",
                 422: "validation", 429: "rate_limited"}


class ApiError(DomainError):
    """A failure known only to the HTTP layer (auth, limits, headers), with optional response headers."""

    def __init__(self, message: str, *, status: int, code: str | None = None,
                 headers: dict[str, str] | None = None, **params: Any):
        super().__init__(message, code=code or _STATUS_CODES.get(status, "invalid"), **params)
        self.status = status
        self.headers = headers or {}


def error_response(http_status: int, message: str, code: str | None = None,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The one error shape every route answers with; `extra` adds fields (e.g. message_id, status)."""
    body = {"success": False, "error": message, "code": code or _STATUS_CODES.get(http_status, "error"), **extra}
    return JSONResponse(body, status_code=http_status, headers=headers)


def _loc(error: dict[str, Any]) -> str:
    parts = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(error.get("loc", ("request",))[0])


def _validation_message(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{_loc(e)}: {e.get('msg', 'invalid')}" for e in errors[:5])


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.code, getattr(exc, "headers", None))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "request body is not valid JSON", "invalid_json")
    details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                "type": str(e.get("type", ""))} for e in errors[:20]]
    return error_response(422, _validation_message(errors), "validation", details=details)


async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig or exc)
    return error_response(503, "the database is unavailable; try again shortly", "database_unavailable",
                          headers={"Retry-After": "5"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal server error", "internal")


def install_error_handlers(api: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""
    api.add_exception_handler(DomainError, _domain_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(OperationalError, _database_down)
    api.add_exception_handler(Exception, _unexpected)
