"""One module per page; importing this package registers every page."""

from fleet_dashboard.web.pages import (  # noqa: F401
    account,
    admin,
    audit,
    connect,
    conversation,
    history,
    home,
    invite,
    link_login,
    login,
    opt_outs,
    organizations,
    people,
    queue,
    send,
    sending,
    settings,
    templates,
)
