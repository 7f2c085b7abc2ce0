"""Assembles the app: pages, the HTTP API, and the engine and worker as lifespan tasks."""

import reflex as rx

from fleet_dashboard import pages  # noqa: F401  (registers every page)
from fleet_dashboard.api.app import create_api

app = rx.App(
    html_lang="ar",
    html_custom_attrs={"dir": "rtl"},
    theme=rx.theme(accent_color="teal", radius="medium"),
    stylesheets=["/fleet.css"],  # self-hosted Cairo font and RTL helpers (assets/)
    head_components=[rx.el.meta(name="viewport", content="width=device-width, initial-scale=1")],
    api_transformer=create_api(),
)
