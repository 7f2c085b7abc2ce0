"""Status chips: one colour and one Arabic word per WhatsApp session, message and queue status."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.messaging.models import MessageStatus

SESSION_COLORS = {"disconnected": "gray", "connecting": "amber", "qr_pending": "blue", "connected": "green",
                  "error": "red"}
# Delivered stages, further along = greener; a status added to models.MessageStatus takes its colour from here.
_WENT_OUT_PALETTE = ("blue", "cyan", "green", "teal", "grass", "jade")


def message_color(status: MessageStatus) -> str:
    """A message chip's colour, from what the status means (models.MessageStatus), not from a second list."""
    if status.withdrawn:
        return "gray"  # called off by a person: neutral, not a failure
    if status.settled and not status.went_out:
        return "red"  # settled without going out: a failure
    if not status.settled:
        return "gray" if status.rank == 0 else "amber"
    went_out = sorted((s for s in MessageStatus if s.went_out), key=lambda s: s.rank)
    return _WENT_OUT_PALETTE[min(went_out.index(status), len(_WENT_OUT_PALETTE) - 1)]


MESSAGE_COLORS = {s.value: message_color(s) for s in MessageStatus}
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
