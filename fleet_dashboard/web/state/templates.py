"""Templates: list system and organisation templates; owners and admins create, edit, switch off and delete."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import permissions
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.messaging import templates
from fleet_dashboard.messaging.models import WhatsAppTemplate
from fleet_dashboard.web.format import fill_preview, short, stamp
from fleet_dashboard.web.state.auth import AuthState, allow


def sample_preview(body: str) -> str:
    """The body with every {{variable}} filled by a sample value."""
    return fill_preview(body, strings.TEMPLATE_SAMPLES)


def template_row(t: WhatsAppTemplate, zone: ZoneInfo) -> dict[str, str]:
    return {"id": str(t.id), "name": templates.display_name(t), "api_name": t.name, "description": t.description,
            "body": short(fill_preview(t.message_template), 70),
            "variables": strings.LIST_SEPARATOR.join(strings.variable_label(v) for v in t.variables or []),
            "system": "1" if t.is_system else "",
            "active": "1" if t.is_active else "", "urgent": "1" if t.urgent else "", "usage_count": str(t.usage_count),
            "last_used_at": stamp(t.last_used_at, zone)}


class TemplatesState(AuthState):
    """The list, and one editor dialog used for new, edit and read-only views."""

    rows: list[dict[str, str]] = []
    editor_open: bool = False
    editor_readonly: bool = False
    editing_id: str = ""
    f_name: str = ""
    f_display: str = ""
    f_description: str = ""
    f_category: str = "general"
    f_body: str = ""
    # Urgent: its notifications skip quiet hours (never the pacing) and may use the daily cap's reserve.
    f_urgent: bool = False
    f_name_error: str = ""
    f_body_error: str = ""
    delete_open: bool = False
    delete_id: str = ""
    delete_name: str = ""

    def _reload(self, org_id) -> None:
        zone = self._zone()
        with session_scope() as session:
            self.rows = [template_row(t, zone) for t in templates.list_for_org(session=session, org_id=org_id)]

    @rx.event
    @allow(Action.view)
    def load(self):
        ctx = self._authorize()
        self.editor_open = self.delete_open = False
        self._reload(ctx.org_id)

    @rx.var
    def detected_variables(self) -> list[str]:
        return templates.extract_variables(self.f_body)

    @rx.var
    def detected_labels(self) -> list[str]:
        """The body's variables as people read them."""
        return [strings.variable_label(v) for v in templates.extract_variables(self.f_body)]

    @rx.var
    def preview(self) -> str:
        return sample_preview(self.f_body)

    def _fill(self, t: WhatsAppTemplate | None) -> None:
        self.editing_id = str(t.id) if t else ""
        self.f_name = t.name if t else ""
        self.f_display = t.display_name if t else ""
        self.f_description = t.description if t else ""
        self.f_category = t.category if t else "general"
        self.f_body = t.message_template if t else ""
        self.f_urgent = bool(t.urgent) if t else False
        self.f_name_error = self.f_body_error = ""

    @rx.event
    @allow(Action.templates)
    def open_new(self):
        self._fill(None)
        self.editor_readonly, self.editor_open = False, True

    @rx.event
    @allow(Action.view)
    def open_template(self, template_id: str):
        """Edit an organisation template; system templates (or a viewer's) open read-only."""
        ctx = self._authorize()
        with session_scope() as session:
            t = templates.get_for_org(session=session, org_id=ctx.org_id, template_id=template_id)
        self._fill(t)
        self.editor_readonly = t.is_system or not permissions.can(ctx.role, Action.templates)
        self.editor_open = True

    @rx.event
    @allow(Action.view)
    def set_editor_open(self, value: bool):
        self.editor_open = value

    @rx.event
    @allow(Action.view)
    def set_f_name(self, value: str):
        self.f_name, self.f_name_error = value[:200], ""

    @rx.event
    @allow(Action.view)
    def set_f_display(self, value: str):
        self.f_display = value[:templates.DISPLAY_MAX]

    @rx.event
    @allow(Action.view)
    def set_f_description(self, value: str):
        self.f_description = value[:500]

    @rx.event
    @allow(Action.view)
    def set_f_category(self, value: str):
        self.f_category = value[:50]

    @rx.event
    @allow(Action.view)
    def set_f_body(self, value: str):
        self.f_body, self.f_body_error = value, ""

    @rx.event
    @allow(Action.view)
    def set_f_urgent(self, value: bool):
        self.f_urgent = bool(value)

    @rx.event
    @allow(Action.templates)
    def save(self):
        """Create or update; validation errors stay in the dialog next to their field."""
        ctx = self._authorize()
        fields = {"name": self.f_name, "message_template": self.f_body, "description": self.f_description,
                  "category": self.f_category, "urgent": self.f_urgent, "display_name": self.f_display}
        try:
            with session_scope() as session:
                if self.editing_id:
                    templates.update_template(session=session, org_id=ctx.org_id, template_id=self.editing_id,
                                              actor=ctx.actor, **fields)
                else:
                    templates.create(session=session, org_id=ctx.org_id, created_by=ctx.user_id, actor=ctx.actor,
                                     **fields)
        except DomainError as exc:
            text = strings.error_text(exc.code, **exc.params)
            if exc.code.startswith("template_body"):
                self.f_body_error = text
            elif exc.code in ("template_name", "template_exists"):
                self.f_name_error = text
            else:
                raise
            return
        done = strings.TEMPLATE_UPDATED if self.editing_id else strings.TEMPLATE_CREATED
        self.editor_open = False
        self._reload(ctx.org_id)
        return rx.toast.success(done)

    @rx.event
    @allow(Action.templates)
    def toggle_active(self, template_id: str):
        ctx = self._authorize()
        with session_scope() as session:
            current = templates.get_for_org(session=session, org_id=ctx.org_id, template_id=template_id)
            templates.update_template(session=session, org_id=ctx.org_id, template_id=current.id,
                                      is_active=not current.is_active, actor=ctx.actor)
        self._reload(ctx.org_id)

    @rx.event
    @allow(Action.templates)
    def ask_delete(self, template_id: str):
        ctx = self._authorize()
        with session_scope() as session:
            t = templates.get_for_org(session=session, org_id=ctx.org_id, template_id=template_id)
        self.delete_id, self.delete_name, self.delete_open = str(t.id), templates.display_name(t), True

    @rx.event
    @allow(Action.view)
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    @allow(Action.templates)
    def delete_template(self, template_id: str):
        """Delete after the confirmation dialog; a system template refuses."""
        ctx = self._authorize()
        with session_scope() as session:
            templates.delete(session=session, org_id=ctx.org_id, template_id=template_id, actor=ctx.actor)
        self.delete_open = False
        self._reload(ctx.org_id)
        return rx.toast.success(strings.TEMPLATE_DELETED)

    @rx.event
    @allow(Action.templates)
    def duplicate(self, template_id: str):
        """Copy any visible template (system ones included) into an editable organisation template."""
        ctx = self._authorize()
        with session_scope() as session:
            templates.duplicate(session=session, org_id=ctx.org_id, template_id=template_id,
                                created_by=ctx.user_id, actor=ctx.actor)
        self.editor_open = False
        self._reload(ctx.org_id)
        return rx.toast.success(strings.TEMPLATE_DUPLICATED)
