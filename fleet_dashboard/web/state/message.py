"""One message's detail page: body, error and every timestamp, with its status kept live."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import select

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import NotFound
from fleet_dashboard.core.events import EventType
from fleet_dashboard.messaging import inbound, media, messages, templates
from fleet_dashboard.notifications.models import NotificationQueue
from fleet_dashboard.web.format import failure, stamp
from fleet_dashboard.web.live import LiveState
from fleet_dashboard.web.state.auth import AuthState, allow
from fleet_dashboard.web.state.queue import waiting


class MessageState(LiveState, AuthState):
    """The message named in the URL, if it belongs to the caller's organisation."""

    message: dict[str, str] = {}
    # The customer's replies since this message was made, first ones first.
    replies: list[dict[str, str]] = []
    not_found: bool = False
    _live_routes: ClassVar = (routes.MESSAGE,)
    _live_events: ClassVar = (EventType.message_status, EventType.message_inbound, EventType.queue_changed)

    def _message_id(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    def _load_row(self, org_id) -> None:
        zone = self._zone()
        with session_scope() as session:
            m = messages.get_for_org(session=session, org_id=org_id, message_id=self._message_id())
            self.message = {
                "id": str(m.id), "recipient": m.recipient_phone, "body": m.message_body, "status": m.status,
                "template": templates.display_names(session=session, org_id=m.org_id).get(
                    m.template_name or "", m.template_name or ""), "error": failure(m.error_code, m.error),
                "error_detail": m.error if m.error_code else "", "whatsapp_id": m.whatsapp_message_id or "",
                "created_at": stamp(m.created_at, zone), "sent_at": stamp(m.sent_at, zone),
                "delivered_at": stamp(m.delivered_at, zone), "read_at": stamp(m.read_at, zone),
                "failed_at": stamp(m.failed_at, zone),
                "conversation_url": routes.conversation_url(m.recipient_phone), "kind": m.message_type,
                "type": strings.MESSAGE_TYPE.get(m.message_type, m.message_type), "file": "", "file_meta": "",
                "file_url": "",
            }
            held = session.exec(select(NotificationQueue).where(NotificationQueue.message_id == m.id,
                                                                NotificationQueue.org_id == m.org_id)).first()
            self.message["wait"] = waiting(held, zone) if held is not None else ""
            file = media.describe(session=session, media_id=m.media_id, filename=m.media_filename)
            if file:
                self.message["file"] = file["filename"] or ""
                self.message["file_meta"] = strings.file_size(file["size"]) if file["size"] else ""
                if file["mime_type"]:  # still stored (retention has not purged it): its page previews it
                    self.message["file_url"] = routes.message_file_url(str(m.id))
            rows = inbound.replies_after(session=session, org_id=m.org_id, phone=m.recipient_phone,
                                         after=m.created_at, actor=self._authorize().actor)
            self.replies = [{"id": str(r.id), "body": r.message_body, "created_at": stamp(r.created_at, zone)}
                            for r in rows]

    @rx.event
    @allow(Action.view)
    def load(self):
        """Another organisation's message id looks exactly like a missing one."""
        ctx = self._authorize()
        self.message, self.replies, self.not_found = {}, [], False
        try:
            self._load_row(ctx.org_id)
        except NotFound:
            self.not_found = True
            return
        return MessageState.watch

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> None:
        """This message's receipts, and replies from its recipient, re-read the page."""
        if any(e.get("message_id") == self.message.get("id") or e.get("type") == EventType.queue_changed
               or (e.get("type") == EventType.message_inbound and e.get("from") == self.message.get("recipient"))
               for e in batch):
            self._load_row(org_id)

    def _live_resync(self, org_id: str | None) -> None:
        self._load_row(org_id)
