"""The sign-in page."""

import reflex as rx

from fleet_dashboard import strings


@rx.page(route="/login", title=f"{strings.LOGIN_TITLE} · {strings.APP_NAME}")
def login() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.heading(strings.APP_NAME, size="7"),
                rx.text(strings.LOGIN_TITLE),
                rx.input(placeholder=strings.LOGIN_EMAIL, name="email", type="email"),
                rx.input(placeholder=strings.LOGIN_PASSWORD, name="password", type="password"),
                rx.button(strings.LOGIN_SUBMIT, width="100%"),
                spacing="3",
            ),
            width="24rem",
        ),
        min_height="100vh",
    )
