"""One module per page; importing this package registers every page."""

from fleet_dashboard.pages import login  # noqa: F401
