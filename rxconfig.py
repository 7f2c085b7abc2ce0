"""Reflex configuration; the port and everything else come from fleet_dashboard.settings."""

import reflex as rx

from fleet_dashboard.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="fleet_dashboard",
    frontend_port=_settings.port,
    backend_port=_settings.port,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
