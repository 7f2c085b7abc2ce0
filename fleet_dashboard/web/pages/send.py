"""Send (`/send`): text or template with generated variable fields, a live preview, send now or schedule."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import field_error, labelled
from fleet_dashboard.web.components.status import message_chip
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.send import RESULT_ID
from fleet_dashboard.web.state.send import SendState as S


def _variable_field(name: rx.Var) -> rx.Component:
    field_id = "var-" + name
    return labelled(
        rx.text(S.variable_labels[name], class_name="isolate", title=name),
        rx.input(id=field_id, value=S.values[name], on_change=lambda v: S.set_value(name, v), width="100%",
                 aria_invalid=S.missing.contains(name)),
        field_id,
        error=rx.cond(S.missing.contains(name),
                      rx.text(strings.FIELD_REQUIRED, color_scheme="red", size="2", role="alert",
                              data_testid="missing-" + name)),
    )


def _template_fields() -> rx.Component:
    return rx.vstack(
        labelled(strings.CHOOSE_TEMPLATE, rx.select.root(
            rx.select.trigger(placeholder=strings.CHOOSE_TEMPLATE, width="100%", id="send-template"),
            rx.select.content(rx.foreach(S.templates, lambda t: rx.select.item(t["name"], value=t["id"]))),
            value=S.template_id, on_change=S.pick_template,
        ), "send-template", error=field_error(S.template_error, "template-error")),
        rx.cond(S.variables.length() > 0, rx.heading(strings.TEMPLATE_VARIABLES, as_="h3", size="3")),
        rx.foreach(S.variables, _variable_field),
        spacing="3", width="100%",
    )


def _text_field() -> rx.Component:
    return labelled(strings.MESSAGE_TEXT, rx.text_area(id="send-text", value=S.text, on_change=S.set_text,
                                                       rows="5", width="100%"),
                    "send-text", error=field_error(S.text_error, "text-error"))


UPLOAD_ID = "send-file"
# What the picker offers; the server checks the content again (messaging/media.py).
ACCEPT = {"application/pdf": [".pdf"], "image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"],
          "image/webp": [".webp"]}


def _file_field() -> rx.Component:
    chosen = rx.hstack(
        rx.icon(rx.cond(S.file_kind == "image", "image", "file-text"), size=18),
        rx.text(S.file_name, data_testid="file-name", dir="auto", weight="medium"),
        rx.text(S.file_size, size="2", color_scheme="gray"),
        rx.icon_button(rx.icon("x", size=14), variant="ghost", on_click=S.clear_file, aria_label=strings.REMOVE_FILE,
                       title=strings.REMOVE_FILE, data_testid="remove-file"),
        spacing="2", align="center", wrap="wrap",
    )
    picker = rx.upload.root(
        rx.vstack(rx.icon("paperclip", size=18), rx.text(strings.ATTACH_HINT, size="2", color_scheme="gray"),
                  align="center", spacing="1"),
        id=UPLOAD_ID, max_files=1, multiple=False, accept=ACCEPT, data_testid="file-picker",
        on_drop=S.upload_file(rx.upload_files(upload_id=UPLOAD_ID)),
        border="1px dashed var(--gray-a7)", border_radius="var(--radius-3)", padding="0.75rem", width="100%",
        cursor="pointer",
    )
    return rx.vstack(
        rx.text(strings.ATTACH_FILE, size="2", weight="medium"),
        rx.cond(S.file_id != "", chosen, picker),
        field_error(S.file_error, "file-error"),
        spacing="1", width="100%",
    )


def _form() -> rx.Component:
    return rx.card(rx.vstack(
        rx.segmented_control.root(
            rx.segmented_control.item(strings.SEND_MODE_TEXT, value="text"),
            rx.segmented_control.item(strings.SEND_MODE_TEMPLATE, value="template"),
            value=S.mode, on_change=S.set_mode, data_testid="send-mode",
        ),
        labelled(strings.RECIPIENT, rx.input(id="send-recipient", value=S.recipient, on_change=S.set_recipient,
                                             on_blur=S.check_phone, placeholder=strings.RECIPIENT_PLACEHOLDER,
                                             dir="ltr", type="tel", width="100%"),
                 "send-recipient", error=rx.fragment(
                     field_error(S.phone_error, "phone-error"),
                     rx.cond(S.recipient_spaced != "", rx.text(
                         strings.WILL_SEND_TO, " ", rx.el.bdi(S.recipient_spaced, dir="ltr"),
                         size="2", color_scheme="teal", data_testid="recipient-normalised")))),
        rx.cond(S.mode == "template", _template_fields(), _text_field()),
        rx.cond(~S.read_only, _file_field()),
        labelled(strings.SCHEDULE_AT, rx.input(id="send-at", type="datetime-local", value=S.schedule_at,
                                               on_change=S.set_schedule_at, width="100%", dir="ltr",
                                               aria_invalid=S.schedule_error != ""),
                 "send-at", error=field_error(S.schedule_error, "schedule-error")),
        rx.text(strings.SCHEDULE_ZONE_HINT, " ", rx.text(S.zone_label, as_="span"), size="1",
                color_scheme="gray", data_testid="schedule-zone"),
        rx.cond(~S.read_only, rx.hstack(
            rx.button(rx.icon("send", size=16), strings.SEND_NOW, on_click=S.send_now, data_testid="send-now",
                      loading=S.busy, disabled=S.busy),
            rx.button(rx.icon("clock", size=16), strings.SCHEDULE, variant="soft", on_click=S.schedule,
                      data_testid="schedule", loading=S.busy, disabled=S.busy),
            spacing="3", wrap="wrap",
        )),
        _outcome(),
        spacing="4", width="100%",
    ))


def _outcome() -> rx.Component:
    """The last send's outcome, right under the buttons that made it (and scrolled into view on a phone)."""
    return rx.box(rx.cond(S.result_text != "", rx.callout.root(rx.callout.text(rx.vstack(
        rx.hstack(rx.text(S.result_text, data_testid="send-result"),
                  rx.cond(S.result_status != "", message_chip(S.result_status, data_testid="send-result-status")),
                  spacing="2", align="center", wrap="wrap"),
        rx.cond(S.result_recipient != "", rx.text(strings.RESULT_TO, " ", rx.el.bdi(S.result_recipient, dir="ltr"),
                                                  size="2", data_testid="send-result-recipient")),
        rx.cond(S.result_error != "", rx.text(S.result_error, size="2")),
        rx.cond(S.result_url != "", rx.link(strings.MESSAGE_TITLE, href=S.result_url)),
        spacing="1",
    )), color_scheme=rx.cond(S.result_status == "failed", "red", "green"), width="100%", role="status")),
        id=RESULT_ID, width="100%", aria_live="polite", style={"scrollMarginBottom": "1rem"})


def _preview() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(strings.PREVIEW, as_="h2", size="3"),
        rx.box(rx.cond(S.preview != "", rx.text(S.preview, white_space="pre-wrap", data_testid="preview"),
                       rx.text(strings.PREVIEW_EMPTY, color_scheme="gray")),
               background="var(--green-a3)", padding="0.75rem", border_radius="var(--radius-3)", width="100%"),
        spacing="3", width="100%",
    ))


@dashboard_page(route=routes.SEND, title=strings.SEND_TITLE, on_load=S.load)
def send() -> rx.Component:
    return rx.grid(_form(), _preview(), columns=rx.breakpoints(initial="1", md="2"), gap="1rem", width="100%")
