"""Domain errors: each carries a stable code, a readable English message and an HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure the caller can act on; `code` keys the Arabic text in strings.ERRORS."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.params = params


class ValidationError(DomainError):
    status = 422
    code = "validation"


class AuditedRefusal(ValidationError):
    """A refusal whose audit row the service wrote in the caller's transaction, and nothing else: the caller's
    session_scope commits it before passing the error on (a rolled-back audit row would hide repeated guesses)."""

    keeps_audit = True


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RateLimited(DomainError):
    """Too many attempts; `seconds` says when the next one is taken."""

    status = 429
    code = "rate_limited"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class InvalidPhone(ValidationError):
    code = "invalid_phone"


class MissingVariables(ValidationError):
    code = "missing_variables"


class NotConnected(Conflict):
    code = "not_connected"


class OptedOut(Conflict):
    code = "opted_out"


class OutcomeUnknown(Exception):  # noqa: N818 - names the situation, like the others
    """A call whose effect is not known (a send that may have reached WhatsApp): never repeat it automatically."""
