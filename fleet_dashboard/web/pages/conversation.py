"""One conversation (`/conversations/<phone>`): sent messages and the customer's replies as they arrive, a day
separator above each day's first message, and a reply box (text and a file) under the thread."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.files import file_chip
from fleet_dashboard.web.components.forms import field_error
from fleet_dashboard.web.components.status import ltr, message_chip
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.pages.send import ACCEPT
from fleet_dashboard.web.state.conversation import ConversationState as S

REPLY_UPLOAD_ID = "reply-file"


def _day(label: rx.Var) -> rx.Component:
    """The day's separator: a quiet line with the day in the middle."""
    return rx.hstack(
        rx.separator(size="4", flex="1"),
        rx.text(label, size="1", color_scheme="gray", white_space="nowrap", data_testid="day-separator"),
        rx.separator(size="4", flex="1"),
        align="center", width="100%", spacing="3", padding_y="0.25rem",
    )


def _bubble(item: rx.Var) -> rx.Component:
    outbound = item["direction"] == "outbound"
    return rx.fragment(
        rx.cond(item["day"] != "", _day(item["day"])),
        rx.box(
            rx.vstack(
                rx.text(rx.cond(outbound, strings.CONVERSATION_OUT, strings.CONVERSATION_IN), size="1",
                        weight="bold", color_scheme=rx.cond(outbound, "green", "blue")),
                rx.cond(item["file"] != "", file_chip(item["kind"], item["file"], item["file_url"],
                                                      data_testid="conversation-file")),
                rx.cond(item["body"] != "", rx.text(item["body"], white_space="pre-wrap", size="2", dir="auto",
                                                    data_testid="conversation-body")),
                rx.hstack(
                    rx.text(item["time"], size="1", color_scheme="gray", class_name="ltr", title=item["created_at"],
                            data_testid="conversation-time"),
                    rx.cond(outbound, rx.hstack(message_chip(item["status"]),
                                                rx.link(strings.DETAILS, href=item["url"], size="1"),
                                                spacing="2", align="center")),
                    spacing="2", align="center", wrap="wrap",
                ),
                spacing="1",
            ),
            # RTL: what we sent sits at the start (right), the customer's replies at the end (left).
            align_self=rx.cond(outbound, "flex-start", "flex-end"),
            background=rx.cond(outbound, "var(--green-3)", "var(--blue-3)"),
            border_radius="0.75rem", padding="0.6rem 0.8rem", max_width="min(32rem, 90%)",
            data_testid="conversation-item", data_direction=item["direction"],
        ),
    )


def _reply_file() -> rx.Component:
    chosen = rx.hstack(
        rx.icon(rx.cond(S.file_kind == "image", "image", "file-text"), size=16),
        rx.text(S.file_name, size="2", dir="auto", weight="medium", data_testid="reply-file-name"),
        rx.text(S.file_size, size="1", color_scheme="gray"),
        rx.icon_button(rx.icon("x", size=14), variant="ghost", on_click=S.clear_file, aria_label=strings.REMOVE_FILE,
                       title=strings.REMOVE_FILE, data_testid="reply-remove-file"),
        spacing="2", align="center", wrap="wrap",
    )
    picker = rx.upload.root(
        rx.button(rx.icon("paperclip", size=16), strings.REPLY_ATTACH, variant="soft", color_scheme="gray",
                  type="button"),
        id=REPLY_UPLOAD_ID, max_files=1, multiple=False, accept=ACCEPT,
        on_drop=S.upload_file(rx.upload_files(upload_id=REPLY_UPLOAD_ID)), data_testid="reply-file-picker",
    )
    return rx.cond(S.file_id != "", chosen, picker)


def _reply_box() -> rx.Component:
    return rx.card(rx.vstack(
        rx.text_area(value=S.reply_text, on_change=S.set_reply_text, placeholder=strings.REPLY_PLACEHOLDER,
                     aria_label=strings.REPLY_LABEL, rows="3", width="100%", dir="auto", data_testid="reply-text"),
        field_error(S.reply_error, "reply-error"),
        field_error(S.file_error, "reply-file-error"),
        rx.hstack(
            rx.button(rx.icon("send", size=16), strings.REPLY_SEND, on_click=S.send_reply,
                      data_testid="reply-send"),
            _reply_file(),
            spacing="3", align="center", wrap="wrap",
        ),
        spacing="2", width="100%",
    ), width="100%", data_testid="reply-box")


@dashboard_page(route=routes.CONVERSATION, title=strings.CONVERSATION, on_load=S.load)
def conversation() -> rx.Component:
    return rx.cond(
        S.bad_phone,
        rx.callout.root(rx.callout.text(strings.CONVERSATION_BAD_PHONE), color_scheme="red",
                        data_testid="conversation-bad-phone"),
        rx.vstack(
            rx.hstack(rx.heading(strings.CONVERSATION_TITLE, as_="h2", size="4"), ltr(S.phone, weight="bold",
                                                                            data_testid="conversation-phone"),
                      rx.cond(S.opted_out, rx.badge(strings.NAV_OPT_OUTS, color_scheme="red",
                                                    data_testid="conversation-opted-out")),
                      spacing="2", align="center", wrap="wrap"),
            rx.cond(S.items.length() > 0,
                    rx.flex(rx.foreach(S.items, _bubble), direction="column", gap="0.5rem", width="100%",
                            data_testid="conversation"),
                    rx.text(strings.CONVERSATION_EMPTY, color_scheme="gray", data_testid="conversation-empty")),
            rx.cond(S.may["send"].to(bool) & ~S.read_only, _reply_box()),
            rx.link(strings.BACK, href=routes.HISTORY),
            spacing="3", width="100%", max_width="48rem",
        ),
    )
