"""Sending (`/sending`, "الإرسال"): the rules that protect the number, its health today, and a pause to resume."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.deliverability.models import WEEKDAYS
from fleet_dashboard.web.components.forms import field_error, labelled
from fleet_dashboard.web.components.guards import pause_notice, risk_card
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.sending import SendingState as S


def _resume_button() -> rx.Component:
    return rx.cond(S.may["sending"].to(bool), rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(rx.icon("play", size=16), strings.RESUME, color_scheme="red",
                                          data_testid="resume-sending")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(strings.RESUME),
            rx.alert_dialog.description(strings.RESUME_CONFIRM),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(strings.CANCEL, variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(strings.RESUME, color_scheme="red", on_click=S.resume,
                                                 data_testid="confirm-resume-sending")),
                spacing="3", justify="end", margin_top="1rem",
            ),
            max_width="28rem",
        ),
    ))


def _day(name: str) -> rx.Component:
    return rx.checkbox(strings.WEEKDAY_NAMES[name], name="day_" + name, default_checked=S.days_off.contains(name),
                       data_testid="day-" + name)


def _rules_form() -> rx.Component:
    editable = S.may["sending"].to(bool)
    return rx.card(rx.form(
        rx.el.fieldset(rx.vstack(
            rx.heading(strings.RULES_TITLE, size="4", as_="h2"),
            rx.text(strings.RULES_HINT, size="2", color_scheme="gray"),
            rx.cond(~editable, rx.text(strings.RULES_READ_ONLY, size="2", color_scheme="amber",
                                       data_testid="rules-read-only")),
            rx.checkbox(strings.TYPING_LABEL, name="typing", default_checked=S.typing, data_testid="rule-typing"),
            rx.heading(strings.QUIET_TITLE, size="3", as_="h3"),
            rx.flex(
                labelled(strings.QUIET_START, rx.input(id="quiet-start", name="quiet_start", type="time",
                                                       default_value=S.quiet_start, dir="ltr", width="9rem"),
                         "quiet-start"),
                labelled(strings.QUIET_END, rx.input(id="quiet-end", name="quiet_end", type="time",
                                                     default_value=S.quiet_end, dir="ltr", width="9rem"),
                         "quiet-end"),
                gap="1rem", wrap="wrap",
            ),
            rx.text(strings.QUIET_HINT, size="1", color_scheme="gray"),
            rx.text(strings.DAYS_OFF, weight="bold", size="2"),
            rx.flex(*(_day(d) for d in WEEKDAYS), gap="1rem", wrap="wrap"),
            labelled(strings.DAILY_CAP, rx.input(id="daily-cap", name="daily_cap", type="number",
                                                 default_value=S.daily_cap, dir="ltr", width="9rem"),
                     "daily-cap", hint=strings.DAILY_CAP_HINT),
            rx.checkbox(strings.WARMUP_LABEL, name="warmup", default_checked=S.warmup, data_testid="rule-warmup"),
            field_error(S.rules_error, "rules-error"),
            rx.cond(editable, rx.button(strings.SAVE, type="submit", data_testid="save-rules")),
            spacing="3", width="100%",
        ), disabled=~editable, style={"border": "none", "padding": "0", "margin": "0"}),
        key=S.form_key, on_submit=S.save_rules, reset_on_submit=False,
    ), width="100%", data_testid="rules-card")


def _why() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(strings.WHY_WAIT_TITLE, size="3", as_="h2"),
        rx.text(strings.WHY_WAIT_BODY, size="2"),
        rx.link(strings.NAV_QUEUE, href=routes.QUEUE, size="2"),
        spacing="2",
    ), width="100%")


@dashboard_page(route=routes.SENDING, title=strings.SENDING_TITLE, on_load=S.load)
def sending_page() -> rx.Component:
    return rx.vstack(
        pause_notice(S, resume=_resume_button()),
        risk_card(S, with_pause=False),
        _rules_form(),
        _why(),
        width="100%", spacing="4", data_testid="sending-page",
    )
