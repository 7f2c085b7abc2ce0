"""One conversation (`/conversations/<phone>`): sent messages and the customer's replies, as they arrive."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.status import ltr, message_chip, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.conversation import ConversationState as S


def _bubble(item: rx.Var) -> rx.Component:
    outbound = item["direction"] == "outbound"
    return rx.box(
        rx.vstack(
            rx.text(rx.cond(outbound, strings.CONVERSATION_OUT, strings.CONVERSATION_IN), size="1", weight="bold",
                    color_scheme=rx.cond(outbound, "green", "blue")),
            rx.text(item["body"], white_space="pre-wrap", size="2", data_testid="conversation-body"),
            rx.hstack(
                when(item["created_at"]),
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
    )


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
            rx.link(strings.BACK, href=routes.HISTORY),
            spacing="3", width="100%", max_width="48rem",
        ),
    )
