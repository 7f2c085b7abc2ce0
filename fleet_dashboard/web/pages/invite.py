"""The invitation page (`/invite?token=...`): set your name and password and come in; the link works once."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import field_error, labelled
from fleet_dashboard.web.state.invite import InviteState as S


def _form() -> rx.Component:
    return rx.form(rx.vstack(
        rx.text(S.invite_intro, data_testid="invite-intro"),
        labelled(strings.INVITE_FULL_NAME, rx.input(id="invite-name", name="full_name", required=True,
                                                    auto_complete="name", width="100%"), "invite-name"),
        labelled(strings.INVITE_PASSWORD, rx.input(id="invite-password", name="password", type="password",
                                                   required=True, min_length=8, auto_complete="new-password",
                                                   dir="ltr", width="100%"), "invite-password"),
        labelled(strings.INVITE_PASSWORD_AGAIN, rx.input(id="invite-password-again", name="password_again",
                                                         type="password", required=True,
                                                         auto_complete="new-password", dir="ltr", width="100%"),
                 "invite-password-again"),
        field_error(S.accept_error, "accept-error"),
        rx.button(strings.INVITE_ACCEPT, type="submit", width="100%", data_testid="accept-invite"),
        spacing="3", width="100%",
    ), on_submit=S.accept, reset_on_submit=False)


@rx.page(route=routes.INVITE, title=f"{strings.INVITE_TITLE} · {strings.APP_NAME}", on_load=S.load)
def invite() -> rx.Component:
    return rx.center(
        rx.card(rx.vstack(
            rx.heading(strings.APP_NAME, as_="p", size="3", color_scheme="gray"),
            rx.heading(strings.INVITE_TITLE, size="5", as_="h1"),
            rx.cond(
                S.invite_link_error != "",
                rx.vstack(
                    rx.callout.root(rx.callout.text(S.invite_link_error), color_scheme="red", role="alert",
                                    data_testid="invite-link-error", width="100%"),
                    rx.link(strings.LINK_LOGIN_TO_FORM, href=routes.LOGIN),
                    width="100%"),
                rx.cond(S.invite_ready, _form(),
                        rx.hstack(rx.spinner(size="3"), rx.text(strings.INVITE_CHECKING), align="center")),
            ),
            spacing="3", width="100%",
        ), width="100%", max_width="26rem"),
        min_height="100vh", padding="1rem",
    )
