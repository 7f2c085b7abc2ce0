"""The one-time sign-in link's page (`/login/link?token=...`): signs in, or says why it cannot."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.state.link_login import LinkLoginState


@rx.page(route=routes.LOGIN_LINK, title=f"{strings.LINK_LOGIN_TITLE} · {strings.APP_NAME}",
         on_load=LinkLoginState.use_link)
def link_login() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.heading(strings.LINK_LOGIN_TITLE, size="5", as_="h1"),
                rx.cond(LinkLoginState.link_error != "",
                        rx.vstack(
                            rx.callout.root(rx.callout.text(LinkLoginState.link_error), color_scheme="red",
                                            role="alert", data_testid="link-error", width="100%"),
                            rx.link(strings.LINK_LOGIN_TO_FORM, href=routes.LOGIN),
                            width="100%"),
                        rx.hstack(rx.spinner(size="3"), rx.text(strings.LINK_LOGIN_WAIT), align="center")),
                spacing="3", width="100%",
            ),
            width="100%", max_width="24rem",
        ),
        min_height="100vh", padding="1rem",
    )
