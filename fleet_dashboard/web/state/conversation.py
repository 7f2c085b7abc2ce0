"""The conversation with one number: what the organisation sent and what the customer replied, live."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import reflex as rx
from sqlmodel import select

from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import phones, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import InvalidPhone
from fleet_dashboard.core.events import EventType
from fleet_dashboard.messaging import inbound, optouts
from fleet_dashboard.messaging.models import WhatsAppMessage
from fleet_dashboard.web.format import stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, allow


def conversation_item(item: dict[str, Any], zone: ZoneInfo) -> dict[str, str]:
    """One message of the conversation as plain strings for the page."""
    outbound = item["direction"] == "outbound"
    return {"id": str(item["id"]), "direction": item["direction"], "body": item["body"],
            "status": item["status"] or "", "created_at": stamp(item["created_at"], zone),
            "url": routes.message_url(str(item["id"])) if outbound else ""}


class ConversationState(LiveState, AuthState):
    """The number named in the URL and its latest messages both ways, oldest first."""

    phone: str = ""
    bad_phone: bool = False
    opted_out: bool = False
    items: list[dict[str, str]] = []
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
        self.items = [conversation_item(r, self._zone()) for r in rows]

    @rx.event
    @allow(Action.view)
    def load(self):
        """A number that does not parse shows a clear line, not an error page."""
        ctx = self._authorize()
        self.items, self.bad_phone, self.opted_out = [], False, False
        try:
            self.phone = phones.normalize_phone(self._url_phone())
        except InvalidPhone:
            self.phone, self.bad_phone = self._url_phone(), True
            return
        self._read(ctx.org_id)
        return ConversationState.watch

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
