"""The FastAPI app Reflex mounts itself inside; routes under /api win over the dashboard."""

from __future__ import annotations

from fastapi import FastAPI


def create_api() -> FastAPI:
    """Build the API app with every router and middleware."""
    api = FastAPI(title="Fleet Dashboard API", openapi_url="/api/openapi.json", docs_url="/api/docs",
                  redoc_url=None)

    @api.get("/api/health")
    async def health() -> dict:
        return {"success": True, "status": "healthy"}

    return api
