"""Overview (`/admin`, super_admin only): every organisation live, a daily chart, read-only drill-in."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.charts import daily_chart
from fleet_dashboard.web.components.forms import data_table, filter_bar, filter_sheet, labelled, pager
from fleet_dashboard.web.components.guards import risk_chip
from fleet_dashboard.web.components.layout import forbidden
from fleet_dashboard.web.components.status import ltr, session_chip
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.admin import AdminState as S


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="bold")),
        rx.table.cell(session_chip(row["status"], data_testid="org-status")),
        rx.table.cell(risk_chip(row["risk"], data_testid="org-risk")),
        rx.table.cell(ltr(row["phone"])),
        rx.table.cell(ltr(row["sent_today"]), data_testid="org-today"),
        rx.table.cell(ltr(row["sent_week"]), data_testid="org-week"),
        rx.table.cell(ltr(row["failure_rate"]), data_testid="org-failure-rate"),
        rx.table.cell(ltr(row["queue_depth"])),
        rx.table.cell(rx.text(row["last_error"], size="1"), max_width="16rem"),
        rx.table.cell(rx.link(strings.OPEN_ORG, href=row["url"], data_testid="open-org")),
        data_testid="org-row", data_slug=row["slug"],
    )


def _chart() -> rx.Component:
    return daily_chart(strings.CHART_TITLE, S.chart, test_id="daily-chart", height=260)


def _controls() -> rx.Component:
    """Search by name or slug, sort by any column, and the count of what matched."""
    return rx.vstack(
        filter_sheet(filter_bar(
            rx.form(rx.hstack(
                labelled(strings.ADMIN_SEARCH, rx.input(id="admin-search", name="search", default_value=S.search,
                                                        type="search", min_width="16rem"), "admin-search"),
                rx.button(strings.APPLY, type="submit", data_testid="admin-search-apply"),
                align="end", spacing="2",
            ), on_submit=S.apply_search, reset_on_submit=False),
            labelled(strings.ADMIN_SORT, rx.select.root(
                rx.select.trigger(id="admin-sort", min_width="9rem"),
                rx.select.content(*(rx.select.item(label, value=key) for key, label in strings.ADMIN_SORTS.items())),
                value=S.sort_key, on_change=S.set_sort,
            ), "admin-sort"),
            rx.button(rx.cond(S.sort_desc, strings.SORT_DESC, strings.SORT_ASC), type="button", variant="soft",
                      on_click=S.toggle_sort_direction, data_testid="admin-sort-direction"),
        ), "admin-filters"),
        rx.text(S.summary, size="2", color_scheme="gray", data_testid="admin-summary"),
        width="100%", spacing="1",
    )


def _engines() -> rx.Component:
    """Which engine processes are alive and what they hold; a red note when none is."""
    return rx.vstack(
        rx.heading(strings.ENGINES_TITLE, as_="h2", size="4"),
        rx.cond(
            S.engines.length() > 0,
            rx.flex(rx.foreach(S.engines, lambda e: rx.badge(
                ltr(e["engine_id"]), " · ", strings.ENGINE_OWNED, " ", ltr(e["owned"]), strings.LIST_SEPARATOR,
                strings.ENGINE_CONNECTED, " ", ltr(e["connected"]), variant="soft", size="2",
                data_testid="engine-badge")), gap="0.5rem", wrap="wrap"),
            rx.callout.root(rx.callout.icon(rx.icon("triangle-alert")), rx.callout.text(strings.ENGINES_NONE),
                            color_scheme="red", data_testid="engines-none"),
        ),
        spacing="2", width="100%",
    )


def _incidents() -> rx.Component:
    """Open alerts across the fleet: which organisation, what, since when."""
    return rx.vstack(
        rx.heading(strings.INCIDENTS_TITLE, size="4", as_="h2"),
        rx.cond(S.incidents.length() > 0,
                rx.vstack(rx.foreach(S.incidents, lambda i: rx.hstack(
                    rx.icon("siren", size=16, color="var(--red-9)"), rx.text(i["org"], weight="bold", size="2"),
                    rx.text(i["text"], size="2"), ltr(i["since"], size="1"),
                    rx.link(strings.OPEN_ORG, href=i["url"], size="1"),
                    spacing="2", align="center", wrap="wrap", data_testid="incident-row", data_kind=i["kind"])),
                    spacing="1", width="100%"),
                rx.text(strings.INCIDENTS_NONE, size="2", color_scheme="gray", data_testid="incidents-none")),
        spacing="2", width="100%",
    )


def _overview() -> rx.Component:
    return rx.vstack(
        _engines(),
        _incidents(),
        _controls(),
        data_table((strings.COL_ORG, strings.COL_WHATSAPP, strings.RISK_TITLE, strings.PHONE, strings.COL_TODAY,
                    strings.COL_WEEK,
                    strings.COL_FAILURE_RATE, strings.COL_QUEUE_DEPTH, strings.COL_LAST_ERROR, ""), S.org_rows, _row,
                   empty=S.empty_text, empty_test_id="admin-empty"),
        pager(S),
        _chart(),
        width="100%", spacing="4",
    )


@dashboard_page(route=routes.ADMIN, title=strings.ADMIN_TITLE, on_load=S.load)
def admin() -> rx.Component:
    return rx.cond(S.forbidden, forbidden(), _overview())


@dashboard_page(route=routes.ADMIN_ORG, title=strings.ADMIN_TITLE, on_load=S.enter_org)
def admin_org() -> rx.Component:
    return rx.cond(S.forbidden, forbidden(), rx.center(rx.spinner(size="3"), padding="3rem"))
