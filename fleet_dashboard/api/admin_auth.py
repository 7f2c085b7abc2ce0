"""Who may call /api/admin: the SaaS's service-role JWT, a super_admin's JWT, or a platform API key.

Admin routes act on any organisation, so they take no X-Org-Id. 401: no or bad credential; 403: a valid
credential that is not a platform one (an organisation's key, a member's or owner's JWT).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session

from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.api.auth import BEARER_DOC, _bearer, _unauthorized, verify_jwt
from fleet_dashboard.api.errors import ApiError
from fleet_dashboard.api.limits import request_address
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.integrations import api_keys


def _forbidden() -> ApiError:
    return ApiError("admin routes need the service-role JWT, a super_admin's JWT or a platform API key",
                    status=403, code="forbidden")


def _from_key(session: Session, credential: str, ip: str | None) -> Actor:
    key = api_keys.authenticate_key(session=session, key=credential)
    if key is None:
        raise _unauthorized("invalid or revoked API key")
    if key.org_id is not None or api_keys.ADMIN_SCOPE not in (key.scopes or []):
        raise _forbidden()
    return permissions.platform(f"api_key:{key.prefix}", ip_address=ip)


def _from_jwt(session: Session, credential: str, ip: str | None) -> Actor:
    user = verify_jwt(session, credential, provision=False)
    if user is None:  # the service-role token
        return permissions.platform("service_role", ip_address=ip)
    if not permissions.can(user.role, Action.organizations):
        raise _forbidden()
    return Actor(user_id=user.id, role=user.role, org_id=None, ip_address=ip, via="provisioning")


def authenticate_admin(*, session: Session, authorization: str | None, ip: str | None = None) -> Actor:
    """The platform actor behind this Authorization header, or ApiError 401/403."""
    credential = _bearer(authorization)
    if api_keys.looks_like_key(credential):
        return _from_key(session, credential, ip)
    if credential.count(".") != 2:
        raise _unauthorized("credential is neither an API key nor a JWT")
    return _from_jwt(session, credential, ip)


def require_admin(request: Request, _bearer_doc: Annotated[Any, Depends(BEARER_DOC)]) -> Actor:
    """Dependency: the platform actor for an /api/admin route."""
    with session_scope() as session:
        actor = authenticate_admin(session=session, authorization=request.headers.get("authorization"),
                                   ip=request_address(request))
    request.state.admin_actor = actor
    return actor


# What tests/security reads: every /api/admin route is the matrix's `organizations` column.
require_admin.scope, require_admin.action = "admin", Action.organizations

AdminCaller = Annotated[Actor, Depends(require_admin)]
