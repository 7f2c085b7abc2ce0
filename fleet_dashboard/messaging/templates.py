"""Message templates: the four system ones every organisation shares, plus each organisation's own."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts import audit, orgs, permissions
from fleet_dashboard.accounts.permissions import Action, Actor
from fleet_dashboard.core.errors import Conflict, MissingVariables, NotFound, PermissionDenied, ValidationError
from fleet_dashboard.core.pagination import parse_id
from fleet_dashboard.core.tables import utcnow
from fleet_dashboard.messaging.models import WhatsAppTemplate

VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MAX_BODY = 4096


def extract_variables(text: str) -> list[str]:
    """The distinct {{variables}} in a template body, in order of first use."""
    return list(dict.fromkeys(VARIABLE_RE.findall(text or "")))


def render(text: str, variables: Mapping[str, Any] | None) -> str:
    """Fill every {{variable}} in one pass, so a value is never evaluated or expanded again."""
    variables = variables or {}
    missing = [
        name for name in extract_variables(text)
        if variables.get(name) is None or not str(variables.get(name)).strip()
    ]
    if missing:
        raise MissingVariables(f"missing template variables: {', '.join(missing)}", missing=missing)
    return VARIABLE_RE.sub(lambda m: str(variables[m.group(1)]), text)


def render_for_send(name: str | None, body: str | None, is_active: bool | None,
                    variables: Mapping[str, Any] | None) -> str:
    """The one check a template passes before it is sent, wherever it is sent from (send now, enqueue,
    the worker): it still exists, it is switched on, and every variable has a value."""
    if body is None:
        raise NotFound("unknown template: it was deleted or never existed", code="unknown_template")
    if is_active is False:
        raise ValidationError(f"template {name!r} is disabled", code="template_inactive", name=name)
    return render(body, variables)


DISPLAY_MAX = 120


def display_name(template: WhatsAppTemplate) -> str:
    """What people read for a template: its display name, else its description's first line, else its name."""
    described = (template.description or "").strip().splitlines()[0][:DISPLAY_MAX] if template.description else ""
    return (template.display_name or "").strip() or described or template.name


def display_names(*, session: Session, org_id: uuid.UUID) -> dict[str, str]:
    """name -> display name of every template the organisation sees (messages keep the name they were sent by)."""
    return {t.name: display_name(t) for t in list_for_org(session=session, org_id=org_id)}


def _visible(org_id: uuid.UUID):
    return or_(WhatsAppTemplate.org_id == org_id, WhatsAppTemplate.org_id.is_(None))


def list_for_org(*, session: Session, org_id: uuid.UUID, active_only: bool = False) -> list[WhatsAppTemplate]:
    """System templates first, then the organisation's own, by name."""
    query = select(WhatsAppTemplate).where(_visible(org_id))
    if active_only:
        query = query.where(WhatsAppTemplate.is_active.is_(True))
    query = query.order_by(WhatsAppTemplate.is_system.desc(), WhatsAppTemplate.name)
    return list(session.exec(query))


def get_for_org(
    *,
    session: Session,
    org_id: uuid.UUID,
    template_id: uuid.UUID | str | None = None,
    name: str | None = None,
) -> WhatsAppTemplate:
    """A template this organisation may use, by id or name; another organisation's is NotFound."""
    query = select(WhatsAppTemplate).where(_visible(org_id))
    if template_id is not None:
        template_id = parse_id(template_id, code="unknown_template", noun="template")
        query = query.where(WhatsAppTemplate.id == template_id)
    elif name:
        query = query.where(WhatsAppTemplate.name == name)
    else:
        raise ValidationError("template_id or template_name is required", code="template_required")
    template = session.exec(query).first()
    if template is None:
        raise NotFound(f"template {template_id or name!r} not found", code="unknown_template")
    return template


def _validate(*, session: Session, org_id: uuid.UUID, name: str, body: str,
              exclude_id: uuid.UUID | None = None) -> None:
    if not NAME_RE.match(name or ""):
        raise ValidationError(
            "template name must be 2-64 characters of a-z, 0-9 and _, starting with a letter",
            code="template_name",
        )
    if not (body or "").strip():
        raise ValidationError("template body must not be empty", code="template_body_empty")
    if len(body) > MAX_BODY:
        raise ValidationError(f"template body is longer than {MAX_BODY} characters", code="template_body_long",
                              limit=MAX_BODY)
    clash = select(WhatsAppTemplate.id).where(_visible(org_id), WhatsAppTemplate.name == name)
    if exclude_id:
        clash = clash.where(WhatsAppTemplate.id != exclude_id)
    if session.exec(clash).first():
        raise Conflict(f"a template named {name!r} already exists", code="template_exists", name=name)


def _own(*, session: Session, org_id: uuid.UUID, template_id: uuid.UUID) -> WhatsAppTemplate:
    template = get_for_org(session=session, org_id=org_id, template_id=template_id)
    if template.is_system or template.org_id != org_id:
        raise PermissionDenied("system templates are read-only", code="system_template_readonly")
    return template


def create(
    *,
    session: Session,
    org_id: uuid.UUID,
    name: str,
    message_template: str,
    description: str = "",
    category: str = "general",
    created_by: uuid.UUID | None = None,
    urgent: bool = False,
    display_name: str = "",
    actor: Actor,
) -> WhatsAppTemplate:
    """Create an organisation template; its variables come from the body. An urgent one (an OTP, a failed
    payment) makes every notification of it urgent: it skips quiet hours, never the pacing."""
    permissions.require(actor, Action.templates, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    template = _insert(session=session, org_id=org_id, name=name, message_template=message_template,
                       description=description, category=category, created_by=created_by, display=display_name)
    if urgent:
        template.urgent = True
        session.add(template)
        session.flush()
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="template_created",
                        template_id=str(template.id), name=template.name, urgent=template.urgent)
    return template


def _insert(*, session: Session, org_id: uuid.UUID, name: str, message_template: str, description: str,
            category: str, created_by: uuid.UUID | None, display: str = "") -> WhatsAppTemplate:
    name = (name or "").strip()
    _validate(session=session, org_id=org_id, name=name, body=message_template)
    template = WhatsAppTemplate(
        org_id=org_id, name=name, message_template=message_template, description=description.strip()[:500],
        display_name=" ".join((display or "").split())[:DISPLAY_MAX],
        category=(category or "general").strip()[:50], variables=extract_variables(message_template),
        created_by=created_by,
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    *,
    session: Session,
    org_id: uuid.UUID,
    template_id: uuid.UUID,
    name: str | None = None,
    message_template: str | None = None,
    description: str | None = None,
    category: str | None = None,
    is_active: bool | None = None,
    urgent: bool | None = None,
    display_name: str | None = None,
    actor: Actor,
) -> WhatsAppTemplate:
    """Change an organisation template; system templates refuse."""
    permissions.require(actor, Action.templates, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    template = _own(session=session, org_id=org_id, template_id=template_id)
    new_name = (name if name is not None else template.name).strip()
    new_body = message_template if message_template is not None else template.message_template
    _validate(session=session, org_id=org_id, name=new_name, body=new_body, exclude_id=template.id)
    template.name, template.message_template = new_name, new_body
    template.variables = extract_variables(new_body)
    if description is not None:
        template.description = description.strip()[:500]
    if display_name is not None:
        template.display_name = " ".join(display_name.split())[:DISPLAY_MAX]
    if category is not None:
        template.category = category.strip()[:50] or "general"
    if is_active is not None:
        template.is_active = is_active
    if urgent is not None:
        template.urgent = urgent
    template.updated_at = utcnow()
    session.add(template)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="template_updated",
                        template_id=str(template.id), name=template.name, is_active=template.is_active,
                        urgent=template.urgent)
    return template


def delete(*, session: Session, org_id: uuid.UUID, template_id: uuid.UUID, actor: Actor) -> str:
    """Delete an organisation template and return its name; sent messages keep their copy of it."""
    permissions.require(actor, Action.templates, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    template = _own(session=session, org_id=org_id, template_id=template_id)
    session.delete(template)
    session.flush()
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="template_deleted",
                        template_id=str(template.id), name=template.name)
    return template.name


def duplicate(*, session: Session, org_id: uuid.UUID, template_id: uuid.UUID,
              created_by: uuid.UUID | None = None, actor: Actor) -> WhatsAppTemplate:
    """Copy any visible template into an editable organisation template named NAME_copy[_N]."""
    permissions.require(actor, Action.templates, org_id)
    orgs.ensure_active(session=session, org_id=org_id)
    source = get_for_org(session=session, org_id=org_id, template_id=template_id)
    base = f"{source.name}_copy"[:60]
    taken = set(session.exec(select(WhatsAppTemplate.name).where(_visible(org_id),
                                                                 WhatsAppTemplate.name.startswith(base))))
    name = next(n for n in [base, *(f"{base}_{i}" for i in range(2, 1000))] if n not in taken)
    copy = _insert(session=session, org_id=org_id, name=name, message_template=source.message_template,
                   description=source.description, category=source.category, created_by=created_by,
                   display=strings.TEMPLATE_COPY_OF.format(name=display_name(source)))
    audit.record_action(session=session, actor=actor, org_id=org_id, event_type="template_duplicated",
                        template_id=str(copy.id), name=copy.name, source_id=str(source.id))
    return copy
