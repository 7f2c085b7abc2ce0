"""One module per page; importing this package registers every page."""

from fleet_dashboard.pages import connect, history, login, send  # noqa: F401
