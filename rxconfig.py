"""Reflex configuration; the port and everything else come from fleet_dashboard.core.settings."""

import reflex as rx

from fleet_dashboard.core.settings import get_settings

_settings = get_settings()
# Reflex answers CORS (and checks websocket origins) before our API sees a request, so it gets the same
# list: ALLOWED_ORIGINS plus the dashboard's own local origins. Serve the dashboard under another host
# name and that origin belongs in ALLOWED_ORIGINS too.
_origins = [*_settings.origins, f"http://localhost:{_settings.port}", f"http://127.0.0.1:{_settings.port}"]

config = rx.Config(
    app_name="fleet_dashboard",
    frontend_port=_settings.port,
    backend_port=_settings.port,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=list(dict.fromkeys(_origins)),
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="teal", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # REDIS_URL is also Reflex's state manager: several web workers then share every tab's state and forward
    # each update to the worker holding that tab's socket (docs/ARCHITECTURE.md, "Production topology").
    redis_url=_settings.redis_url,
    # The client address of dashboard events (login limits, audit rows) honours the same proxy count as the API.
    trusted_proxy_hops=_settings.trusted_proxies,
)
