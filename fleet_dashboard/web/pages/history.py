"""History (`/history`) and one message (`/history/<id>`): filters, keyset pages, CSV, live chips."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.files import file_chip
from fleet_dashboard.web.components.forms import data_table, filter_sheet, pager
from fleet_dashboard.web.components.status import ltr, message_chip, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.history import ALL
from fleet_dashboard.web.state.history import HistoryState as S
from fleet_dashboard.web.state.message import MessageState as M


def _caption(label: str, field_id: str) -> rx.Component:
    """A field's name beside it, not on a line above: the row stays one line high."""
    return rx.el.label(label, html_for=field_id, style={"fontSize": "var(--font-size-1)", "whiteSpace": "nowrap",
                                                        "color": "var(--gray-11)"})


def _select(label: str, field_id: str, value, on_change, options, width: str = "8rem") -> rx.Component:
    """A compact select with its name beside it."""
    return rx.hstack(_caption(label, field_id), rx.select.root(
        rx.select.trigger(id=field_id, aria_label=label, title=label, width=width),
        rx.select.content(rx.select.group(rx.select.label(label), rx.select.item(strings.ALL, value=ALL), *options)),
        value=value, on_change=on_change,
    ), spacing="1", align="center")


def _direction_tabs() -> rx.Component:
    """Everything, what was sent, or the replies (with how many are unread)."""
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger(strings.DIRECTION_ALL, value="all", data_testid="direction-all"),
            rx.tabs.trigger(strings.DIRECTIONS["outbound"], value="outbound", data_testid="direction-outbound"),
            rx.tabs.trigger(rx.hstack(strings.DIRECTIONS["inbound"],
                                      rx.cond(S.unread_replies > 0, rx.badge(S.unread_label, color_scheme="blue",
                                                                             radius="full", size="1")),
                                      spacing="2", align="center"),
                            value="inbound", data_testid="direction-inbound"),
            aria_label=strings.DIRECTION,
        ),
        value=S.direction, on_change=S.set_direction, data_testid="direction-tabs",
    )


def _date(label: str, field_id: str, name: str, value) -> rx.Component:
    return rx.hstack(
        _caption(label, field_id),
        rx.input(id=field_id, name=name, type="date", default_value=value, key=value, dir="ltr", width="8.75rem"),
        spacing="1", align="center",
    )


def _direction_bar() -> rx.Component:
    """The direction tabs and the export: above the list on every screen."""
    return rx.hstack(
        _direction_tabs(),
        rx.spacer(),
        rx.cond(S.may["export"].to(bool), rx.button(rx.icon("download", size=16), strings.EXPORT_CSV,
                                                     type="button", variant="outline", on_click=S.export_csv,
                                                     data_testid="export-csv")),
        width="100%", align="center", wrap="wrap", spacing="2", margin_bottom="0.5rem",
    )


def _filters() -> rx.Component:
    """One compact row at laptop width (status, template, search, dates and the buttons), wrapping only on
    narrower screens; on a phone it folds into the filter sheet."""
    sent_filters = rx.cond(S.direction != "inbound", rx.fragment(
        _select(strings.FILTER_STATUS, "filter-status", S.status_filter, S.set_status_filter,
                [rx.select.item(label, value=key) for key, label in strings.MESSAGE_STATUS.items()]),
        _select(strings.FILTER_TEMPLATE, "filter-template", S.template_filter, S.set_template_filter,
                [rx.foreach(S.template_options, lambda t: rx.select.item(t["label"], value=t["value"]))],
                width="9rem"),
    ))
    return rx.form(rx.flex(
        sent_filters,
        rx.input(id="filter-search", name="search", default_value=S.search, type="search",
                 placeholder=strings.FILTER_SEARCH, aria_label=strings.FILTER_SEARCH, width="10rem"),
        _date(strings.FILTER_FROM, "filter-from", "date_from", S.date_from),
        _date(strings.FILTER_TO, "filter-to", "date_to", S.date_to),
        rx.button(strings.APPLY, type="submit", data_testid="apply-filters"),
        rx.button(strings.RESET, type="button", variant="soft", color_scheme="gray", on_click=S.reset_filters),
        gap="0.5rem", wrap="wrap", align="center", width="100%", data_testid="history-filters",
    ), on_submit=S.apply_filters, reset_on_submit=False, width="100%", margin_bottom="0.75rem")


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(ltr(row["recipient"]), href=row["conversation_url"], title=strings.CONVERSATION)),
        rx.table.cell(rx.vstack(
            rx.cond(row["file"] != "", rx.hstack(
                rx.icon(rx.cond(row["kind"] == "image", "image", "file-text"), size=14),
                rx.text(row["file"], size="2", weight="medium", dir="auto", data_testid="row-file"),
                spacing="1", align="center")),
            rx.text(row["body"], size="2", dir="auto"), spacing="1"), max_width="22rem"),
        rx.table.cell(rx.cond(row["direction"] == "inbound",
                              rx.badge(strings.REPLY_BADGE, color_scheme="blue", variant="soft", radius="full",
                                       data_testid="reply-" + row["id"]),
                              message_chip(row["status"], data_testid="status-" + row["id"]))),
        rx.table.cell(rx.text(row["template"], size="2", class_name="isolate")),
        rx.table.cell(when(row["created_at"]), white_space="nowrap"),
        rx.table.cell(rx.link(strings.DETAILS, href=row["url"])),
        data_testid="message-row", data_id=row["id"], data_direction=row["direction"],
    )


# Who the number is: the recipient of what was sent, the sender of a reply, the customer when both show.
_NUMBER_HEADER = rx.match(S.direction, ("inbound", strings.COL_FROM), ("outbound", strings.COL_RECIPIENT),
                          strings.COL_CUSTOMER)


@dashboard_page(route=routes.HISTORY, title=strings.HISTORY_TITLE, on_load=S.load)
def history() -> rx.Component:
    return rx.vstack(
        _direction_bar(),
        filter_sheet(_filters(), "history-filters"),
        data_table((_NUMBER_HEADER, strings.COL_BODY, strings.COL_STATUS, strings.COL_TEMPLATE,
                    strings.COL_DATE, strings.COL_DETAILS), S.rows, _row,
                   empty=strings.HISTORY_EMPTY, empty_test_id="history-empty"),
        pager(S),
        width="100%",
    )


def _stamp(label: str, key: str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(when(M.message[key])))


@dashboard_page(route=routes.MESSAGE, title=strings.MESSAGE_TITLE, on_load=M.load)
def message() -> rx.Component:
    return rx.cond(
        M.not_found,
        rx.callout.root(rx.callout.text(strings.MESSAGE_NOT_FOUND), color_scheme="red", data_testid="not-found"),
        rx.card(rx.vstack(
            rx.data_list.root(
                rx.data_list.item(rx.data_list.label(strings.COL_RECIPIENT),
                                  rx.data_list.value(ltr(M.message["recipient"]))),
                rx.data_list.item(rx.data_list.label(strings.COL_STATUS),
                                  rx.data_list.value(message_chip(M.message["status"], data_testid="detail-status"))),
                rx.data_list.item(rx.data_list.label(strings.COL_TEMPLATE),
                                  rx.data_list.value(rx.text(M.message["template"], class_name="isolate"))),
                _stamp(strings.MESSAGE_CREATED, "created_at"),
                _stamp(strings.MESSAGE_SENT, "sent_at"),
                _stamp(strings.MESSAGE_DELIVERED, "delivered_at"),
                _stamp(strings.MESSAGE_READ, "read_at"),
                _stamp(strings.MESSAGE_FAILED, "failed_at"),
            ),
            rx.cond(M.message["file"] != "", rx.card(rx.vstack(
                rx.text(M.message["type"], weight="bold", size="2"),
                file_chip(M.message["kind"], M.message["file"], M.message["file_url"], M.message["file_meta"],
                          name_test_id="detail-file"),
                spacing="2"), width="100%")),
            rx.heading(strings.MESSAGE_BODY, as_="h2", size="3"),
            rx.text(M.message["body"], white_space="pre-wrap", data_testid="detail-body"),
            rx.cond(M.message["wait"] != "", rx.callout.root(
                rx.callout.icon(rx.icon("clock")), rx.callout.text(M.message["wait"]),
                color_scheme="blue", data_testid="detail-wait")),
            rx.cond(M.message["error"] != "", rx.callout.root(
                rx.vstack(rx.text(strings.MESSAGE_ERROR, ": ", M.message["error"], size="2"),
                          rx.cond(M.message["error_detail"] != "",
                                  rx.text(M.message["error_detail"], size="1", class_name="ltr")),
                          spacing="1"),
                color_scheme="red",
                data_testid="detail-error")),
            rx.heading(strings.REPLIES_TITLE, as_="h2", size="3"),
            rx.cond(M.replies.length() > 0,
                    rx.vstack(rx.foreach(M.replies, lambda r: rx.box(
                        rx.text(r["body"], white_space="pre-wrap", size="2"), when(r["created_at"]),
                        background="var(--blue-3)", border_radius="0.75rem", padding="0.5rem 0.75rem",
                        data_testid="detail-reply")), spacing="2", width="100%"),
                    rx.text(strings.REPLIES_EMPTY, size="2", color_scheme="gray", data_testid="detail-no-replies")),
            rx.hstack(rx.link(strings.CONVERSATION, href=M.message["conversation_url"],
                              data_testid="detail-conversation"),
                      rx.link(strings.BACK, href=routes.HISTORY), spacing="4"),
            spacing="3", width="100%",
        ), max_width="48rem", width="100%"),
    )
