"""Integration settings: the organisation's webhooks and API keys. Owners and admins change them; a new
secret or key is shown once, right after it is made, and never again."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.accounts import lifecycle, localtime, permissions
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.integrations import api_keys, webhooks
from fleet_dashboard.integrations.models import ApiKey, Webhook, WebhookDelivery
from fleet_dashboard.web.format import stamp
from fleet_dashboard.web.state.auth import AuthState, Ctx, allow


def webhook_row(w: Webhook, zone: ZoneInfo) -> dict[str, str]:
    return {"id": str(w.id), "url": w.url,
            "events": strings.LIST_SEPARATOR.join(strings.WEBHOOK_EVENT_NAMES.get(e, e) for e in w.events or []),
            "active": "1" if w.is_active else "", "created_at": stamp(w.created_at, zone)}


def delivery_row(d: WebhookDelivery, url: str, zone: ZoneInfo) -> dict[str, str]:
    """One delivery as the webhooks card shows it: the event's Arabic name, the outcome, why, and when."""
    event = str((d.event or {}).get("type") or "")
    if d.last_status_code:
        answer = strings.DELIVERY_HTTP.format(code=d.last_status_code)
    elif d.attempts:
        answer = strings.DELIVERY_NO_ANSWER
    else:
        answer = ""
    return {"id": str(d.id), "event": strings.WEBHOOK_EVENT_NAMES.get(event, strings.NONE), "url": url,
            "status": d.status, "outcome": strings.DELIVERY_STATUS.get(d.status, d.status), "answer": answer,
            "attempts": str(d.attempts), "when": stamp(d.settled_at or d.created_at, zone)}


def key_row(k: ApiKey, zone: ZoneInfo) -> dict[str, str]:
    return {"id": str(k.id), "name": k.name, "prefix": k.prefix + "…",
            "scopes": strings.LIST_SEPARATOR.join(strings.API_KEY_SCOPE_NAMES.get(s, s) for s in k.scopes or []),
            "created_at": stamp(k.created_at, zone),
            "last_used_at": stamp(k.last_used_at, zone), "revoked": "1" if k.revoked_at else ""}


def zone_matches(query: str, *, exclude: str = "", limit: int = 8) -> list[dict[str, str]]:
    """Zones whose Arabic or IANA name contains `query` (any case; spaces match _), named ones first."""
    query = " ".join(query.split())
    if not query or query == exclude or query in localtime.zone_names():
        return []  # nothing typed, or a zone already picked: no list in the way of the save button
    needle = query.casefold().replace(" ", "_")
    named = [z for z, arabic in strings.ZONE_NAMES.items() if needle in z.casefold() or query in arabic]
    others = [z for z in sorted(localtime.zone_names()) if needle in z.casefold() and z not in strings.ZONE_NAMES]
    return [{"value": z, "label": strings.ZONE_NAMES.get(z, ""), "offset": localtime.offset_label(
        datetime.now(UTC).astimezone(ZoneInfo(z)))} for z in [*named, *others][:limit]]


def _checked(form_data: dict, prefix: str, choices: tuple[str, ...]) -> list[str]:
    """The boxes ticked in a form: checkbox fields are named `<prefix><choice>` and come as "on"."""
    return [c for c in choices if str(form_data.get(prefix + c, "")).lower() in ("on", "true", "1")]


class SettingsState(AuthState):
    """Webhooks and API keys of the signed-in organisation."""

    webhook_rows: list[dict[str, str]] = []
    delivery_rows: list[dict[str, str]] = []
    key_rows: list[dict[str, str]] = []
    webhook_error: str = ""
    key_error: str = ""
    # A secret or key just created: shown once, cleared by the next load or action.
    revealed_label: str = ""
    revealed_value: str = ""
    # The organisation's IANA zone as saved (the default's name when it chose none), and the form's refusal.
    org_timezone: str = ""
    timezone_error: str = ""
    # The zone picker's text: what the person typed (an Arabic city or an IANA name), or the zone picked.
    tz_query: str = ""
    # The organisation's id, for X-Org-Id (the API's one required header beside the credential).
    org_id: str = ""

    def _reload(self, ctx: Ctx) -> None:
        """Each list only for a role whose matrix row has it: webhook URLs and keys are integration secrets."""
        self.webhook_rows, self.key_rows, self.delivery_rows = [], [], []
        zone = self._zone()
        with session_scope() as session:
            if permissions.can(ctx.role, Action.webhooks):
                self.webhook_rows = [webhook_row(w, zone) for w in webhooks.list_webhooks(session=session,
                                                                                    org_id=ctx.org_id,
                                                                                    actor=ctx.actor)]
                self.delivery_rows = [delivery_row(d, url, zone) for d, url in webhooks.recent_deliveries(
                    session=session, org_id=ctx.org_id, actor=ctx.actor)]
            if permissions.can(ctx.role, Action.api_keys):
                self.key_rows = [key_row(k, zone) for k in api_keys.list_keys(session=session, org_id=ctx.org_id,
                                                                        actor=ctx.actor)]

    def _reveal(self, label: str = "", value: str = "") -> None:
        self.revealed_label, self.revealed_value = label, value

    @rx.event
    @allow(Action.view)
    def load(self):
        ctx = self._authorize()
        self.webhook_error = self.key_error = self.timezone_error = ""
        self._reveal()
        self._reload(ctx)
        self.org_timezone = self.tz_query = self._zone().key
        self.org_id = str(ctx.org_id)

    @rx.event
    @allow(Action.view)
    def dismiss_secret(self):
        """"I copied it": the one-time secret leaves the page for good."""
        self._reveal()

    @rx.event
    @allow(Action.view)
    def secret_dialog_changed(self, open_: bool):
        """Escape closes the secret's dialog as "I copied it" does."""
        if not open_:
            self._reveal()

    @rx.var
    def org_zone_name(self) -> str:
        """The saved zone as people read it: القاهرة, or its IANA name."""
        return strings.zone_name(self.org_timezone)

    @rx.var
    def tz_matches(self) -> list[dict[str, str]]:
        """Up to eight zones whose Arabic or IANA name holds what was typed (the Arab world's first); nothing
        while the field holds the saved zone."""
        return zone_matches(self.tz_query, exclude=self.org_timezone)

    @rx.event
    @allow(Action.team)
    def set_tz_query(self, value: str):
        self.tz_query, self.timezone_error = value[:64], ""

    @rx.event
    @allow(Action.team)
    def pick_zone(self, value: str):
        self.tz_query, self.timezone_error = value[:64], ""

    @rx.event
    @allow(Action.team)
    def save_timezone(self, form_data: dict):
        """Set the organisation's time zone (owners and admins); the service validates and audits it."""
        ctx = self._authorize()
        name = str(form_data.get("timezone", "")).strip()[:64]
        actor = ctx.actor
        try:
            with session_scope() as session:
                lifecycle.set_timezone(session=session, actor=actor, org_id=ctx.org_id, timezone=name)
        except DomainError as exc:
            self.timezone_error = strings.error_text(exc.code, **exc.params)
            return
        self.timezone_error = ""
        self.org_timezone = self.tz_query = self._zone().key  # the frame's caption follows
        self._reload(ctx)
        return rx.toast.success(strings.ORG_TIMEZONE_SAVED)

    @rx.event
    @allow(Action.webhooks)
    def save_webhook(self, form_data: dict):
        """Add (or update, for the same URL) a webhook; with no secret typed, one is generated and shown once."""
        ctx = self._authorize()
        self._reveal()
        events = _checked(form_data, "event_", webhooks.EVENTS)
        secret = str(form_data.get("secret", "")).strip() or None
        if not events:
            self.webhook_error = strings.WEBHOOK_PICK_EVENT
            return
        try:
            with session_scope() as session:
                row, generated = webhooks.set_webhook(session=session, org_id=ctx.org_id,
                                                      url=str(form_data.get("url", "")), secret=secret,
                                                      events=events, actor=ctx.actor)
        except DomainError as exc:
            self.webhook_error = strings.error_text(exc.code, **exc.params)
            return
        self.webhook_error = ""
        if generated:
            self._reveal(strings.WEBHOOK_SECRET_ONCE, generated)
        self._reload(ctx)
        # Saved: the form empties for the next one (it is not reset on submit, so a refusal keeps what was typed).
        return [rx.toast.success(strings.WEBHOOK_SAVED), rx.set_value("webhook-url", ""),
                rx.set_value("webhook-secret", "")]

    @rx.event
    @allow(Action.webhooks)
    def delete_webhook(self, webhook_id: str):
        ctx = self._authorize()
        self._reveal()
        with session_scope() as session:
            webhooks.delete_webhook(session=session, org_id=ctx.org_id, webhook_id=webhook_id, actor=ctx.actor)
        self._reload(ctx)
        return rx.toast.success(strings.WEBHOOK_DELETED)

    @rx.event
    @allow(Action.api_keys)
    def create_key(self, form_data: dict):
        """Create an API key with the ticked scopes; its plain text is shown once."""
        ctx = self._authorize()
        self._reveal()
        scopes = _checked(form_data, "scope_", api_keys.SCOPES)
        if not scopes:
            self.key_error = strings.API_KEY_PICK_SCOPE
            return
        with session_scope() as session:
            row, plain = api_keys.create_key(session=session, org_id=ctx.org_id,
                                             name=str(form_data.get("name", "")), scopes=scopes, actor=ctx.actor)
        self.key_error = ""
        self._reveal(strings.API_KEY_ONCE, plain)
        self._reload(ctx)
        return rx.toast.success(strings.API_KEY_CREATED)

    @rx.event
    @allow(Action.api_keys)
    def revoke_key(self, key_id: str):
        ctx = self._authorize()
        self._reveal()
        with session_scope() as session:
            api_keys.revoke_key(session=session, org_id=ctx.org_id, key_id_or_prefix=key_id, actor=ctx.actor)
        self._reload(ctx)
        return rx.toast.success(strings.API_KEY_REVOKED)
