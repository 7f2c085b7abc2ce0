"""One module per page; importing this package registers every page."""

from fleet_dashboard.pages import admin, audit, connect, history, login, queue, send, settings, templates  # noqa: F401
