"""The opt-out list (`/opt-outs`): numbers the organisation must not message; search, add, remove, export."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import data_table, field_error, filter_bar, filter_sheet, labelled, pager
from fleet_dashboard.web.components.status import ltr, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.opt_outs import OptOutsState as S


def _add_form() -> rx.Component:
    return rx.cond(S.may["opt_outs"].to(bool), rx.card(rx.form(
        filter_bar(
            labelled(strings.OPT_OUT_PHONE, rx.input(id="opt-out-phone", name="phone", default_value=S.phone,
                                                     placeholder=strings.RECIPIENT_PLACEHOLDER, dir="ltr",
                                                     required=True, min_width="14rem"),
                     "opt-out-phone", error=field_error(S.phone_error, "opt-out-phone-error")),
            labelled(strings.OPT_OUT_REASON, rx.input(id="opt-out-reason", name="reason", default_value=S.reason,
                                                      max_length=500, min_width="16rem"),
                     "opt-out-reason", error=field_error(S.reason_error, "opt-out-reason-error")),
            rx.button(rx.icon("ban", size=16), strings.OPT_OUT_ADD, type="submit", data_testid="opt-out-add"),
        ),
        on_submit=S.add, reset_on_submit=True,
    ), width="100%"))


def _search() -> rx.Component:
    return rx.form(filter_bar(
        labelled(strings.OPT_OUT_SEARCH, rx.input(id="opt-out-search", name="search", default_value=S.search,
                                                  type="search"), "opt-out-search"),
        rx.button(strings.APPLY, type="submit", data_testid="opt-out-apply"),
        rx.button(strings.RESET, type="button", variant="soft", color_scheme="gray", on_click=S.reset_search),
        rx.spacer(),
        rx.cond(S.may["export"].to(bool), rx.button(rx.icon("download", size=16), strings.EXPORT_CSV, type="button",
                                                     variant="outline", on_click=S.export_csv,
                                                     data_testid="opt-out-export")),
    ), on_submit=S.apply_search, reset_on_submit=False)


def _remove(row: rx.Var) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(strings.OPT_OUT_REMOVE, size="1", variant="soft", color_scheme="red",
                                          data_testid="opt-out-remove")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(strings.OPT_OUT_REMOVE_TITLE),
            rx.alert_dialog.description(rx.vstack(ltr(row["phone"], weight="bold"),
                                                  rx.text(strings.OPT_OUT_REMOVE_BODY, size="2"))),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(strings.CANCEL, variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(strings.OPT_OUT_REMOVE, color_scheme="red",
                                                 on_click=S.remove(row["phone"]),
                                                 data_testid="confirm-opt-out-remove")),
                spacing="3", justify="end", margin_top="1rem",
            ),
            max_width="28rem",
        ),
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(ltr(row["phone"]), href=row["conversation_url"])),
        rx.table.cell(rx.cond(row["keyword"] != "",
                              rx.text(strings.OPT_OUT_BY_KEYWORD, " «", row["keyword"], "»", size="2"),
                              rx.text(row["reason"], size="2"))),
        rx.table.cell(when(row["created_at"]), white_space="nowrap"),
        rx.table.cell(rx.cond(S.may["opt_outs"].to(bool), _remove(row))),
        data_testid="opt-out-row", data_phone=row["phone"],
    )


@dashboard_page(route=routes.OPT_OUTS, title=strings.OPT_OUTS_TITLE, on_load=S.load)
def opt_outs_page() -> rx.Component:
    return rx.vstack(
        rx.text(strings.OPT_OUTS_HELP, size="2", color_scheme="gray"),
        _add_form(),
        filter_sheet(_search(), "opt-out-filters"),
        data_table((strings.OPT_OUT_PHONE, strings.OPT_OUT_REASON_COL, strings.OPT_OUT_ADDED_AT, strings.COL_ACTIONS),
                   S.rows, _row, empty=strings.OPT_OUTS_EMPTY, empty_test_id="opt-outs-empty"),
        pager(S),
        width="100%", spacing="3",
    )
