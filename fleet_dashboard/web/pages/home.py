"""The org home (`/`): how the organisation's notifications are doing, at a glance and live."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.charts import daily_chart
from fleet_dashboard.web.components.forms import data_table
from fleet_dashboard.web.components.guards import risk_card
from fleet_dashboard.web.components.status import ltr, session_chip
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.home import HomeState as S


def _stat(label: str, value, test_id: str, href=None, color: str = "gray") -> rx.Component:
    number = rx.text(value, size="7", weight="bold", class_name="ltr", data_testid=test_id)
    body = rx.vstack(rx.text(label, size="2", color_scheme="gray"),
                     rx.link(number, href=href, underline="none", color_scheme=color) if href is not None else number,
                     spacing="1")
    return rx.card(body, min_width="9rem", flex="1 1 9rem")


def _connection() -> rx.Component:
    healthy = S.whatsapp_status == "connected"
    return rx.card(rx.vstack(
        rx.hstack(rx.heading(strings.HOME_CONNECTION, size="4", as_="h2"), session_chip(S.whatsapp_status,
                                                                              data_testid="home-session-status"),
                  rx.cond(S.whatsapp_phone != "", ltr(S.whatsapp_phone)), spacing="3", align="center", wrap="wrap"),
        rx.cond(healthy, rx.text(strings.HOME_CONNECTION_OK, size="2", color_scheme="green"),
                rx.text(strings.HOME_CONNECTION_DOWN, size="2", color_scheme="amber")),
        rx.cond(S.whatsapp_reason != "", rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.callout.text(strings.ERROR_REASON, ": ", S.whatsapp_reason),
            color_scheme="red", size="1", data_testid="home-session-reason")),
        rx.link(strings.HOME_OPEN_CONNECT, href=routes.CONNECT, size="2"),
        spacing="2", width="100%",
    ), width="100%", data_testid="home-connection")


def _numbers() -> rx.Component:
    return rx.vstack(
        rx.flex(
            _stat(strings.HOME_SENT_TODAY, S.sent_today, "home-sent-today", S.today_url),
            _stat(strings.HOME_SENT_WEEK, S.sent_week, "home-sent-week", S.week_url),
            _stat(strings.HOME_DELIVERY_RATE, S.delivery_rate, "home-delivery-rate"),
            _stat(strings.HOME_READ_RATE, S.read_rate, "home-read-rate"),
            _stat(strings.HOME_FAILED_TODAY, S.failed_today, "home-failed-today", S.failed_today_url, "red"),
            _stat(strings.HOME_FAILED_WEEK, S.failed_week, "home-failed-week", S.failed_week_url, "red"),
            _stat(strings.HOME_IN_PROGRESS, S.in_progress_week, "home-in-progress"),
            _stat(strings.HOME_QUEUE_DEPTH, S.queue_depth, "home-queue-depth", routes.QUEUE),
            gap="0.75rem", wrap="wrap", width="100%",
        ),
        rx.text(strings.HOME_WEEK_NOTE, size="1", color_scheme="gray"),
        width="100%", spacing="2",
    )


def _chart() -> rx.Component:
    return daily_chart(strings.HOME_CHART, S.chart, test_id="home-chart", height=240)


def _reasons() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(strings.HOME_REASONS, size="3", as_="h2"),
        rx.cond(S.reasons.length() > 0,
                rx.vstack(rx.foreach(S.reasons, lambda r: rx.hstack(
                    rx.badge(ltr(r["count"]), color_scheme="red", variant="soft"), rx.text(r["reason"], size="2"),
                    spacing="2", align="center", data_testid="home-reason", data_code=r["code"])), spacing="1"),
                rx.text(strings.HOME_NO_FAILURES, size="2", color_scheme="gray", data_testid="home-no-failures")),
        spacing="2", width="100%",
    ), width="100%")


def _failure_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(ltr(row["recipient"])),
        rx.table.cell(rx.text(row["reason"], size="2"), max_width="22rem"),
        rx.table.cell(rx.text(row["when"], as_="span", class_name="ltr", size="2"), white_space="nowrap"),
        rx.table.cell(rx.link(strings.DETAILS, href=row["url"], data_testid="home-failure-link")),
        data_testid="home-failure-row", data_id=row["id"],
    )


def _latest_failures() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(strings.HOME_LATEST_FAILURES, size="4", as_="h2"),
                  rx.link(strings.HOME_SEE_HISTORY, href=S.failed_week_url, size="2"), spacing="3", align="center",
                  wrap="wrap"),
        data_table((strings.COL_RECIPIENT, strings.MESSAGE_ERROR, strings.COL_DATE, strings.COL_DETAILS), S.failures,
                   _failure_row, empty=strings.HOME_NO_FAILURES, empty_test_id="home-failures-empty"),
        width="100%", spacing="2",
    )


@dashboard_page(route=routes.HOME, title=strings.HOME_TITLE, on_load=S.load)
def home() -> rx.Component:
    return rx.vstack(
        rx.flex(rx.box(_connection(), flex="1 1 18rem", min_width="0"), rx.box(risk_card(S), flex="1 1 18rem",
                                                                              min_width="0"),
                gap="0.75rem", wrap="wrap", width="100%"),
        _numbers(),
        rx.flex(rx.box(_chart(), flex="2 1 20rem", min_width="0"), rx.box(_reasons(), flex="1 1 14rem", min_width="0"),
                gap="0.75rem", wrap="wrap", width="100%"),
        _latest_failures(),
        width="100%", spacing="4", data_testid="home",
    )
