"""One module per page; importing this package registers every page."""

from fleet_dashboard.pages import (  # noqa: F401
    admin,
    audit,
    connect,
    conversation,
    history,
    home,
    link_login,
    login,
    opt_outs,
    queue,
    send,
    settings,
    templates,
)
