"""One message's detail page: body, error and every timestamp, with its status kept live."""

from __future__ import annotations

from typing import Any

import reflex as rx

from fleet_dashboard import routes, strings
from fleet_dashboard.db import session_scope
from fleet_dashboard.services import media, messaging
from fleet_dashboard.services.errors import NotFound
from fleet_dashboard.services.permissions import Action
from fleet_dashboard.state import live
from fleet_dashboard.state.auth import AuthState, allow, current_caller
from fleet_dashboard.state.format import failure, iso


class MessageState(AuthState):
    """The message named in the URL, if it belongs to the caller's organisation."""

    message: dict[str, str] = {}
    not_found: bool = False
    _watch_gen: int = 0

    def _message_id(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    def _load_row(self, org_id) -> None:
        with session_scope() as session:
            m = messaging.get_for_org(session=session, org_id=org_id, message_id=self._message_id())
            self.message = {
                "id": str(m.id), "recipient": m.recipient_phone, "body": m.message_body, "status": m.status,
                "template": m.template_name or "", "error": failure(m.error_code, m.error),
                "error_detail": m.error if m.error_code else "", "whatsapp_id": m.whatsapp_message_id or "",
                "created_at": iso(m.created_at), "sent_at": iso(m.sent_at), "delivered_at": iso(m.delivered_at),
                "read_at": iso(m.read_at), "failed_at": iso(m.failed_at), "kind": m.message_type,
                "type": strings.MESSAGE_TYPE.get(m.message_type, m.message_type), "file": "", "file_meta": "",
            }
            file = media.describe(session=session, media_id=m.media_id, filename=m.media_filename)
            if file:
                self.message["file"] = file["filename"] or ""
                self.message["file_meta"] = " · ".join(
                    x for x in (file["mime_type"], strings.file_size(file["size"]) if file["size"] else "") if x)

    @rx.event
    @allow(Action.view)
    def load(self):
        """Another organisation's message id looks exactly like a missing one."""
        ctx = self._authorize()
        self.message, self.not_found = {}, False
        try:
            self._load_row(ctx.org_id)
        except NotFound:
            self.not_found = True
            return
        return MessageState.watch

    @rx.event(background=True)
    @allow(Action.view)
    async def watch(self):
        org_id = str(current_caller().org_id)

        def apply(state: MessageState, batch: list[dict[str, Any]]) -> None:
            if any(e.get("message_id") == state.message.get("id") for e in batch):
                state._load_row(org_id)

        await live.follow(self, gen_attr="_watch_gen", route_ids=(routes.MESSAGE,), org_id=org_id,
                          types=("message.status",), apply=apply, resync=lambda s: s._load_row(org_id))
