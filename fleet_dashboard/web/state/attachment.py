"""A file chosen to go with a message: the conversation's reply box picks one the way the Send page does.

Mixed into a page state that is also an AuthState: the upload is checked (messaging/media.check) and stored in the
caller's organisation, then handed to the send service as an Attachment the service re-reads from that store."""

from __future__ import annotations

import asyncio
import uuid

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import offload
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.messaging import media
from fleet_dashboard.web.state.auth import allow


class Attachable(rx.State, mixin=True):
    """One stored document or image, waiting for the next send."""

    file_id: str = ""
    file_name: str = ""
    file_kind: str = ""
    file_size: str = ""
    file_error: str = ""

    def _attachment(self) -> media.Attachment | None:
        """The uploaded file, as the state names it; the services re-read it from this organisation's store."""
        if not self.file_id:
            return None
        try:
            media_id = uuid.UUID(self.file_id)
        except ValueError:
            media_id = uuid.UUID(int=0)  # found nowhere: the service refuses it as missing
        return media.Attachment(media_id=media_id, filename=self.file_name, kind=self.file_kind)

    def _forget_file(self) -> None:
        self.file_id = self.file_name = self.file_kind = self.file_size = self.file_error = ""

    @rx.event
    @allow(Action.send)
    async def upload_file(self, files: list[rx.UploadFile]):
        """Check and store the chosen PDF or image; it goes with the next send."""
        ctx = self._authorize()
        self.file_error = ""
        files = [f for f in files or [] if isinstance(f, rx.UploadFile)]  # a crafted event may name anything
        if not files:
            return
        upload = files[0]
        limit = media.largest_limit()
        data = await upload.read(limit + 1)
        try:
            if len(data) > limit:
                raise media.MediaTooLarge("too large", kind="document", limit=limit)
            # Checking the content (PDF and image parsing) is CPU work: on the offload pool, not the event loop.
            file = await offload.run_sync(media.check, kind=None, data=data, filename=upload.name or upload.filename,
                                          mime_type=upload.content_type)
            attachment = await asyncio.to_thread(store_file, ctx.org_id, file)
        except DomainError as exc:
            self._forget_file()
            self.file_error = strings.error_text(exc.code, **exc.params)
            return
        self.file_id, self.file_name, self.file_kind = str(attachment.media_id), attachment.filename, attachment.kind
        self.file_size = strings.file_size(file.size)

    @rx.event
    @allow(Action.send)
    def clear_file(self):
        self._forget_file()


def store_file(org_id: uuid.UUID, file: media.MediaFile) -> media.Attachment:
    """Keep a checked upload in the organisation's media store."""
    with session_scope() as session:
        return media.store(session=session, org_id=org_id, file=file)
