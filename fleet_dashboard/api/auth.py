"""Who is calling and for which organisation: API keys, user JWTs and the service-role JWT.

Every route but health needs `Authorization: Bearer <credential>` and `X-Org-Id: <org uuid>`.
401: missing, invalid, expired or revoked credential (alg=none included).
403: the credential may not act for X-Org-Id, lacks the route's scope, or its role lacks the route's
     action in the permission matrix (accounts/permissions.py; a super_admin only reads);
     `organization_suspended` when the organisation is suspended.
Every route declares its action through `require(scope, action)`; tests/security checks that none is missing.
"""

from __future__ import annotations

import dataclasses
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPBearer
from sqlmodel import Session

from fleet_dashboard.accounts import audit, orgs, permissions, provisioning
from fleet_dashboard.accounts.models import Organization, Role, User
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.api.limits import limits_of, request_address
from fleet_dashboard.api.tokens import InvalidToken, audience_matches, decode
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.integrations import api_keys

ALL_SCOPES = frozenset(api_keys.SCOPES)
# Only documents the scheme in OpenAPI (Swagger's Authorize button); the header is parsed below.
BEARER_DOC = HTTPBearer(auto_error=False, bearerFormat="API key or JWT",
                        description="an organisation API key (fdk_...) or a JWT")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, already checked against X-Org-Id."""

    org_id: uuid.UUID
    kind: str  # "api_key" | "user" | "service_role"
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    is_super_admin: bool = False
    # The matrix row this caller gets: a person's role; an API key or the service role is the organisation's
    # own integration and gets an owner's row, within its scopes.
    role: str = permissions.INTEGRATION_ROLE
    # The request's client address (TRUSTED_PROXIES honoured), for the audit rows the services write.
    ip_address: str | None = None

    @property
    def actor(self) -> Actor:
        """The caller as the services know it and audit it: who, through the API, from where."""
        home = None if self.is_super_admin else self.org_id
        credential = {"api_key": f"api_key:{self.api_key_id}", "service_role": "service_role"}.get(self.kind)
        return Actor(role=self.role, org_id=home, user_id=self.user_id, kind=self.kind, ip_address=self.ip_address,
                     via="api", credential=credential)

    def check_org(self, org_id: Any) -> None:
        """A path or body org_id must equal X-Org-Id."""
        if org_id is None:
            return
        try:
            same = uuid.UUID(str(org_id)) == self.org_id
        except ValueError:
            same = False
        if not same:
            raise ApiError("org_id does not match the X-Org-Id header", status=403, code="org_mismatch")


def _unauthorized(message: str) -> ApiError:
    return ApiError(message, status=401, code="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def _bearer(authorization: str | None) -> str:
    scheme, _, credential = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise _unauthorized("missing bearer credential: send Authorization: Bearer <key or token>")
    return credential.strip()


def _org_header(x_org_id: str | None) -> uuid.UUID:
    if not x_org_id:
        raise ApiError("the X-Org-Id header is required", status=400, code="org_header")
    try:
        return uuid.UUID(x_org_id.strip())
    except ValueError as exc:
        raise ApiError("X-Org-Id must be an organisation UUID", status=400, code="org_header") from exc


def _require_org(session: Session, org_id: uuid.UUID) -> None:
    if session.get(Organization, org_id) is None:
        raise ApiError(f"unknown organisation {org_id}", status=404, code="unknown_org")


def _from_api_key(session: Session, credential: str, org_id: uuid.UUID, scope: str) -> Principal:
    key = api_keys.authenticate_key(session=session, key=credential)
    if key is None:
        raise _unauthorized("invalid or revoked API key")
    if key.org_id != org_id:
        raise ApiError("this API key belongs to another organisation", status=403, code="forbidden")
    if scope not in (key.scopes or []):
        raise ApiError(f"this API key lacks the {scope!r} scope", status=403, code="missing_scope",
                       scope=scope)
    return Principal(org_id=org_id, kind="api_key", scopes=frozenset(key.scopes), api_key_id=key.id)


def _provision_from_claims(claims: dict[str, Any]) -> None:
    """JWT_PROVISION_FROM_CLAIMS: create or update the user the token describes, in its own transaction."""
    with session_scope() as session:
        provisioning.provision_from_claims(session=session, claims=claims)


def verify_jwt(session: Session, credential: str, *, provision: bool) -> User | None:
    """The active user a JWT speaks for, None for Supabase's service-role token, or ApiError 401.

    `provision`: first create or update the token's user when JWT_PROVISION_FROM_CLAIMS is on."""
    settings = get_settings()
    try:
        alg, claims = decode(credential, settings)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc
    if "aud" in claims and not audience_matches(claims, settings.jwt_audience):
        raise _unauthorized("token audience is not accepted")
    if provision and settings.jwt_provision_from_claims and "aud" in claims and "sub" in claims:
        _provision_from_claims(claims)
    if claims.get("role") == "service_role" and "sub" not in claims:
        # Supabase's service key: no user, no audience.
        if alg != "HS256":
            raise _unauthorized("a service-role token must be HS256")
        return None
    if "aud" not in claims:
        raise _unauthorized("token has no audience")
    try:
        user = session.get(User, uuid.UUID(str(claims.get("sub"))))
    except ValueError:
        user = None
    if user is None or not user.is_active:
        raise _unauthorized("token subject is not an active user")
    return user


def _from_jwt(session: Session, credential: str, org_id: uuid.UUID) -> Principal:
    user = verify_jwt(session, credential, provision=True)
    if user is None:  # the service-role token, trusted to act for the organisation it names
        _require_org(session, org_id)
        return Principal(org_id=org_id, kind="service_role")
    if user.role == Role.super_admin.value:
        _require_org(session, org_id)
        return Principal(org_id=org_id, kind="user", user_id=user.id, is_super_admin=True, role=user.role)
    if user.org_id != org_id:
        raise ApiError("this user belongs to another organisation", status=403, code="forbidden")
    return Principal(org_id=org_id, kind="user", user_id=user.id, role=user.role)


def authenticate(*, session: Session, authorization: str | None, x_org_id: str | None,
                 scope: str) -> Principal:
    """The caller behind these headers, allowed `scope` for X-Org-Id, or ApiError 400/401/403/404."""
    credential = _bearer(authorization)
    if api_keys.looks_like_key(credential):
        org_id = _org_header(x_org_id)
        return _from_api_key(session, credential, org_id, scope)
    if credential.count(".") != 2:
        raise _unauthorized("credential is neither an API key nor a JWT")
    org_id = _org_header(x_org_id)
    return _from_jwt(session, credential, org_id)


def _refuse_action(session: Session, principal: Principal, action: Action, request: Request) -> ApiError:
    """403 for a role the matrix refuses, audited like a refused dashboard event."""
    audit.record(session=session, org_id=principal.org_id, actor_id=principal.user_id, event_type="access_denied",
                 event_data={"action": action.value, "role": principal.role, "via": "api",
                             "route": f"{request.method} {request.url.path}"[:200]},
                 ip_address=request_address(request))
    return ApiError(f"the {principal.role} role may not {action.value} (see docs/SECURITY.md)", status=403,
                    code="forbidden", action=action.value)


def require(scope: str, action: Action) -> Callable[..., Principal]:
    """A dependency giving the Principal for a route: the key's `scope`, and the matrix's `action` for its role."""

    def dependency(
        request: Request,
        _bearer_doc: Annotated[Any, Depends(BEARER_DOC)],
        x_org_id: Annotated[str | None, Header(alias="X-Org-Id", description="organisation UUID")] = None,
    ) -> Principal:
        refused = None
        with session_scope() as session:
            principal = dataclasses.replace(
                authenticate(session=session, authorization=request.headers.get("authorization"), x_org_id=x_org_id,
                             scope=scope),
                ip_address=request_address(request))
            if not permissions.can(principal.role, action):
                refused = _refuse_action(session, principal, action, request)
            else:
                orgs.ensure_active(session=session, org_id=principal.org_id)  # 403 organization_suspended
        if refused is not None:
            raise refused
        request.state.principal = principal
        if scope == "sessions":  # counted per organisation, once the caller is known
            limits_of(request).hit("sessions", str(principal.org_id))
        return principal

    dependency.__name__ = f"require_{scope}_{action.value}"
    dependency.scope, dependency.action = scope, action
    return dependency


# One per route kind: a route's parameter type says which scope and which matrix column it needs.
WhatsAppViewCaller = Annotated[Principal, Depends(require("sessions", Action.view))]
ConnectCaller = Annotated[Principal, Depends(require("sessions", Action.connect))]
LogoutCaller = Annotated[Principal, Depends(require("sessions", Action.logout))]
SendCaller = Annotated[Principal, Depends(require("send", Action.send))]
ScheduleCaller = Annotated[Principal, Depends(require("send", Action.schedule))]
CancelCaller = Annotated[Principal, Depends(require("send", Action.cancel))]
RetryCaller = Annotated[Principal, Depends(require("send", Action.retry))]
ReadCaller = Annotated[Principal, Depends(require("read", Action.view))]
OptOutsCaller = Annotated[Principal, Depends(require("send", Action.opt_outs))]


# What driving an organisation's simulated phone needs besides the credential (see simulator_caller).
SIMULATOR_ACTION = Action.connect


def simulator_caller(
    request: Request,
    _bearer_doc: Annotated[Any, Depends(BEARER_DOC)],
) -> Principal | None:
    """Dependency of the simulator's control routes: open unless SIMULATOR_TOKEN is set, then that token or a
    sessions credential of the path's organisation.

    The simulator exists only in development and test (settings refuse it elsewhere), where demos and
    end-to-end tests drive its routes as they are. Setting SIMULATOR_TOKEN locks a shared demo: the token
    drives every organisation's simulated phone; an organisation's own API key or owner/admin JWT drives
    only its own, as if it held the phone (a member's or a super_admin's JWT is refused, audited, like a QR they
    may not see). None is returned for an open route or the token."""
    token = get_settings().simulator_token
    if not token:
        return None
    authorization = request.headers.get("authorization")
    credential = _bearer(authorization)
    if hmac.compare_digest(credential.encode(), token.encode()):
        return None
    path_org = request.path_params.get("org_id")
    refused = None
    with session_scope() as session:
        principal = dataclasses.replace(
            authenticate(session=session, authorization=authorization,
                         x_org_id=request.headers.get("x-org-id") or str(path_org or ""), scope="sessions"),
            ip_address=request_address(request))
        principal.check_org(path_org)
        # Holding the phone links it (a scan) and unlinks it: the `connect` column, as the QR needs. A member's or
        # a super_admin's JWT is a credential of the organisation but may not drive its phone.
        if not permissions.can(principal.role, SIMULATOR_ACTION):
            refused = _refuse_action(session, principal, SIMULATOR_ACTION, request)
    if refused is not None:
        raise refused
    request.state.principal = principal
    return principal
