"""GET /api/health: the guide's answer plus database and engine checks, for load balancers and people."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import lru_cache

import redis
from fastapi import APIRouter
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


@router.get("/api/health", summary="Liveness with database, Redis and engine checks (no auth)")
async def health() -> JSONResponse:
    """200 `healthy`; 200 `degraded` while Redis is away (this worker still serves the API, so a load balancer
    keeps it); 503 `unhealthy` without the database."""
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
    body = {"success": healthy, "status": status, "timestamp": datetime.now(UTC).isoformat(), "checks": checks}
    if degraded:
        body["degraded"] = degraded
    return JSONResponse(body, status_code=200 if healthy else 503)
