"""Connect (`/` and `/connect`): pair the organisation's WhatsApp by QR and watch its status live."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.status import ltr, session_chip, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.connect import ConnectState as S


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


def _reason_note(color: str = "amber") -> rx.Component:
    """Why the session is down or degraded, in Arabic; nothing when all is well."""
    return rx.cond(S.reason_text != "", rx.callout.root(rx.callout.icon(rx.icon("info")),
                                                        rx.callout.text(S.reason_text), color_scheme=color,
                                                        data_testid="session-reason"))


def _next_retry() -> rx.Component:
    return rx.cond(S.next_retry_at != "", _field(strings.NEXT_RETRY, when(S.next_retry_at), "session-next-retry"))


def _pair_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(strings.PAIR_BY_PHONE_HINT, size="2", color_scheme="gray"),
            rx.el.label(strings.PAIR_PHONE_LABEL, html_for="pair-phone", style={"fontWeight": "600"}),
            rx.input(id="pair-phone", name="phone", type="tel", auto_complete="tel", dir="ltr",
                     placeholder=strings.PAIR_PHONE_PLACEHOLDER, required=True, max_length=32, width="100%"),
            rx.button(rx.icon("smartphone", size=16), strings.PAIR_GET_CODE, type="submit", data_testid="pair-submit"),
            spacing="2", width="100%", align="start",
        ),
        on_submit=S.request_pair_code, reset_on_submit=False, width="100%", max_width="24rem",
    )


def _pair_option() -> rx.Component:
    """ "Link with a phone number instead", for an owner who reads this page on the phone itself."""
    return _manage_only(rx.vstack(
        rx.button(rx.icon("smartphone", size=16), strings.PAIR_BY_PHONE, variant="soft", on_click=S.toggle_pair_form,
                  data_testid="pair-by-phone"),
        rx.cond(S.show_pair_form, _pair_form()),
        spacing="2", width="100%", align="start",
    ))


def _simulate(label: str) -> rx.Component:
    """Simulator mode only: the simulated phone scans the QR (or types the code) at a click."""
    return rx.cond(S.simulator, _manage_only(rx.callout.root(
        rx.callout.icon(rx.icon("flask-conical")),
        rx.callout.text(rx.vstack(
            rx.text(strings.SIMULATOR_NOTE, size="2"),
            rx.button(rx.icon("scan-line", size=16), label, on_click=S.simulate_scan, data_testid="simulate-scan",
                      color_scheme="violet"),
            spacing="2", align="start",
        )),
        color_scheme="violet", size="1", data_testid="simulator-note",
    )))


def _pair_code_panel() -> rx.Component:
    return rx.vstack(
        rx.text(strings.PAIR_CODE_TITLE, " ", strings.PAIR_CODE_FOR, " ", ltr(S.pair_phone, weight="bold"),
                size="2"),
        rx.text(S.pair_code, dir="ltr", class_name="ltr", data_testid="pair-code", size="8", weight="bold",
                style={"fontFamily": "ui-monospace, monospace", "letterSpacing": "0.15em"}),
        rx.cond(
            S.pair_seconds_left > 0,
            rx.text(strings.PAIR_CODE_EXPIRES_IN, " ", rx.text.strong(S.pair_seconds_left,
                                                                     data_testid="pair-countdown"),
                    " ", strings.QR_SECONDS, size="2", color_scheme="gray"),
            rx.text(strings.PAIR_CODE_EXPIRED, size="2", color_scheme="gray"),
        ),
        rx.el.ol(*[rx.el.li(step) for step in strings.PAIR_STEPS], data_testid="pair-steps",
                 style={"paddingInlineStart": "1.25rem", "lineHeight": "1.9"}),
        _simulate(strings.SIMULATE_CODE),
        _manage_only(rx.hstack(rx.button(strings.PAIR_USE_QR, variant="soft", on_click=S.connect),
                               rx.button(strings.CANCEL, variant="soft", color_scheme="gray", on_click=S.disconnect),
                               spacing="3", wrap="wrap")),
        spacing="3", align="start", width="100%",
    )


def _connected() -> rx.Component:
    return rx.vstack(
        # Connected but degraded (keep-alives unanswered, every send failing): say so beside the status.
        _reason_note("orange"),
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
        _simulate(strings.SIMULATE_SCAN),
        _reason_note(),
        _pair_option(),
        spacing="3", align="start",
    ), rx.text(strings.QR_MANAGERS_ONLY, size="2", color_scheme="gray", data_testid="qr-hidden"))


def _error() -> rx.Component:
    return rx.vstack(
        rx.callout.root(rx.callout.icon(rx.icon("triangle-alert")),
                        rx.vstack(rx.text(rx.cond(S.reason_text != "", S.reason_text, strings.WHATSAPP_ERROR_GENERIC),
                                          size="2", data_testid="session-reason"),
                                  rx.text(strings.ERROR_REASON, ": ", rx.el.span(S.connection_error, dir="ltr"),
                                          size="1", data_testid="session-error"),
                                  spacing="1"),
                        color_scheme="red"),
        _field(strings.RETRY_COUNT, ltr(S.retry_count), "session-retries"),
        _next_retry(),
        _manage_only(rx.hstack(rx.button(rx.icon("rotate-ccw", size=16), strings.RETRY, on_click=S.retry,
                                         data_testid="retry"),
                               _disconnect_button(), spacing="3")),
        spacing="3", align="start",
    )


def _disconnected() -> rx.Component:
    return rx.vstack(
        # After a drop (reconnecting by itself) or a phone-side unlink: say why, in Arabic.
        _reason_note(),
        rx.text(strings.CONNECT_INTRO),
        _manage_only(rx.button(rx.icon("qr-code", size=16), strings.CONNECT_BUTTON, on_click=S.connect,
                               size="3", data_testid="connect")),
        _next_retry(),
        _pair_option(),
        spacing="3", align="start", width="100%",
    )


def _connecting() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.spinner(), rx.text(rx.cond(S.pair_requested, strings.PAIR_WAITING, strings.CONNECTING_TEXT),
                                        data_testid="connecting-text"), spacing="2", align="center"),
        _reason_note(),
        _manage_only(rx.button(strings.CANCEL, variant="soft", color_scheme="gray", on_click=S.disconnect)),
        spacing="3", align="start",
    )


@dashboard_page(route=routes.CONNECT, title=strings.CONNECT_TITLE, on_load=S.load)
def connect() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(strings.CONNECT_STATUS, weight="bold"),
                      session_chip(S.status, data_testid="session-status"), spacing="3", align="center"),
            rx.cond(S.engine_down, rx.callout.root(rx.callout.icon(rx.icon("triangle-alert")),
                                                   rx.callout.text(strings.ERRORS["engine_down"]),
                                                   color_scheme="red", data_testid="engine-down")),
            rx.match(
                S.status,
                ("connected", _connected()),
                ("qr_pending", rx.cond(S.pair_code != "", _pair_code_panel(), _qr())),
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
