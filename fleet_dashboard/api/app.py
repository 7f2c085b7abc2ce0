"""The FastAPI app Reflex mounts itself inside; routes under /api win over the dashboard."""

from __future__ import annotations

import hmac
import importlib
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.routing import Match

from fleet_dashboard.api.errors import error_response, install_error_handlers
from fleet_dashboard.api.limits import RateLimits
from fleet_dashboard.api.middleware import install_middleware
from fleet_dashboard.api.routes import admin, downloads, health, messages, notifications, opt_outs, sending, sessions
from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.messaging import media
from fleet_dashboard.stats import metrics

log = logging.getLogger(__name__)

DESCRIPTION = """The Fleet Dashboard HTTP API: WhatsApp sessions, messages and the notification queue.

Every route but `/api/health` needs `Authorization: Bearer <API key or JWT>` and `X-Org-Id: <org uuid>`;
the provisioning routes under `/api/admin` take a platform credential and no X-Org-Id.
Errors answer `{"success": false, "error": "...", "code": "..."}`. See docs/API.md."""


def _include_simulator_routes(api: FastAPI) -> None:
    # The simulator's control routes exist only in simulator mode; that module decides.
    try:
        simulator = importlib.import_module("fleet_dashboard.api.routes.simulator")
    except ModuleNotFoundError as exc:
        if exc.name != "fleet_dashboard.api.routes.simulator":
            raise
        return
    simulator.include_simulator_routes(api)


# The routes that take a document or an image (messaging/media.py) in their body.
FILE_ROUTES = frozenset({"/api/messages/send", "/api/messages/send-template", "/api/notifications"})


def create_api() -> FastAPI:
    """Build the API app with every router and middleware."""
    settings = get_settings()
    if settings.docs_open:  # API_DOCS; off in production unless asked for
        api = FastAPIOffline(
            title="Fleet Dashboard API", version="1", description=DESCRIPTION,
            openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None,
            static_url="/api/docs/static", swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect")
    else:
        api = FastAPI(title="Fleet Dashboard API", version="1", openapi_url=None, docs_url=None, redoc_url=None)
    api.state.rate_limits = RateLimits(sessions=settings.rate_limit_sessions, send=settings.rate_limit_send,
                                       enqueue=settings.rate_limit_enqueue)
    install_error_handlers(api)
    install_middleware(api, origins=settings.origins, max_body_bytes=settings.max_body_bytes,
                       file_paths=FILE_ROUTES, file_body_bytes=media.request_body_limit())
    for module in (health, sessions, messages, notifications, opt_outs, sending, admin, downloads):
        api.include_router(module.router)
    _include_simulator_routes(api)
    _add_metrics_route(api)
    _add_api_not_found(api)
    return api


def _metrics_authorized(authorization: str | None, token: str | None) -> bool:
    """No METRICS_TOKEN: open (development and test only). Else `Bearer <token>`, compared in constant time."""
    if not token:
        return True
    scheme, _, credential = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode())


def _add_metrics_route(api: FastAPI) -> None:
    """GET /api/metrics: Prometheus exposition (fleet_dashboard/stats/metrics.py); kept out of the OpenAPI schema."""

    @api.get("/api/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        settings = get_settings()
        # In production an unset token closes the endpoint: behind a reverse proxy on the same host every
        # request comes from loopback, so "local callers only" would be open to the world.
        if settings.environment == "production" and not settings.metrics_token:
            return error_response(403, "metrics are off in production until METRICS_TOKEN is set",
                                  "metrics_disabled")
        if not _metrics_authorized(request.headers.get("authorization"), settings.metrics_token):
            return error_response(401, "missing or wrong metrics token: send Authorization: Bearer <METRICS_TOKEN>",
                                  "unauthorized", headers={"WWW-Authenticate": "Bearer"})
        try:
            body, content_type = await metrics.scrape(request.headers.get("accept"))
        except metrics.DatabaseUnavailable as exc:
            log.warning("metrics: database unavailable: %s", exc)
            return error_response(503, "the database is unavailable; try again shortly", "database_unavailable",
                                  headers={"Retry-After": "5"})
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def _add_api_not_found(api: FastAPI) -> None:
    """Unknown /api paths answer JSON here instead of falling through to the dashboard's HTML 404."""

    @api.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def api_not_found(request: Request, rest: str) -> JSONResponse:
        # Reached also when a real route matched the path but not the method: that is a 405.
        scope = {"type": "http", "path": request.url.path, "method": request.method,
                 "root_path": request.scope.get("root_path", "")}
        for route in api.router.routes:
            matches = getattr(route, "matches", None)
            if route is not catch_all and matches and matches(scope)[0] == Match.PARTIAL:
                return error_response(405, "method not allowed", "method_not_allowed")
        return error_response(404, f"no API route {request.url.path}", "not_found")

    catch_all = api.router.routes[-1]
