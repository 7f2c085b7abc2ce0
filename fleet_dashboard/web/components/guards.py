"""The number's health card and the pause notice, shared by the home and the sending page (web/state/number.py)."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.status import ltr
from fleet_dashboard.web.state.alerts import AlertState

RISK_COLORS = {"green": "green", "amber": "amber", "red": "red"}


def risk_chip(risk: rx.Var, **props) -> rx.Component:
    """The risk level in Arabic and its colour."""
    return rx.badge(rx.match(risk, *strings.RISK_NAMES.items(), risk), color_scheme=rx.match(
        risk, *RISK_COLORS.items(), "gray"), variant="soft", size="2", radius="full", data_risk=risk, **props)


def _reasons(state) -> rx.Component:
    return rx.cond(
        state.risk_reasons.length() > 0,
        rx.vstack(rx.foreach(state.risk_reasons, lambda r: rx.hstack(
            rx.icon("circle-alert", size=14, color=rx.cond(r["level"] == "red", "var(--red-9)", "var(--amber-9)")),
            rx.text(r["text"], size="2"), spacing="2", align="center", data_testid="risk-reason",
            data_code=r["code"])), spacing="1"),
        rx.text(strings.RISK_NO_REASONS, size="2", color_scheme="gray"),
    )


def allowance_line(state) -> rx.Component:
    """Today's sends out of today's allowance (the warm-up or the cap), and the urgent reserve."""
    return rx.vstack(
        rx.text(strings.TODAY_ALLOWANCE, size="2", color_scheme="gray"),
        rx.hstack(rx.text(ltr(state.today_sent), " / ", ltr(state.today_allowance), size="6", weight="bold",
                          data_testid="today-allowance"),
                  rx.text(strings.URGENT_RESERVE_SHORT, " ", ltr(state.urgent_reserve), size="1",
                          color_scheme="gray"),
                  spacing="3", align="end", wrap="wrap"),
        rx.progress(value=rx.cond(state.today_allowance > 0,
                                  (state.today_sent * 100 / state.today_allowance).to(int), 0),
                    max=100, width="100%"),
        spacing="1", width="100%",
    )


def pause_notice(state, resume=None) -> rx.Component:
    """Why sending stopped, until when, and (for owners and admins) the resume button."""
    return rx.cond(state.paused, rx.callout.root(
        rx.callout.icon(rx.icon("octagon-pause")),
        rx.callout.text(rx.vstack(
            rx.text(strings.PAUSED_TITLE, weight="bold"),
            rx.text(state.pause_text, data_testid="pause-text"),
            rx.cond(state.pause_until != "",
                    rx.text(strings.PAUSED_UNTIL_PREFIX, " ", ltr(state.pause_until), size="2")),
            resume if resume is not None else rx.fragment(),
            spacing="2",
        )),
        color_scheme="red", width="100%", data_testid="pause-notice",
    ))


def risk_card(state, *, title_as: str = "h2", with_pause: bool = True) -> rx.Component:
    """The number's risk level with its reasons, today's allowance, the window and (unless shown apart) a pause."""
    return rx.card(rx.vstack(
        rx.hstack(rx.heading(strings.RISK_TITLE, size="4", as_=title_as), risk_chip(state.risk,
                                                                                   data_testid="risk-level"),
                  spacing="3", align="center", wrap="wrap"),
        _reasons(state),
        allowance_line(state),
        rx.cond(state.quiet_text != "", rx.text(state.quiet_text, size="2", color_scheme="blue",
                                                data_testid="quiet-now")),
        pause_notice(state) if with_pause else rx.fragment(),
        spacing="3", width="100%",
    ), width="100%", data_testid="risk-card")


def alert_banner() -> rx.Component:
    """The organisation's open alerts on every page, live: what happened, since when, where to act."""
    return rx.box(
        rx.foreach(AlertState.alerts, lambda a: rx.callout.root(
            rx.callout.icon(rx.icon("siren")),
            rx.callout.text(rx.vstack(
                rx.text(a["text"], weight="bold", data_testid="alert-text"),
                rx.hstack(rx.text(strings.ALERT_SINCE, " ", ltr(a["since"]), size="1"),
                          rx.text(strings.ALERT_BANNER_HINT, size="1"),
                          rx.link(strings.ALERT_OPEN_SENDING, href=routes.SENDING, size="1"),
                          spacing="3", wrap="wrap"),
                spacing="1",
            )),
            color_scheme="red", size="1", role="alert", data_testid="alert-banner", data_kind=a["kind"],
            margin_bottom="0.5rem",
        )),
        rx.foreach(AlertState.break_glass, lambda b: rx.callout.root(
            rx.callout.icon(rx.icon("shield-alert")),
            rx.callout.text(rx.vstack(rx.text(b["text"], weight="bold", data_testid="break-glass-text"),
                                      rx.text(strings.BREAK_GLASS_BANNER_HINT, size="1"), spacing="1")),
            color_scheme="amber", size="1", role="alert", data_testid="break-glass-banner", margin_bottom="0.5rem",
        )),
        on_mount=AlertState.load, width="100%", data_testid="alert-banners",
    )
