"""One module per page; importing this package registers every page."""

from fleet_dashboard.pages import (  # noqa: F401
    account,
    admin,
    audit,
    connect,
    history,
    invite,
    link_login,
    login,
    organizations,
    people,
    queue,
    send,
    settings,
    templates,
)
