"""Labelled form fields with their inline Arabic error, so every form reads and tests the same way."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from fleet_dashboard import strings


def not_allowed(when: rx.Var) -> rx.Component:
    """The page's "you may not see this" note, for a signed-in role without the page's column."""
    return rx.cond(when, rx.callout(strings.PAGE_NOT_ALLOWED, icon="lock", color_scheme="gray",
                                    data_testid="not-allowed"))


def field_error(message: rx.Var | str, test_id: str) -> rx.Component:
    """The red line under a field; only rendered when there is something to say."""
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="2", role="alert",
                                          data_testid=test_id))


def submit_form(*fields: rx.Component, error: rx.Var, error_id: str, submit: str, submit_id: str, on_submit,
                reset: bool = True, max_width: str = "36rem") -> rx.Component:
    """Fields stacked over the form's own error line and its submit button; `reset` empties them once sent."""
    return rx.form(rx.vstack(
        *fields,
        field_error(error, error_id),
        rx.button(submit, type="submit", data_testid=submit_id),
        spacing="2", width="100%", max_width=max_width,
    ), on_submit=on_submit, reset_on_submit=reset)


def form_card(title: str, *fields: rx.Component, **form) -> rx.Component:
    """A card with a heading over one `submit_form` (an invitation, a new organisation, a new password)."""
    return rx.card(submit_form(rx.heading(title, as_="h2", size="4"), *fields, **form), width="100%")


def labelled(label: str | rx.Var, control: rx.Component, field_id: str | rx.Var, *,
             error: rx.Component | None = None, hint: str | None = None) -> rx.Component:
    """A label tied to its control by id, the control, an optional hint and an optional error."""
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontWeight": "600"}),
        control,
        rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        error if error is not None else rx.fragment(),
        spacing="1", width="100%",
    )


def filter_bar(*children: rx.Component) -> rx.Component:
    """A row of filters that wraps on narrow screens."""
    return rx.flex(*children, gap="0.75rem", wrap="wrap", align="end", width="100%", margin_bottom="1rem")


def pager(state) -> rx.Component:
    """First / previous / next buttons for a keyset-paged state (web/paging.py's Paged)."""
    has_prev = state.page_no > 1
    return rx.hstack(
        rx.button(strings.FIRST_PAGE, variant="soft", disabled=~has_prev, on_click=state.first_page,
                  data_testid="page-first"),
        rx.button(rx.icon("chevron-right", size=16), variant="soft", disabled=~has_prev, on_click=state.prev_page,
                  aria_label=strings.PREV_PAGE, data_testid="page-prev"),
        rx.button(strings.NEXT_PAGE, rx.icon("chevron-left", size=16), variant="soft", disabled=~state.has_next,
                  on_click=state.next_page, data_testid="page-next"),
        spacing="2", margin_top="1rem", justify="center", width="100%",
    )


def data_table(headers: tuple[str, ...], rows: rx.Var, row: Callable[[rx.Var], rx.Component], *,
               empty: str | None = None, empty_test_id: str | None = None) -> rx.Component:
    """A table that scrolls sideways inside `.table-wrap` on a phone; with `empty`, a line instead when
    there are no rows."""
    table = rx.box(rx.table.root(
        rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
        rx.table.body(rx.foreach(rows, row)),
        variant="surface", size="2", width="100%",
    ), class_name="table-wrap")
    if empty is None:
        return table
    extra = {"data_testid": empty_test_id} if empty_test_id else {}
    return rx.cond(rows.length() > 0, table, rx.text(empty, color_scheme="gray", **extra))


def confirm_dialog(trigger: rx.Component, title: rx.Component | str, body: rx.Component | str, *, confirm: str,
                   on_confirm, test_id: str, color: str = "red", keep: str | None = None) -> rx.Component:
    """A button that asks first: the dialog names who or what the action is about, and says what follows."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(body, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(keep or strings.CANCEL, variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(confirm, color_scheme=color, on_click=on_confirm,
                                                 data_testid="confirm-" + test_id)),
                spacing="3", justify="end", margin_top="1rem",
            ),
            max_width="28rem", data_testid=test_id + "-dialog",
        ),
    )


def named(prefix: str, name: rx.Var | str, end: str = "؟") -> rx.Component:
    """«prefix <name>؟» with the name isolated, so a Latin name or a number keeps its own direction."""
    return rx.fragment(prefix, " ", rx.el.bdi(name, data_testid="confirm-name"), end)


def filter_sheet(content: rx.Component, sheet_id: str) -> rx.Component:
    """A page's filters: in place on a wide screen; on a phone folded behind a «التصفية» button into a sheet that
    rises from the bottom (fleet.css), so the list starts at the top of the screen."""
    toggle = rx.call_script(f"document.getElementById('{sheet_id}').classList.toggle('open')")
    return rx.box(
        rx.button(rx.icon("sliders-horizontal", size=16), strings.FILTERS, type="button", variant="soft",
                  class_name="filters-toggle", on_click=toggle, aria_controls=sheet_id, data_testid="filters-toggle"),
        rx.box(
            rx.flex(rx.text(strings.FILTERS, weight="bold", size="3"),
                    rx.button(strings.FILTERS_DONE, type="button", size="2", on_click=toggle,
                              data_testid="filters-close"),
                    class_name="filters-sheet-head", justify="between", align="center", width="100%"),
            content,
            id=sheet_id, class_name="filters-sheet", data_testid="filters-sheet",
        ),
        width="100%",
    )
