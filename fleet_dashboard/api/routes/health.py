"""GET /api/health: up or down for load balancers; the database, Redis and engine checks for operators."""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import UTC, datetime
from functools import lru_cache

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from fleet_dashboard.core.db import get_engine, session_scope
from fleet_dashboard.core.ratelimit import REDIS_TIMEOUT_SECONDS
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.whatsapp import engines

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])
DB_TIMEOUT_SECONDS = 3.0


def _database() -> str:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def _engine() -> dict:
    """The engine processes' heartbeats: the web process never hosts an engine, so it asks the database."""
    with session_scope() as session:
        alive = engines.alive(session=session, stale_seconds=get_settings().engine_stale_seconds)
    if not alive:
        return {"status": "not running", "processes": 0}
    return {"status": "ok", "processes": len(alive), "owned_sessions": sum(e["owned"] for e in alive),
            "connected_sessions": sum(e["connected"] for e in alive),
            "engines": [{k: e[k] for k in ("engine_id", "pid", "owned", "connected", "capacity", "heartbeat_at")}
                        for e in alive]}


@lru_cache
def _redis_client(url: str):
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)


def _redis(url: str) -> str:
    _redis_client(url).ping()
    return "ok"


# What a web worker does while Redis is away (docs/ARCHITECTURE.md, "Failure modes").
REDIS_DEGRADED = ("Redis is unreachable: open dashboard tabs pause until it answers (they resume by themselves); "
                  "the API keeps serving; rate limits are counted by each web worker alone")


def _operator(authorization: str | None) -> bool:
    """Whether the caller may read the checks' detail: `Bearer <METRICS_TOKEN>`, or a super_admin's JWT."""
    from fleet_dashboard.accounts.models import Role
    from fleet_dashboard.api.auth import verify_jwt
    from fleet_dashboard.api.errors import ApiError

    scheme, _, credential = (authorization or "").strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return False
    token = get_settings().metrics_token
    if token and hmac.compare_digest(credential.encode(), token.encode()):
        return True
    if credential.count(".") != 2:
        return False
    try:
        with session_scope() as session:
            user = verify_jwt(session, credential, provision=False)
    except ApiError:
        return False
    return user is not None and user.role == Role.super_admin.value


@router.get("/api/health", summary="Up or down for anyone; the checks' detail with the metrics token or a "
                                   "super_admin's JWT")
async def health(request: Request) -> JSONResponse:
    """200 `healthy`; 200 `degraded` while Redis is away (this worker still serves the API, so a load balancer
    keeps it); 503 `unhealthy` without the database. Anonymous callers get only that: engine ids, process ids
    and session counts describe the fleet to whoever asks, so the detail needs an operator's credential."""
    checks: dict = {}
    healthy, degraded = True, []
    try:
        checks["database"] = await asyncio.wait_for(asyncio.to_thread(_database), DB_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to reach the database is what this check reports
        log.warning("health: database check failed: %s", exc)
        checks["database"] = "unreachable"
        healthy = False
    if redis_url := get_settings().redis_url:
        try:
            checks["redis"] = await asyncio.wait_for(asyncio.to_thread(_redis, redis_url), DB_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("health: redis check failed: %s", exc)
            checks["redis"] = "unreachable"
            degraded.append({"check": "redis", "detail": REDIS_DEGRADED})
    try:
        checks["engine"] = await asyncio.wait_for(asyncio.to_thread(_engine), DB_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("health: engine check failed: %s", exc)
        checks["engine"] = {"status": "error"}
    status = "unhealthy" if not healthy else "degraded" if degraded else "healthy"
    if not await asyncio.to_thread(_operator, request.headers.get("authorization")):
        return JSONResponse({"success": healthy, "status": status}, status_code=200 if healthy else 503)
    body = {"success": healthy, "status": status, "timestamp": datetime.now(UTC).isoformat(), "checks": checks}
    if degraded:
        body["degraded"] = degraded
    return JSONResponse(body, status_code=200 if healthy else 503)
