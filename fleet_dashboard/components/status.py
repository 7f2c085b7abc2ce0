"""Status chips: one colour and one Arabic word per session, message and queue status."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings

SESSION_COLORS = {"disconnected": "gray", "connecting": "amber", "qr_pending": "blue", "connected": "green",
                  "error": "red"}
MESSAGE_COLORS = {"pending": "gray", "queued": "gray", "sending": "amber", "sent": "blue", "delivered": "cyan",
                  "read": "green", "failed": "red"}
QUEUE_COLORS = {"pending": "gray", "processing": "amber", "completed": "green", "failed": "red",
                "cancelled": "gray", "unknown": "orange"}


def _chip(status: rx.Var, labels: dict[str, str], colors: dict[str, str], **props) -> rx.Component:
    label = rx.match(status, *labels.items(), status)
    color = rx.match(status, *colors.items(), "gray")
    return rx.badge(label, color_scheme=color, variant="soft", size="2", radius="full",
                    data_status=status, **props)


def session_chip(status: rx.Var, **props) -> rx.Component:
    """The WhatsApp session status ("متصل", "خطأ", …)."""
    return _chip(status, strings.SESSION_STATUS, SESSION_COLORS, **props)


def message_chip(status: rx.Var, **props) -> rx.Component:
    """A message's delivery status ("تمت القراءة", …)."""
    return _chip(status, strings.MESSAGE_STATUS, MESSAGE_COLORS, **props)


def queue_chip(status: rx.Var, **props) -> rx.Component:
    """A queued notification's status."""
    return _chip(status, strings.QUEUE_STATUS, QUEUE_COLORS, **props)


def when(stamp: rx.Var, **props) -> rx.Component:
    """A timestamp the state formatted in the organisation's zone, with its offset (state/format.stamp), or a dash."""
    return rx.cond(stamp != "", rx.text(stamp, as_="span", class_name="ltr", data_testid="when", **props),
                   rx.text(strings.NONE, as_="span"))


def ltr(text: rx.Var | str, **props) -> rx.Component:
    """Phone numbers and ids read left to right inside Arabic text."""
    return rx.text(text, as_="span", class_name="ltr", **props)
