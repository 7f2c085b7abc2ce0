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
    from fleet_dashboard.db import get_engine

    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def _engine() -> dict:
    """The in-process engine's view, or "not running" when another process (or none) runs it."""
    from fleet_dashboard.whatsapp import runtime

    # Peek, never create: creating an engine would load the gateway (neonize) just to answer a probe.
    engine = getattr(runtime, "_engine", None)
    if engine is None or not getattr(engine, "running", False):
        return {"status": "not running"}
    owned = engine.owned_org_ids()
    return {"status": "ok", "owned_sessions": len(owned),
            "connected_sessions": sum(1 for org_id in owned if engine.is_connected(org_id))}


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
        checks["engine"] = _engine()
    except Exception as exc:
        log.warning("health: engine check failed: %s", exc)
        checks["engine"] = {"status": "error"}
    body = {"success": healthy, "status": "healthy" if healthy else "unhealthy",
            "timestamp": datetime.now(UTC).isoformat(), "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
