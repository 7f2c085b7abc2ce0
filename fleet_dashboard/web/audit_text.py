"""Audit rows as a person reads them: one Arabic sentence per row (strings.AUDIT_SENTENCES) whose people, messages,
numbers and templates link to their pages, and the actor by name, never a raw key:value, a UUID or an English code.

A sentence is a list of parts, {"text", "href"}: text alone, or a link. Latin values inside the Arabic (an e-mail,
a URL, a phone number) are wrapped in Unicode isolates (FSI…PDI, what <bdi> does), so they keep their own order."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from fleet_dashboard import strings
from fleet_dashboard.accounts.models import User
from fleet_dashboard.core import routes
from fleet_dashboard.integrations.models import ApiKey

FSI, PDI = "\u2068", "\u2069"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_CODE = re.compile(r"[a-z][a-z0-9_]*")

# The pages an access_denied row may name, by path prefix (longest first).
PAGE_NAMES = {routes.HOME: strings.NAV_HOME, routes.CONNECT: strings.NAV_CONNECT, routes.SEND: strings.NAV_SEND,
              routes.TEMPLATES: strings.NAV_TEMPLATES, routes.HISTORY: strings.NAV_HISTORY,
              "/conversations": strings.CONVERSATION, routes.QUEUE: strings.NAV_QUEUE,
              routes.SENDING: strings.NAV_SENDING, routes.OPT_OUTS: strings.NAV_OPT_OUTS,
              routes.AUDIT: strings.NAV_AUDIT, routes.SETTINGS: strings.NAV_SETTINGS,
              routes.PEOPLE: strings.NAV_PEOPLE, routes.ACCOUNT: strings.NAV_ACCOUNT,
              routes.ORGANIZATIONS: strings.NAV_ORGANIZATIONS, routes.ADMIN: strings.NAV_ADMIN,
              "/export": strings.EXPORT_CSV}


def isolate(text: Any) -> str:
    """Text of either direction that must keep its own order inside Arabic."""
    return f"{FSI}{text}{PDI}" if text not in (None, "") else ""


def quoted(text: Any) -> str:
    return f"«{isolate(text)}»"


@dataclass
class Names:
    """What the sentences of one page of rows name: people by id and e-mail, API keys, templates' display names."""

    people_by_id: dict[str, str] = field(default_factory=dict)
    people_by_email: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, org_id: uuid.UUID, rows: Iterable[Any],
             templates: dict[str, str] | None = None) -> Names:
        """One query for the people and one for the keys the rows mention (their own organisation's only)."""
        rows = list(rows)
        ids, emails, key_ids = set(), set(), set()
        for row in rows:
            data = row.event_data or {}
            for value in (row.actor_id, data.get("user_id")):
                if value:
                    ids.add(str(value))
            if data.get("email"):
                emails.add(str(data["email"]).lower())
            credential = str(data.get("credential") or "")
            if credential.startswith("api_key:"):
                key_ids.add(credential.removeprefix("api_key:"))
        names = cls(templates=templates or {})
        uids = [uuid.UUID(i) for i in ids if _uuid(i)]
        if uids or emails:
            people = session.exec(select(User).where(
                (User.id.in_(uids)) | (User.email.in_(sorted(emails))))).all()
            for user in people:
                label = user.full_name or user.email
                names.people_by_id[str(user.id)] = label
                names.people_by_email[user.email.lower()] = label
        kids = [uuid.UUID(i) for i in key_ids if _uuid(i)]
        if kids:
            for key in session.exec(select(ApiKey).where(ApiKey.org_id == org_id, ApiKey.id.in_(kids))).all():
                names.keys[str(key.id)] = key.name
        return names

    def person(self, data: dict[str, Any]) -> str:
        by_id = self.people_by_id.get(str(data.get("user_id") or ""))
        email = str(data.get("email") or "")
        return by_id or self.people_by_email.get(email.lower()) or isolate(email) or strings.NONE


def _uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def reason_text(value: Any) -> str:
    """A reason as Arabic: a known code's text, a person's own Arabic words, else nothing (never an English
    detail from a library)."""
    text = str(value or "").strip()
    if not text:
        return ""
    if text in strings.ERRORS:
        return strings.error_text(text).rstrip(".")
    if _ARABIC.search(text):
        return text[:300]
    return ""


def actor_name(row: Any, names: Names) -> str:
    """Who did it: the person's name, the organisation's API key by its name, the SaaS, the operator, or the system."""
    data = row.event_data or {}
    credential = str(data.get("credential") or "")
    person = names.people_by_id.get(str(row.actor_id)) if row.actor_id else None
    if credential.startswith("super_admin:"):
        return strings.AUDIT_ACTOR_BREAK_GLASS.format(name=person or strings.AUDIT_ACTOR_PLATFORM)
    if person:
        return person
    if credential.startswith("api_key:"):
        key = names.keys.get(credential.removeprefix("api_key:"))
        return strings.AUDIT_ACTOR_API_KEY.format(name=quoted(key)) if key else strings.AUDIT_ACTOR_PLATFORM
    if credential.startswith("operator:"):
        return strings.AUDIT_ACTOR_OPERATOR
    if credential in ("service_role", "user_jwt") or data.get("via") in ("provisioning", "jwt_claims"):
        return strings.AUDIT_ACTOR_PLATFORM
    return strings.AUDIT_SYSTEM_ACTOR


Part = tuple[str, str]  # (text, href or "")


def _page_name(path: Any) -> str:
    path = str(path or "")
    for prefix in sorted(PAGE_NAMES, key=len, reverse=True):
        if path == prefix or (prefix != "/" and path.startswith(prefix + "/")) or path.startswith(prefix + "?"):
            return PAGE_NAMES[prefix]
    return ""


def _on_page(data: dict[str, Any]) -> str:
    page = _page_name(data.get("page") or str(data.get("route") or "").split(" ")[-1])
    return strings.AUDIT_ON_PAGE.format(page=page) if page else ""


def _because(data: dict[str, Any]) -> str:
    reason = reason_text(data.get("reason") or data.get("detail"))
    return strings.AUDIT_BECAUSE.format(reason=reason) if reason else ""


def _phone(value: Any) -> Part:
    return (isolate(value), routes.conversation_url(str(value))) if value else (strings.NONE, "")


def _template(data: dict[str, Any], names: Names) -> str:
    name = str(data.get("name") or data.get("template") or "")
    return quoted(names.templates.get(name) or name)


def _joined(values: Any, labels: dict[str, str]) -> str:
    return strings.LIST_SEPARATOR.join(labels.get(str(v), isolate(v)) for v in (values or []))


def _notifications(data: dict[str, Any]) -> Part:
    if data.get("count"):
        return strings.AUDIT_NOTIFICATIONS.format(count=data["count"]), routes.QUEUE
    recipient = data.get("recipient")
    return (f"{strings.AUDIT_NOTIFICATION} {isolate(recipient)}" if recipient else strings.AUDIT_NOTIFICATION,
            routes.QUEUE)


_FILL: dict[str, Callable[[dict[str, Any], Names], Part | str]] = {
    "email": lambda d, n: isolate(d.get("email")) or strings.NONE,
    "person": lambda d, n: (n.person(d), routes.PEOPLE),
    "template": lambda d, n: (_template(d, n), routes.TEMPLATES),
    "template_name": lambda d, n: _template(d, n),
    "message": lambda d, n: (strings.AUDIT_A_MESSAGE, routes.message_url(str(d["message_id"])))
    if d.get("message_id") else strings.AUDIT_A_MESSAGE,
    "recipient": lambda d, n: _phone(d.get("recipient")),
    "phone": lambda d, n: _phone(d.get("phone")),
    "notification": lambda d, n: (strings.AUDIT_NOTIFICATION, routes.QUEUE),
    "notifications": lambda d, n: _notifications(d),
    "role": lambda d, n: strings.ROLES.get(str(d.get("role") or ""), strings.NONE),
    "before_role": lambda d, n: strings.ROLES.get(str(d.get("before") or ""), strings.NONE),
    "page": lambda d, n: _on_page(d),
    "because": lambda d, n: _because(d),
    "keyword": lambda d, n: quoted(d.get("keyword") or strings.NONE),
    "rows": lambda d, n: str(d.get("rows", 0)),
    "url": lambda d, n: (isolate(d.get("url")), routes.SETTINGS),
    "outcome": lambda d, n: strings.AUDIT_DELIVERY.get(str(d.get("outcome") or ""), strings.NONE),
    "events": lambda d, n: _joined(d.get("events"), strings.WEBHOOK_EVENT_NAMES),
    "key": lambda d, n: (quoted(d.get("name")), routes.SETTINGS),
    "scopes": lambda d, n: _joined(d.get("scopes"), strings.API_KEY_SCOPE_NAMES),
    "org_name": lambda d, n: quoted(d.get("name")),
    "timezone": lambda d, n: strings.zone_name(str(d.get("timezone") or "")),
    "connect": lambda d, n: (strings.AUDIT_CONNECT, routes.CONNECT),
    "rules": lambda d, n: (strings.AUDIT_RULES, routes.SENDING),
}


# A row's sentence travels in the row itself, as t0/h0 … t7/h7 (text, link): a table row is a dict of strings, and
# a sentence kept beside the rows could reach the page a moment before or after them.
MAX_PARTS = 8


def as_fields(parts: list[dict[str, str]]) -> dict[str, str]:
    """The parts as the row's fields; more than MAX_PARTS (none of the sentences has) end as one text run."""
    if len(parts) > MAX_PARTS:
        tail = "".join(p["text"] for p in parts[MAX_PARTS - 1:])
        parts = [*parts[:MAX_PARTS - 1], {"text": tail, "href": ""}]
    fields = {}
    for i in range(MAX_PARTS):
        part = parts[i] if i < len(parts) else {"text": "", "href": ""}
        fields[f"t{i}"], fields[f"h{i}"] = part["text"], part["href"]
    return fields


def sentence(event_type: str, data: dict[str, Any] | None, names: Names) -> list[dict[str, str]]:
    """The row's sentence as parts: text runs and links, in reading order."""
    data = data or {}
    template = strings.AUDIT_SENTENCES.get(event_type, strings.AUDIT_UNKNOWN_EVENT)
    parts: list[dict[str, str]] = []

    def add(text: str, href: str = "") -> None:
        if not text:
            return
        if href:  # a link is its own isolated element on the page (class "isolate"): no marks in its text
            text = text.replace(FSI, "").replace(PDI, "")
        if not href and parts and not parts[-1]["href"]:
            parts[-1]["text"] += text
        else:
            parts.append({"text": text, "href": href})

    position = 0
    for match in _PLACEHOLDER.finditer(template):
        add(template[position:match.start()])
        fill = _FILL.get(match.group(1))
        try:
            value = fill(data, names) if fill else ""
        except (KeyError, TypeError, ValueError, AttributeError):
            value = ""
        text, href = value if isinstance(value, tuple) else (value, "")
        add(text, href)
        position = match.end()
    add(template[position:])
    return parts
