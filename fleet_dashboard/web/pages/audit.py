"""Audit log (`/audit`): actor, event and details, filtered by event type and date, by keyset pages."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.audit_text import MAX_PARTS
from fleet_dashboard.web.components.forms import data_table, filter_bar, filter_sheet, labelled, not_allowed, pager
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.audit import ALL
from fleet_dashboard.web.state.audit import AuditState as S


def _filters() -> rx.Component:
    return rx.form(filter_bar(
        labelled(strings.AUDIT_EVENT, rx.select.root(
            rx.select.trigger(id="audit-type", min_width="12rem"),
            rx.select.content(rx.select.item(strings.ALL, value=ALL),
                              rx.foreach(S.event_types, lambda t: rx.select.item(t["label"], value=t["value"]))),
            value=S.type_filter, on_change=S.set_type_filter,
        ), "audit-type"),
        labelled(strings.FILTER_FROM, rx.input(id="audit-from", name="date_from", type="date", dir="ltr",
                                               default_value=S.date_from), "audit-from"),
        labelled(strings.FILTER_TO, rx.input(id="audit-to", name="date_to", type="date", dir="ltr",
                                             default_value=S.date_to), "audit-to"),
        rx.button(strings.APPLY, type="submit"),
    ), on_submit=S.apply_dates, reset_on_submit=False)


def _part(row: rx.Var, i: int) -> rx.Component:
    """A run of the sentence: a link to what it names, or plain text."""
    text, href = row[f"t{i}"], row[f"h{i}"]
    return rx.cond(text != "", rx.cond(href != "",
                                       rx.link(text, href=href, class_name="isolate", data_testid="audit-link"),
                                       rx.text(text, as_="span")))


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["created_at"], size="2", class_name="ltr", data_testid="audit-time"),
                      white_space="nowrap"),
        rx.table.cell(rx.badge(row["event"], variant="soft", data_type=row["type"])),
        rx.table.cell(rx.text(row["actor"], size="2", class_name="isolate", data_testid="audit-actor")),
        rx.table.cell(rx.text(*(_part(row, i) for i in range(MAX_PARTS)), size="2", data_testid="audit-sentence"),
                      max_width="32rem"),
        data_testid="audit-row", data_type=row["type"],
    )


@dashboard_page(route=routes.AUDIT, title=strings.AUDIT_TITLE, on_load=S.load)
def audit_log() -> rx.Component:
    return rx.vstack(
        not_allowed(S.signed_in & ~S.may["audit"].to(bool)),
        filter_sheet(_filters(), "audit-filters"),
        data_table((strings.COL_DATE, strings.AUDIT_EVENT, strings.AUDIT_ACTOR, strings.AUDIT_DETAILS), S.rows, _row,
                   empty=strings.AUDIT_EMPTY),
        pager(S),
        width="100%",
    )
