"""GET /api/health: the guide's answer plus database and engine checks, for load balancers and people."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])
DB_TIMEOUT_SECONDS = 3.0


def _database() -> str:
    from fleet_dashboard.core.db import get_engine

    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def _engine() -> dict:
    """The engine processes' heartbeats: the web process never hosts an engine, so it asks the database."""
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.core.settings import get_settings
    from fleet_dashboard.whatsapp import engines

    with session_scope() as session:
        alive = engines.alive(session=session, stale_seconds=get_settings().engine_stale_seconds)
    if not alive:
        return {"status": "not running", "processes": 0}
    return {"status": "ok", "processes": len(alive), "owned_sessions": sum(e["owned"] for e in alive),
            "connected_sessions": sum(e["connected"] for e in alive),
            "engines": [{k: e[k] for k in ("engine_id", "pid", "owned", "connected", "capacity", "heartbeat_at")}
                        for e in alive]}


@router.get("/api/health", summary="Liveness with database and engine checks (no auth)")
async def health() -> JSONResponse:
    checks: dict = {}
    healthy = True
    try:
        checks["database"] = await asyncio.wait_for(asyncio.to_thread(_database), DB_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to reach the database is what this check reports
        log.warning("health: database check failed: %s", exc)
        checks["database"] = "unreachable"
        healthy = False
    try:
        checks["engine"] = await asyncio.wait_for(asyncio.to_thread(_engine), DB_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("health: engine check failed: %s", exc)
        checks["engine"] = {"status": "error"}
    body = {"success": healthy, "status": "healthy" if healthy else "unhealthy",
            "timestamp": datetime.now(UTC).isoformat(), "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
