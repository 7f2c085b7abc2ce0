"""The Send page: compose text or fill a template, preview it, then send now or schedule on the queue."""

from __future__ import annotations

from typing import Any

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import localtime
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import offload, phones, routes
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.messaging import templates
from fleet_dashboard.messaging.models import MessageStatus
from fleet_dashboard.notifications import queue, sending
from fleet_dashboard.web.format import fill_preview
from fleet_dashboard.web.state.attachment import Attachable
from fleet_dashboard.web.state.auth import AuthState, Ctx, allow, current_caller

RESULT_WAIT_SECONDS = 15.0
# The outcome sits under the buttons; on a phone it may still be below the fold, so bring it into view.
RESULT_ID = "send-outcome"
_SHOW_RESULT = rx.call_script(f"document.getElementById('{RESULT_ID}')?.scrollIntoView({{block: 'nearest'}})")


class SendState(Attachable, AuthState):
    """The form, its inline errors, and the outcome of the last send; the file to go with it (Attachable: stored on
    upload, sent as a file with the text or template as caption)."""

    mode: str = "text"
    recipient: str = ""
    text: str = ""
    template_id: str = ""
    templates: list[dict[str, str]] = []
    variables: list[str] = []
    # Each variable as people read it (customer_name: اسم العميل).
    variable_labels: dict[str, str] = {}
    values: dict[str, str] = {}
    schedule_at: str = ""
    phone_error: str = ""
    text_error: str = ""
    template_error: str = ""
    missing: list[str] = []
    result_text: str = ""
    result_status: str = ""
    result_message_id: str = ""
    result_error: str = ""
    result_recipient: str = ""
    schedule_error: str = ""
    # True from the tap until the service has answered: both buttons are disabled meanwhile.
    busy: bool = False
    _bodies: dict[str, str] = {}

    @rx.event
    @allow(Action.view)
    def load(self):
        """Offer the organisation's active templates."""
        ctx = self._authorize()
        self._zone()  # the caption under the schedule field names the zone the time is read in
        with session_scope() as session:
            rows = templates.list_for_org(session=session, org_id=ctx.org_id, active_only=True)
        self.templates = [{"id": str(t.id), "name": templates.display_name(t)} for t in rows]
        self._bodies = {str(t.id): t.message_template for t in rows}
        if self.template_id not in self._bodies:
            self._pick(rows[0].id if rows else "")
        self._clear_errors()

    def _pick(self, template_id: Any) -> None:
        self.template_id = str(template_id or "")
        body = self._bodies.get(self.template_id, "")
        self.variables = templates.extract_variables(body)
        self.variable_labels = {name: strings.variable_label(name) for name in self.variables}
        self.values = {name: self.values.get(name, "") for name in self.variables}

    def _clear_errors(self) -> None:
        self.phone_error = self.text_error = self.template_error = self.schedule_error = ""
        self.missing = []

    def _clear_result(self) -> None:
        """A new attempt hides the last one's outcome, so an old "sent" never stands beside a new failure."""
        self.result_text = self.result_status = self.result_message_id = self.result_error = ""
        self.result_recipient = ""

    def _clear_form(self) -> None:
        """After the service took the message: an empty form for the next one (the mode and template stay)."""
        self.recipient = self.text = self.schedule_at = ""
        self.values = {name: "" for name in self.variables}
        self._forget_file()

    @rx.event
    @allow(Action.view)
    def set_mode(self, mode: str | list[str]):
        self.mode = "template" if mode == "template" else "text"
        self._clear_errors()

    @rx.event
    @allow(Action.view)
    def pick_template(self, template_id: str):
        self._pick(template_id)
        self.missing = []
        self.template_error = ""

    @rx.event
    @allow(Action.view)
    def set_value(self, name: str, value: str):
        if name in self.variables:
            self.values = {**self.values, name: value}
            if value.strip() and name in self.missing:
                self.missing = [m for m in self.missing if m != name]

    @rx.event
    @allow(Action.view)
    def set_recipient(self, value: str):
        self.recipient = value[:64]
        self.phone_error = ""

    @rx.event
    @allow(Action.view)
    def set_text(self, value: str):
        self.text = value
        self.text_error = ""

    @rx.event
    @allow(Action.view)
    def set_schedule_at(self, value: str):
        self.schedule_at = value[:32]
        self.schedule_error = ""

    @rx.event
    @allow(Action.view)
    def check_phone(self):
        """Validate the number when the field loses focus, before anything is sent."""
        if self.recipient.strip():
            self._phone()

    @rx.var
    def preview(self) -> str:
        if self.mode == "text":
            return self.text
        return fill_preview(self._bodies.get(self.template_id, ""), self.values)

    @rx.var
    def recipient_spaced(self) -> str:
        """The number the message will go to, as the service will read it (`+20 100 123 4567`); empty until the
        field holds a valid number."""
        if not self.recipient.strip():
            return ""
        try:
            return phones.spaced(phones.normalize_phone(self.recipient))
        except DomainError:
            return ""

    def _phone(self) -> str | None:
        try:
            phone = phones.normalize_phone(self.recipient)
        except DomainError as exc:
            self.phone_error = strings.error_text(exc.code, **exc.params)
            return None
        self.phone_error = ""
        return phone

    def _valid(self) -> bool:
        """Every check a person can fix in the form, run before anything is written."""
        self._clear_errors()
        ok = self._phone() is not None
        if self.mode == "text" and not self.text.strip() and not self.file_id:
            self.text_error, ok = strings.error_text("message_empty"), False
        if self.mode == "template":
            if self.template_id not in self._bodies:
                self.template_error, ok = strings.error_text("template_required"), False
            self.missing = [name for name in self.variables if not self.values.get(name, "").strip()]
            ok = ok and not self.missing
        return ok

    def _message_args(self) -> dict[str, Any]:
        if self.mode == "template":
            return {"template_id": self.template_id, "variables": dict(self.values)}
        return {"text": self.text}

    def _show_error(self, exc: DomainError) -> None:
        text = strings.error_text(exc.code, **exc.params)
        if exc.code == "invalid_phone":
            self.phone_error = text
        elif exc.code == "missing_variables":
            self.missing = list(exc.params.get("missing") or [])
        elif self.mode == "text":
            self.text_error = text
        else:
            self.template_error = text

    @rx.event
    @allow(Action.send)
    def send_now(self):
        """Hand the message to the one send service (the API's too), then follow its verdict in the background.

        The service refuses a disconnected organisation before writing anything, and audits the send. A time in
        the schedule field is not ignored: the person is asked to schedule or to clear it."""
        ctx = self._authorize()
        self._clear_result()
        if not self._valid():
            return
        if self.schedule_at.strip():
            self.schedule_error = strings.error_text("schedule_with_send_now")
            return
        args = self._message_args()
        self.busy = True
        yield
        try:
            message, _ = sending.submit(sending.SendRequest(
                org_id=ctx.org_id, recipient=self.recipient, text=args.get("text"),
                template_id=args.get("template_id"), variables=args.get("variables"), sent_by=ctx.user_id,
                actor=ctx.actor, attachment=self._attachment()))
        except DomainError as exc:
            self._show_error(exc)
            yield rx.toast.error(strings.error_text(exc.code, **exc.params))
            return
        finally:
            self.busy = False
        self.result_message_id, self.result_status, self.result_error = str(message.id), message.status, ""
        self.result_recipient = phones.spaced(message.recipient_phone)
        self.result_text = strings.SENDING
        self._clear_form()
        yield [_SHOW_RESULT, SendState.follow_result]

    @rx.event
    @allow(Action.schedule)
    def schedule(self):
        """Put the notification on the durable queue for later (or as soon as the worker can, with no time).

        A time that is not a time, or one already past, is refused with the reason under the field."""
        ctx = self._authorize()
        self._clear_result()
        if not self._valid():
            return
        try:
            when = queue.picked_time(localtime.parse_local(self.schedule_at, self._zone()))
        except DomainError as exc:
            self.schedule_error = strings.error_text(exc.code, **exc.params)
            return
        self.busy = True
        yield
        try:
            with session_scope() as session:  # the service audits it, as it does for the API
                row = self._enqueue(session, ctx, when)
        except DomainError as exc:
            self._show_error(exc)
            yield rx.toast.error(strings.error_text(exc.code, **exc.params))
            return
        finally:
            self.busy = False
        if row is None:
            return
        self.result_text = strings.QUEUED_OK
        self.result_recipient = phones.spaced(row.recipient_phone)
        self._clear_form()
        yield [_SHOW_RESULT, rx.toast.success(strings.QUEUED_OK)]

    def _enqueue(self, session, ctx: Ctx, when):
        if self.mode == "template":
            row, _ = queue.enqueue(session=session, org_id=ctx.org_id, recipient=self.recipient,
                                   template_id=self.template_id, variables=dict(self.values), scheduled_for=when,
                                   actor=ctx.actor,
                                   attachment=self._attachment())
            return row
        return queue.schedule_text(session=session, org_id=ctx.org_id, recipient=self.recipient,
                                   text_body=self.text, scheduled_for=when, actor=ctx.actor,
                                   attachment=self._attachment())

    @rx.event(background=True)
    @allow(Action.send)
    async def follow_result(self):
        """Show the verdict of the send just made, from the same service the API waits on."""
        started = current_caller()
        async with self:
            message_id = self.result_message_id
        if not message_id:
            return
        try:
            message, verdict = await sending.wait_for_verdict(started.org_id, message_id,
                                                              wait_seconds=RESULT_WAIT_SECONDS)
        except DomainError:
            return
        if verdict == sending.QUEUED:
            return  # no verdict in time: the page keeps "queued", history follows it live
        async with self:
            if self.result_message_id != message_id or \
                    not await offload.run_sync(self._still_admitted, started, None):
                return
            self.result_status, self.result_error = message.status, message.error or ""
            sent = verdict == MessageStatus.sent.value
            self.result_text = strings.SENT_OK if sent else strings.SEND_FAILED
        if sent:
            yield rx.toast.success(strings.SENT_OK)
        else:
            yield rx.toast.error(f"{strings.SEND_FAILED} {message.error or ''}".strip())

    @rx.var
    def result_url(self) -> str:
        return routes.message_url(self.result_message_id) if self.result_message_id else ""
