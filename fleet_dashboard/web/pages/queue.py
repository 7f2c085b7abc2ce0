"""Queue (`/queue`): pending, processing, failed and completed notifications; cancel and retry."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import confirm_dialog, data_table, labelled, named, pager
from fleet_dashboard.web.components.status import ltr, queue_chip, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.queue import ALL
from fleet_dashboard.web.state.queue import QueueState as S


def _status_filter() -> rx.Component:
    return labelled(strings.FILTER_STATUS, rx.select.root(
        rx.select.trigger(id="queue-status", min_width="12rem"),
        rx.select.content(
            rx.select.item(strings.ALL, value=ALL),
            *(rx.select.item(label + " (" + S.counts[key].to_string() + ")", value=key)
              for key, label in strings.QUEUE_STATUS.items()),
        ),
        value=S.status_filter, on_change=S.set_status_filter,
    ), "queue-status")


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(ltr(row["recipient"])),
        rx.table.cell(queue_chip(row["status"])),
        rx.table.cell(rx.text(row["template"], size="2", class_name="isolate")),
        rx.table.cell(when(row["scheduled_for"]), white_space="nowrap"),
        rx.table.cell(ltr(row["attempts"])),
        rx.table.cell(rx.cond(row["wait"] != "",
                              rx.text(row["wait"], size="1", color_scheme="blue", data_testid="queue-wait"),
                              rx.text(row["error"], size="1", title=row["error_detail"])),
                      data_testid="queue-error"),
        rx.table.cell(rx.hstack(
            rx.cond((row["status"] == "pending") & S.may["cancel"].to(bool), confirm_dialog(
                rx.button(strings.CANCEL, size="1", color_scheme="red", variant="soft", data_testid="cancel-queued"),
                named(strings.QUEUE_CANCEL_NAMED, row["recipient"]),
                rx.vstack(rx.text(strings.QUEUE_CANCEL_WHEN, ": ", when(row["scheduled_for"])),
                          rx.text(strings.QUEUE_CANCEL_EFFECT), spacing="1"),
                confirm=strings.QUEUE_CANCEL_CONFIRM, on_confirm=S.cancel(row["id"]), test_id="cancel-queued",
                keep=strings.KEEP)),
            # An `unknown` row may already be on the phone: only the retry_unknown column retries it.
            rx.cond(((row["status"] == "failed") & S.may["retry"].to(bool))
                    | ((row["status"] == "unknown") & S.may["retry_unknown"].to(bool)),
                    rx.button(strings.RETRY, size="1", variant="soft", on_click=S.retry(row["id"]))),
            rx.cond(row["message_url"] != "", rx.link(strings.DETAILS, href=row["message_url"], size="2")),
            spacing="2",
        )),
        data_testid="queue-row", data_status=row["status"],
    )


@dashboard_page(route=routes.QUEUE, title=strings.QUEUE_TITLE, on_load=S.load)
def queue_page() -> rx.Component:
    return rx.vstack(
        _status_filter(),
        data_table((strings.COL_RECIPIENT, strings.COL_STATUS, strings.COL_TEMPLATE, strings.COL_SCHEDULED,
                    strings.COL_ATTEMPTS, strings.COL_ERROR, strings.COL_ACTIONS), S.rows, _row,
                   empty=strings.QUEUE_EMPTY, empty_test_id="queue-empty"),
        pager(S),
        width="100%", spacing="3",
    )
