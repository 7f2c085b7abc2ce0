"""Assembles the web app: pages, the HTTP API and webhook delivery. It never loads the WhatsApp library:
the engine and its queue worker run in their own processes (`fleet-dashboard run` starts them)."""

import reflex as rx

from fleet_dashboard.api.app import create_api
from fleet_dashboard.api.upload_gate import UploadGate
from fleet_dashboard.deliverability.alerts import alerts_lifespan
from fleet_dashboard.integrations.delivery import webhooks_lifespan
from fleet_dashboard.stats.loop_lag import loop_lag_lifespan
from fleet_dashboard.stats.upkeep import housekeeping_lifespan
from fleet_dashboard.web import (
    pages,  # noqa: F401  (registers every page)
    reflex_internals,
)
from fleet_dashboard.web.access import AccessMiddleware, backend_exception_toast, frontend_exception_warning
from fleet_dashboard.web.components.direction import rtl_app_wrap
from fleet_dashboard.web.redis_watch import redis_watch_lifespan
from fleet_dashboard.web.state.auth import AuthState

app = rx.App(
    html_lang="ar",
    html_custom_attrs={"dir": "rtl"},
    # Radix Themes tells every part inside it "ltr" (tables, selects, menus, toggles); this says "rtl" inside it.
    extra_app_wraps=rtl_app_wrap(),
    # Toasts on the left: in a right-to-left page the forms and buttons sit on the right.
    toaster=rx.toast.provider(position="bottom-left", rich_colors=True, dir="rtl"),
    stylesheets=["/fleet.css"],  # self-hosted Cairo font and RTL helpers (assets/)
    head_components=[rx.el.meta(name="viewport", content="width=device-width, initial-scale=1")],
    # The API (Reflex mounts itself inside it), then the upload gate around everything: Reflex reads a whole
    # /_upload body before any handler or the chokepoint runs, so size and sign-in are checked first.
    api_transformer=[create_api(), UploadGate],
    # Whatever a browser reports is logged as a warning: a script can send any text as a "frontend error".
    frontend_exception_handler=frontend_exception_warning,
    # An event that fails on the server says so in Arabic; a dependency away for a moment is not an ERROR.
    backend_exception_handler=backend_exception_toast,
)

# The one authorization chokepoint: every event handler runs only after AccessMiddleware admits its caller
# (docs/SECURITY.md); a handler without a declaration is unreachable.
app.add_middleware(AccessMiddleware(AuthState))
reflex_internals.quiet_unknown_events()
app.register_lifespan_task(webhooks_lifespan)
# Counter rollup and retention purge; advisory locks keep each to one process at a time.
app.register_lifespan_task(housekeeping_lifespan)
# Each backend worker measures its own event loop's lag (loop_lag.py; /api/metrics, labelled by pid).
app.register_lifespan_task(loop_lag_lifespan)
# With REDIS_URL: when Redis answers again after an outage, the open tabs of this worker work again (redis_watch.py).
app.register_lifespan_task(redis_watch_lifespan)
# Alerts: WhatsApp sessions down too long, ended bans, and the e-mails of every incident (one process at a time).
app.register_lifespan_task(alerts_lifespan)
