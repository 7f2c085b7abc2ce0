"""My account (`/account`, everyone signed in): change the password, sign out of every device."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import form_card, labelled
from fleet_dashboard.web.components.status import ltr
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.account import AccountState as S


def _password_input(label: str, name: str, field_id: str, auto: str) -> rx.Component:
    return labelled(label, rx.input(id=field_id, name=name, type="password", required=True, dir="ltr",
                                    auto_complete=auto, width="100%"), field_id)


@dashboard_page(route=routes.ACCOUNT, title=strings.ACCOUNT_TITLE, on_load=S.load)
def account() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text(strings.LOGIN_EMAIL, weight="bold"), ltr(S.account_email, data_testid="account-email"),
                  spacing="2", wrap="wrap"),
        form_card(
            strings.ACCOUNT_PASSWORD_TITLE,
            rx.text(strings.ACCOUNT_PASSWORD_HELP, size="2", color_scheme="gray"),
            _password_input(strings.ACCOUNT_CURRENT_PASSWORD, "current_password", "current-password",
                            "current-password"),
            _password_input(strings.ACCOUNT_NEW_PASSWORD, "new_password", "new-password", "new-password"),
            _password_input(strings.ACCOUNT_NEW_PASSWORD_AGAIN, "new_password_again", "new-password-again",
                            "new-password"),
            error=S.password_error, error_id="password-error", submit=strings.ACCOUNT_CHANGE_PASSWORD,
            submit_id="change-password", on_submit=S.change_password, max_width="28rem",
        ),
        rx.card(rx.vstack(
            rx.heading(strings.ACCOUNT_SIGNINS_TITLE, as_="h2", size="4"),
            rx.text(strings.ACCOUNT_SIGNINS_HELP, size="2", color_scheme="gray"),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(rx.button(rx.icon("log-out", size=16), strings.ACCOUNT_SIGN_OUT_EVERYWHERE,
                                                  color_scheme="red", variant="soft",
                                                  data_testid="sign-out-everywhere")),
                rx.alert_dialog.content(
                    rx.alert_dialog.title(strings.ACCOUNT_SIGN_OUT_CONFIRM),
                    rx.hstack(
                        rx.alert_dialog.cancel(rx.button(strings.CANCEL, variant="soft", color_scheme="gray")),
                        rx.alert_dialog.action(rx.button(strings.ACCOUNT_SIGN_OUT_EVERYWHERE, color_scheme="red",
                                                         on_click=S.sign_out_everywhere,
                                                         data_testid="confirm-sign-out-everywhere")),
                        spacing="3", justify="end", margin_top="1rem", wrap="wrap",
                    ),
                    max_width="28rem",
                ),
            ),
            spacing="2", width="100%",
        ), width="100%"),
        width="100%", spacing="4",
    )
