"""The provisioning bridge (/api/admin): the fleet SaaS keeps our organisations and users under its own ids.

Every route is an idempotent "make it so"; see accounts/provisioning.py for the rules and docs/API.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, Field

from fleet_dashboard.accounts import links, orgs, provisioning
from fleet_dashboard.accounts.localtime import zone_name_of
from fleet_dashboard.accounts.models import Organization, User
from fleet_dashboard.api.admin_auth import AdminCaller
from fleet_dashboard.api.schemas import ERROR_RESPONSES, _Body
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.whatsapp import suspension

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=ERROR_RESPONSES)

OrgId = Annotated[uuid.UUID, Path(description="the SaaS's organisation id (UUID)")]
UserId = Annotated[uuid.UUID, Path(description="the SaaS's user id (UUID, the `sub` of the user's JWT)")]


class OrgPut(_Body):
    name: str = Field(min_length=1, max_length=200, examples=["شركة النقل السريع"])
    slug: str | None = Field(default=None, max_length=64, description="a-z, 0-9 and '-'; default: made from the "
                             "name on create, unchanged on update", examples=["fast-transport"])
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone for the dashboard's times "
                                 "(default DEFAULT_TIMEZONE); omitted = unchanged, \"\" = back to the default",
                                 examples=["Asia/Riyadh"])


class OrgView(BaseModel):
    id: str
    name: str
    slug: str


class OrgOut(BaseModel):
    success: bool = True
    organization: OrgView


class OrgDetail(OrgView):
    timezone: str
    suspended: bool
    suspended_at: datetime | None = None
    created_at: datetime | None = None


class OrgDetailOut(BaseModel):
    success: bool = True
    organization: OrgDetail


class SuspendIn(_Body):
    reason: str = Field(default="", max_length=500, description="kept in the audit log")


class UserPut(_Body):
    email: str = Field(min_length=3, max_length=320, examples=["driver.ops@fleet.local"])
    role: Literal["owner", "admin", "member"]
    full_name: str | None = Field(default=None, max_length=200, description="omitted = unchanged")


class UserView(BaseModel):
    id: str
    org_id: str
    email: str
    role: str
    full_name: str
    is_active: bool


class UserOut(BaseModel):
    success: bool = True
    user: UserView


class LoginLinkIn(_Body):
    next: str | None = Field(default=None, max_length=500, description="dashboard path to open, e.g. /history")


class BreakGlassIn(_Body):
    reason: str = Field(min_length=10, max_length=500, description="why; kept in the organisation's audit log "
                        "and e-mailed to its owners", examples=["the owner is locked out and asked by phone"])
    minutes: int = Field(default=30, ge=1, le=720, description="how long the session lasts (at most "
                         "BREAK_GLASS_MAX_MINUTES)")
    next: str | None = Field(default=None, max_length=500, description="dashboard path to open, e.g. /connect")


class BreakGlassOut(BaseModel):
    success: bool = True
    url: str = Field(description="open once, within expires_at; it signs the super_admin in as the user")
    expires_at: datetime
    session_expires_at: datetime = Field(description="the session ends by itself at the latest then")


class LoginLinkOut(BaseModel):
    success: bool = True
    url: str = Field(description="open once, within expires_at; it signs the user into the dashboard")
    expires_at: datetime


def _org_detail(org: Organization) -> OrgDetail:
    return OrgDetail(id=str(org.id), name=org.name, slug=org.slug, timezone=zone_name_of(org),
                     suspended=org.suspended_at is not None, suspended_at=org.suspended_at, created_at=org.created_at)


def _user_view(user: User) -> UserView:
    return UserView(id=str(user.id), org_id=str(user.org_id), email=user.email, role=user.role,
                    full_name=user.full_name, is_active=user.is_active)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.put("/organizations/{org_id}", response_model=OrgOut,
            summary="Create or update an organisation under the SaaS's id (idempotent)")
def put_organization(org_id: OrgId, body: OrgPut, actor: AdminCaller) -> OrgOut:
    with session_scope() as session:
        org, _ = provisioning.upsert_org(session=session, actor=actor, org_id=org_id, name=body.name,
                                         slug=body.slug, timezone=body.timezone)
        return OrgOut(organization=OrgView(id=str(org.id), name=org.name, slug=org.slug))


@router.get("/organizations/{org_id}", response_model=OrgDetailOut,
            summary="An organisation with its time zone and suspension")
def get_organization(org_id: OrgId, actor: AdminCaller) -> OrgDetailOut:
    with session_scope() as session:
        return OrgDetailOut(organization=_org_detail(orgs.get_org(session=session, org_id=org_id)))


@router.post("/organizations/{org_id}/suspend", response_model=OrgDetailOut,
             summary="Suspend: its session stops, its API calls get 403, its queue holds (idempotent)")
def suspend_organization(org_id: OrgId, actor: AdminCaller,
                         body: SuspendIn | None = Body(default=None)) -> OrgDetailOut:
    with session_scope() as session:
        org = suspension.suspend_org(session=session, actor=actor, org_id=org_id,
                                        reason=body.reason if body else "")
        return OrgDetailOut(organization=_org_detail(org))


@router.post("/organizations/{org_id}/resume", response_model=OrgDetailOut,
             summary="Resume: the session comes back and the held queue is sent (idempotent)")
def resume_organization(org_id: OrgId, actor: AdminCaller) -> OrgDetailOut:
    with session_scope() as session:
        return OrgDetailOut(organization=_org_detail(suspension.resume_org(session=session, actor=actor,
                                                                              org_id=org_id)))


@router.put("/organizations/{org_id}/users/{user_id}", response_model=UserOut,
            summary="Create or update a user of the organisation under the SaaS's id; no password needed")
def put_user(org_id: OrgId, user_id: UserId, body: UserPut, actor: AdminCaller) -> UserOut:
    with session_scope() as session:
        user, _ = provisioning.upsert_user(session=session, actor=actor, org_id=org_id, user_id=user_id,
                                           email=body.email, role=body.role, full_name=body.full_name)
        return UserOut(user=_user_view(user))


@router.delete("/organizations/{org_id}/users/{user_id}", response_model=UserOut,
               summary="Deactivate a user (idempotent): their JWTs, sessions and links stop working")
def delete_user(org_id: OrgId, user_id: UserId, actor: AdminCaller) -> UserOut:
    with session_scope() as session:
        user = provisioning.deprovision_user(session=session, actor=actor, org_id=org_id, user_id=user_id)
        return UserOut(user=_user_view(user))


@router.post("/users/{user_id}/login-link", response_model=LoginLinkOut,
             summary="A one-time link, valid a few minutes, that signs this user into the dashboard "
                     "(platform credentials only)")
def login_link(user_id: UserId, request: Request, actor: AdminCaller,
               body: LoginLinkIn | None = Body(default=None)) -> LoginLinkOut:
    with session_scope() as session:
        link, url = links.issue_login_link(session=session, actor=actor, user_id=user_id,
                                                 next_path=body.next if body else None,
                                                 base_url=_base_url(request))
        return LoginLinkOut(url=url, expires_at=link.expires_at)


@router.post("/users/{user_id}/break-glass", response_model=BreakGlassOut,
             summary="A super_admin acts as an organisation user: audited, shown to the organisation, time-limited")
def break_glass(user_id: UserId, body: BreakGlassIn, request: Request, actor: AdminCaller) -> BreakGlassOut:
    with session_scope() as session:
        notice = links.break_glass(session=session, actor=actor, user_id=user_id, reason=body.reason,
                                   minutes=body.minutes, next_path=body.next, base_url=_base_url(request))
    with session_scope() as session:  # after the commit: a failed e-mail must not undo the audited step
        links.email_break_glass(session=session, notice=notice)
    return BreakGlassOut(url=notice.url, expires_at=notice.link.expires_at,
                         session_expires_at=notice.session_expires_at)
