"""Connect (`/` and `/connect`): pair the organisation's WhatsApp by QR and watch its status live."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import routes, strings
from fleet_dashboard.components.status import ltr, session_chip, when
from fleet_dashboard.pages.template import dashboard_page
from fleet_dashboard.state.connect import ConnectState as S


def _manage_only(component: rx.Component) -> rx.Component:
    return rx.cond(S.can_manage, component)


def _field(label: str, value: rx.Component, test_id: str) -> rx.Component:
    return rx.hstack(rx.text(label, color_scheme="gray", min_width="7rem"), value, data_testid=test_id,
                     spacing="3", align="center", wrap="wrap")


def _disconnect_button() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(rx.icon("unplug", size=16), strings.DISCONNECT, color_scheme="red",
                                          variant="soft", data_testid="disconnect")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(strings.DISCONNECT_CONFIRM_TITLE),
            rx.alert_dialog.description(strings.DISCONNECT_CONFIRM_BODY),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(strings.CANCEL, variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(strings.DISCONNECT_CONFIRM, color_scheme="red",
                                                 on_click=S.disconnect, data_testid="disconnect-confirm")),
                spacing="3", justify="end", margin_top="1rem",
            ),
            max_width="28rem",
        ),
    )


def _connected() -> rx.Component:
    return rx.vstack(
        _field(strings.PHONE, ltr(S.phone, weight="bold"), "session-phone"),
        _field(strings.DISPLAY_NAME, rx.text(S.display_name), "session-name"),
        _field(strings.LAST_CONNECTED, when(S.last_connected_at), "session-last-connected"),
        _manage_only(_disconnect_button()),
        spacing="3",
    )


def _qr() -> rx.Component:
    # Scanning the QR links a phone as the organisation's WhatsApp: it is shown only to the `connect` column.
    return rx.cond(S.may["connect"].to(bool), rx.vstack(
        rx.text(strings.QR_INSTRUCTIONS),
        rx.box(rx.image(src=S.qr_src, alt=strings.QR_ALT, width="264px", height="264px",
                        data_testid="qr-image", data_version=S.qr_version),
               class_name="qr-box", padding="0.75rem", background="white", border_radius="var(--radius-3)"),
        rx.cond(
            S.qr_seconds_left > 0,
            rx.text(strings.QR_EXPIRES_IN, " ", rx.text.strong(S.qr_seconds_left, data_testid="qr-countdown"),
                    " ", strings.QR_SECONDS, size="2", color_scheme="gray"),
            rx.text(strings.QR_EXPIRED, size="2", color_scheme="gray"),
        ),
        _manage_only(rx.button(strings.CANCEL, variant="soft", color_scheme="gray", on_click=S.disconnect)),
        spacing="3", align="start",
    ), rx.text(strings.QR_MANAGERS_ONLY, size="2", color_scheme="gray", data_testid="qr-hidden"))


def _error() -> rx.Component:
    return rx.vstack(
        rx.callout.root(rx.callout.icon(rx.icon("triangle-alert")),
                        rx.vstack(rx.text(rx.cond(S.reason_text != "", S.reason_text, strings.SESSION_ERROR_GENERIC),
                                          size="2", data_testid="session-reason"),
                                  rx.text(strings.ERROR_REASON, ": ", rx.el.span(S.connection_error, dir="ltr"),
                                          size="1", data_testid="session-error"),
                                  spacing="1"),
                        color_scheme="red"),
        _field(strings.RETRY_COUNT, ltr(S.retry_count), "session-retries"),
        _manage_only(rx.hstack(rx.button(rx.icon("rotate-ccw", size=16), strings.RETRY, on_click=S.retry,
                                         data_testid="retry"),
                               _disconnect_button(), spacing="3")),
        spacing="3", align="start",
    )


def _disconnected() -> rx.Component:
    return rx.vstack(
        # After a drop (reconnecting by itself) or a phone-side unlink: say why, in Arabic.
        rx.cond(S.reason_text != "", rx.callout.root(rx.callout.icon(rx.icon("info")),
                                                     rx.callout.text(S.reason_text), color_scheme="amber",
                                                     data_testid="session-reason")),
        rx.text(strings.CONNECT_INTRO),
        _manage_only(rx.button(rx.icon("qr-code", size=16), strings.CONNECT_BUTTON, on_click=S.connect,
                               size="3", data_testid="connect")),
        spacing="3", align="start",
    )


def _connecting() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.spinner(), rx.text(strings.CONNECTING_TEXT), spacing="2", align="center"),
        _manage_only(rx.button(strings.CANCEL, variant="soft", color_scheme="gray", on_click=S.disconnect)),
        spacing="3", align="start",
    )


@dashboard_page(route=(routes.HOME, routes.CONNECT), title=strings.CONNECT_TITLE, on_load=S.load)
def connect() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(strings.CONNECT_STATUS, weight="bold"),
                      session_chip(S.status, data_testid="session-status"), spacing="3", align="center"),
            rx.match(
                S.status,
                ("connected", _connected()),
                ("qr_pending", _qr()),
                ("connecting", _connecting()),
                ("error", _error()),
                _disconnected(),
            ),
            rx.cond(~S.can_manage, rx.text(strings.NOT_MANAGER, size="2", color_scheme="gray",
                                           data_testid="not-manager")),
            spacing="4", width="100%",
        ),
        max_width="40rem", width="100%",
    )
