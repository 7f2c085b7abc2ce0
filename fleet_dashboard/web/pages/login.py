"""The sign-in page (`/login`): email and password, and the OIDC button when OIDC is configured."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.state.auth import AuthState
from fleet_dashboard.web.state.oidc import OidcState


@rx.page(route=routes.LOGIN, title=f"{strings.LOGIN_TITLE} · {strings.APP_NAME}", on_load=AuthState.login_page_load)
def login() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading(strings.APP_NAME, size="7", as_="h1"),
                    rx.text(strings.LOGIN_HINT, color_scheme="gray", size="2"),
                    rx.heading(strings.LOGIN_TITLE, size="4", as_="h2"),
                    rx.cond(AuthState.login_note != "",
                            rx.callout.root(rx.callout.icon(rx.icon("info")), rx.callout.text(AuthState.login_note),
                                            color_scheme="blue", role="status", data_testid="login-note",
                                            width="100%")),
                    rx.cond(AuthState.login_error != "",
                            rx.callout.root(rx.callout.text(AuthState.login_error), color_scheme="red",
                                            role="alert", data_testid="login-error", width="100%")),
                    rx.el.label(strings.LOGIN_EMAIL, html_for="login-email"),
                    rx.input(id="login-email", name="email", type="email", required=True, auto_complete="username",
                             dir="ltr", width="100%", size="3"),
                    rx.el.label(strings.LOGIN_PASSWORD, html_for="login-password"),
                    rx.input(id="login-password", name="password", type="password", required=True,
                             auto_complete="current-password", dir="ltr", width="100%", size="3"),
                    rx.button(strings.LOGIN_SUBMIT, type="submit", width="100%", size="3", loading=AuthState.login_busy,
                              data_testid="login-submit"),
                    rx.cond(AuthState.oidc_enabled,
                            rx.button(strings.LOGIN_OIDC, type="button", variant="outline", width="100%",
                                      on_click=OidcState.begin, data_testid="login-oidc")),
                    spacing="3", width="100%",
                ),
                on_submit=AuthState.login,
                reset_on_submit=False,
            ),
            width="100%", max_width="24rem",
        ),
        min_height="100vh", padding="1rem",
    )


@rx.page(route=routes.OIDC_CALLBACK, title=f"{strings.LOGIN_TITLE} · {strings.APP_NAME}", on_load=OidcState.finish)
def oidc_callback() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.cond(OidcState.oidc_error != "",
                    rx.vstack(rx.text(OidcState.oidc_error, role="alert"),
                              rx.link(strings.LOGIN_TITLE, href=routes.LOGIN)),
                    rx.spinner(size="3")),
            align="center",
        ),
        min_height="100vh",
    )
