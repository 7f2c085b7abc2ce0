"""The conversation with one number: what the organisation sent and what the customer replied, live, and a reply
box that sends through the same service as the Send page and the API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import reflex as rx
from sqlmodel import select

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import phones, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError, InvalidPhone
from fleet_dashboard.core.events import EventType
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging import inbound, optouts
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.notifications import sending
from fleet_dashboard.web.format import clock, day_label, local_day, stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.attachment import Attachable
from fleet_dashboard.web.state.auth import AuthState, allow


def conversation_items(rows: list[dict[str, Any]], zone: ZoneInfo, today: date | None = None) -> list[dict[str, str]]:
    """The conversation as plain strings for the page, oldest first: a short time on each message, and the day
    (اليوم, أمس, a date) on the first message of each day, where the page draws a separator."""
    today = today or localtime.to_local(utcnow(), zone).local.date()
    items, last_day = [], None
    for item in rows:
        outbound = item["direction"] == "outbound"
        day = local_day(item["created_at"], zone)
        has_file = bool(item.get("has_file"))
        items.append({
            "id": str(item["id"]), "direction": item["direction"], "body": item["body"],
            "status": item["status"] or "", "time": clock(item["created_at"], zone),
            "created_at": stamp(item["created_at"], zone),
            "day": day_label(day, today) if day != last_day else "",
            "file": item.get("file") or "", "kind": item.get("kind") or "text",
            "file_url": routes.message_file_url(str(item["id"])) if has_file else "",
            "url": routes.message_url(str(item["id"])) if outbound else ""})
        last_day = day
    return items


class ConversationState(Attachable, LiveState, AuthState):
    """The number named in the URL and its latest messages both ways, oldest first; the reply being written."""

    phone: str = ""
    bad_phone: bool = False
    opted_out: bool = False
    items: list[dict[str, str]] = []
    reply_text: str = ""
    reply_error: str = ""
    _live_routes: ClassVar = (routes.CONVERSATION,)
    _live_events: ClassVar = (EventType.message_inbound, EventType.message_status)

    def _url_phone(self) -> str:
        return unquote(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])[:64]

    def _read(self, org_id: Any) -> None:
        ctx = self._authorize()
        org = uuid.UUID(str(org_id))
        with session_scope() as session:
            rows = inbound.conversation(session=session, org_id=org, phone=self.phone, actor=ctx.actor)
            self.opted_out = optouts.is_opted_out(session=session, org_id=org, phone=self.phone)
            marked = inbound.mark_read(session=session, org_id=org, phone=self.phone, actor=ctx.actor)
        self.items = conversation_items(rows, self._zone())
        if marked:
            self._refresh_unread(ctx, now=True)

    @rx.event
    @allow(Action.view)
    def load(self):
        """A number that does not parse shows a clear line, not an error page."""
        ctx = self._authorize()
        self.items, self.bad_phone, self.opted_out = [], False, False
        self.reply_text = self.reply_error = ""
        self._forget_file()
        try:
            self.phone = phones.normalize_phone(self._url_phone())
        except InvalidPhone:
            self.phone, self.bad_phone = self._url_phone(), True
            return
        self._read(ctx.org_id)
        return ConversationState.watch

    @rx.event
    @allow(Action.send)
    def set_reply_text(self, value: str):
        self.reply_text = value[:4096]
        self.reply_error = ""

    @rx.event
    @allow(Action.send)
    def send_reply(self):
        """Send the reply (text, a file, or a file with its caption) through the one send service; the thread
        shows it at once and follows its status live."""
        ctx = self._authorize()
        self.reply_error = ""
        if self.bad_phone:
            return
        text = self.reply_text.strip()
        if not text and not self.file_id:
            self.reply_error = strings.error_text("message_empty")
            return
        try:
            sending.submit(sending.SendRequest(
                org_id=ctx.org_id, recipient=self.phone, text=text or None, sent_by=ctx.user_id, actor=ctx.actor,
                attachment=self._attachment()))
        except DomainError as exc:
            self.reply_error = strings.error_text(exc.code, **exc.params)
            return
        self.reply_text = ""
        self._forget_file()
        self._read(ctx.org_id)
        return rx.toast.success(strings.REPLY_SENT)

    def _concerns_us(self, batch: list[dict[str, Any]], org_id: str) -> bool:
        known = {i["id"] for i in self.items}
        unknown = []
        for event in batch:
            if event.get("type") == EventType.message_inbound:
                if event.get("from") == self.phone:
                    return True
            elif event.get("message_id") in known:
                return True
            elif event.get("message_id"):
                unknown.append(event["message_id"])
        if not unknown:
            return False
        with session_scope() as session:  # a new message to this number (sent from another tab or the API)
            ids = [uuid.UUID(i) for i in unknown[:200]]
            return session.exec(select(WhatsAppMessage.id).where(
                WhatsAppMessage.org_id == uuid.UUID(org_id), WhatsAppMessage.id.in_(ids),
                WhatsAppMessage.recipient_phone == self.phone)).first() is not None

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        """A reply from this number, or a status change of a message to it, re-reads the conversation."""
        if batch and not self.bad_phone and self._concerns_us(batch, org_id):
            self._read(org_id)

    def _live_resync(self, org_id: str | None) -> None:
        if not self.bad_phone:
            self._read(org_id)
