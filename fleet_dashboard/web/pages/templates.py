"""Templates (`/templates`): system and organisation templates, an editor with live variables and preview."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import data_table, field_error, labelled
from fleet_dashboard.web.components.status import ltr, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.templates import TemplatesState as S


def _actions(row: rx.Var) -> rx.Component:
    own = row["system"] == ""
    return rx.hstack(
        rx.button(rx.cond(own & S.can_manage, strings.EDIT, strings.PREVIEW), size="1", variant="soft",
                  on_click=S.open_template(row["id"]), data_testid="open-template"),
        rx.cond(S.can_manage, rx.fragment(
            rx.button(strings.DUPLICATE, size="1", variant="soft", color_scheme="gray",
                      on_click=S.duplicate(row["id"]), data_testid="duplicate-template"),
            rx.cond(own, rx.fragment(
                rx.button(rx.cond(row["active"] == "1", strings.DEACTIVATE, strings.ACTIVATE), size="1",
                          variant="soft", color_scheme="amber", on_click=S.toggle_active(row["id"]),
                          data_testid="toggle-template"),
                rx.button(strings.DELETE, size="1", variant="soft", color_scheme="red",
                          on_click=S.ask_delete(row["id"]), data_testid="delete-template"),
            )),
        )),
        spacing="2", wrap="wrap",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(row["name"], weight="bold", class_name="isolate", title=row["api_name"],
                                        data_testid="template-name"),
                                rx.text(row["body"], size="1", color_scheme="gray"),
                                spacing="0"), max_width="20rem"),
        rx.table.cell(rx.hstack(
            rx.cond(row["system"] == "1", rx.badge(strings.TEMPLATE_SYSTEM, color_scheme="purple"),
                    rx.badge(strings.TEMPLATE_ORG, color_scheme="teal")),
            rx.cond(row["urgent"] == "1", rx.badge(strings.TEMPLATE_URGENT_BADGE, color_scheme="red",
                                                   data_testid="tpl-urgent-badge")),
            spacing="1", wrap="wrap")),
        rx.table.cell(rx.cond(row["active"] == "1", rx.badge(strings.TEMPLATE_ACTIVE, color_scheme="green"),
                              rx.badge(strings.TEMPLATE_INACTIVE, color_scheme="gray"))),
        rx.table.cell(rx.text(row["variables"], size="1")),
        rx.table.cell(ltr(row["usage_count"]), data_testid="usage-count"),
        rx.table.cell(when(row["last_used_at"]), white_space="nowrap"),
        rx.table.cell(_actions(row)),
        data_testid="template-row", data_name=row["api_name"],
    )


def _editor() -> rx.Component:
    disabled = S.editor_readonly
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(rx.cond(S.editing_id == "", strings.TEMPLATE_NEW,
                                rx.cond(disabled, strings.PREVIEW, strings.TEMPLATE_EDIT))),
        rx.vstack(
            labelled(strings.TEMPLATE_DISPLAY_NAME, rx.input(id="tpl-display", value=S.f_display,
                                                             on_change=S.set_f_display, read_only=disabled,
                                                             width="100%"), "tpl-display",
                     hint=strings.TEMPLATE_DISPLAY_NAME_HINT),
            labelled(strings.TEMPLATE_API_NAME, rx.input(id="tpl-name", value=S.f_name, on_change=S.set_f_name,
                                                         dir="ltr", read_only=disabled, width="100%"), "tpl-name",
                     hint=strings.TEMPLATE_API_NAME_HINT, error=field_error(S.f_name_error, "tpl-name-error")),
            labelled(strings.TEMPLATE_DESCRIPTION, rx.input(id="tpl-description", value=S.f_description,
                                                            on_change=S.set_f_description, read_only=disabled,
                                                            width="100%"), "tpl-description"),
            labelled(strings.TEMPLATE_CATEGORY, rx.input(id="tpl-category", value=S.f_category, dir="ltr",
                                                         on_change=S.set_f_category, read_only=disabled,
                                                         width="100%"), "tpl-category"),
            labelled(strings.TEMPLATE_BODY, rx.text_area(id="tpl-body", value=S.f_body, on_change=S.set_f_body,
                                                         rows="5", read_only=disabled, width="100%"), "tpl-body",
                     hint=strings.TEMPLATE_BODY_HINT, error=field_error(S.f_body_error, "tpl-body-error")),
            rx.checkbox(strings.TEMPLATE_URGENT, checked=S.f_urgent, on_change=S.set_f_urgent, disabled=disabled,
                        data_testid="tpl-urgent"),
            rx.hstack(rx.text(strings.TEMPLATE_VARS, weight="bold", size="2"),
                      rx.foreach(S.detected_labels, lambda v: rx.badge(v, variant="outline", class_name="isolate")),
                      spacing="2", wrap="wrap", data_testid="tpl-variables"),
            rx.text(strings.TEMPLATE_SAMPLE_PREVIEW, weight="bold", size="2"),
            rx.box(rx.text(S.preview, white_space="pre-wrap", data_testid="tpl-preview"), width="100%",
                   background="var(--green-a3)", padding="0.75rem", border_radius="var(--radius-3)"),
            rx.hstack(
                rx.dialog.close(rx.button(strings.CLOSE, variant="soft", color_scheme="gray")),
                rx.cond(~disabled, rx.button(strings.SAVE, on_click=S.save, data_testid="tpl-save")),
                rx.cond(disabled & S.can_manage,
                        rx.button(strings.DUPLICATE, on_click=S.duplicate(S.editing_id), data_testid="tpl-duplicate")),
                spacing="3", justify="end", width="100%",
            ),
            spacing="3", width="100%",
        ),
        max_width="36rem",
    ), open=S.editor_open, on_open_change=S.set_editor_open)


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(strings.TEMPLATE_DELETE_TITLE),
        rx.alert_dialog.description(rx.text(rx.text(S.delete_name, weight="bold", as_="span", class_name="isolate"),
                                            " — ", strings.TEMPLATE_DELETE_BODY)),
        rx.hstack(
            rx.alert_dialog.cancel(rx.button(strings.CANCEL, variant="soft", color_scheme="gray")),
            rx.button(strings.DELETE, color_scheme="red", on_click=S.delete_template(S.delete_id),
                      data_testid="confirm-delete"),
            spacing="3", justify="end", margin_top="1rem",
        ),
        max_width="28rem",
    ), open=S.delete_open, on_open_change=S.set_delete_open)


@dashboard_page(route=routes.TEMPLATES, title=strings.TEMPLATES_TITLE, on_load=S.load)
def templates_page() -> rx.Component:
    return rx.vstack(
        rx.cond(S.can_manage, rx.button(rx.icon("plus", size=16), strings.TEMPLATE_NEW, on_click=S.open_new,
                                        data_testid="new-template")),
        data_table((strings.TEMPLATE_NAME, strings.TEMPLATE_KIND, strings.FILTER_STATUS, strings.TEMPLATE_VARS,
                    strings.TEMPLATE_USAGE, strings.TEMPLATE_LAST_USED, strings.TEMPLATE_ACTIONS), S.rows, _row),
        _editor(),
        _delete_dialog(),
        width="100%", spacing="3",
    )
