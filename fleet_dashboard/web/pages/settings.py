"""Settings (`/settings`): the organisation's webhooks and API keys, for the SaaS backend and scripts."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.integrations.api_keys import SCOPES
from fleet_dashboard.integrations.webhooks import EVENTS
from fleet_dashboard.web.components.forms import (
    confirm_dialog,
    data_table,
    field_error,
    labelled,
    not_allowed,
    submit_form,
)
from fleet_dashboard.web.components.status import ltr, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.settings import SettingsState as S


def _confirm(trigger_label: str, title: str, body: rx.Var | str, on_confirm, test_id: str) -> rx.Component:
    """A red button that asks first, its subject (a URL, a key's prefix) read left to right."""
    return confirm_dialog(rx.button(trigger_label, size="1", variant="soft", color_scheme="red", data_testid=test_id),
                          title, ltr(body, weight="bold"), confirm=trigger_label, on_confirm=on_confirm,
                          test_id=test_id)


def copy_button(value: rx.Var, label: str, test_id: str, **props) -> rx.Component:
    """Copies `value` and says so in a toast."""
    return rx.button(rx.icon("copy", size=16), label, type="button", data_testid=test_id,
                     on_click=[rx.set_clipboard(value), rx.toast.success(strings.SECRET_COPIED)], **props)


def _revealed() -> rx.Component:
    """A secret shown once (a new API key, a generated webhook secret): a dialog in the middle of the screen with a
    copy button, open until the person says "نسختُه"."""
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(S.revealed_label),
        rx.alert_dialog.description(strings.SECRET_ONCE_NOTE, size="2", color_scheme="gray"),
        rx.vstack(
            rx.code(S.revealed_value, data_testid="revealed-secret", dir="ltr", class_name="ltr", size="3",
                    word_break="break-all", width="100%", padding="0.5rem"),
            rx.hstack(
                copy_button(S.revealed_value, strings.SECRET_COPY, "copy-secret"),
                rx.alert_dialog.action(rx.button(rx.icon("check", size=16), strings.SECRET_DONE, variant="soft",
                                                 color_scheme="green", on_click=S.dismiss_secret,
                                                 data_testid="secret-done")),
                spacing="3", justify="end", width="100%", wrap="wrap",
            ),
            spacing="3", width="100%", margin_top="0.75rem",
        ),
        max_width="32rem", data_testid="secret-dialog",
    ), open=S.revealed_value != "", on_open_change=S.secret_dialog_changed)


def _org_id_card() -> rx.Component:
    """The organisation's id, which every API call sends in X-Org-Id, with a copy button."""
    return rx.card(rx.vstack(
        rx.heading(strings.ORG_ID_TITLE, as_="h3", size="4"),
        rx.text(strings.ORG_ID_HELP, size="2", color_scheme="gray"),
        rx.flex(
            rx.code(S.org_id, data_testid="org-id", dir="ltr", class_name="ltr", size="3", word_break="break-all"),
            copy_button(S.org_id, strings.ORG_ID_COPY, "copy-org-id", variant="soft", size="2"),
            gap="0.75rem", align="center", wrap="wrap",
        ),
        spacing="2", width="100%",
    ), width="100%", data_testid="org-id-card")


def _webhook_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(ltr(row["url"], size="2"), max_width="22rem", word_break="break-all"),
        rx.table.cell(ltr(row["events"], size="1")),
        rx.table.cell(when(row["created_at"]), white_space="nowrap"),
        rx.table.cell(rx.cond(S.may["webhooks"].to(bool), _confirm(
            strings.DELETE, strings.WEBHOOK_DELETE_TITLE, row["url"], S.delete_webhook(row["id"]),
            "delete-webhook"))),
        data_testid="webhook-row",
    )


_DELIVERY_COLORS = {"delivered": "green", "failed": "red", "pending": "amber"}


def _delivery_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["event"], size="2")),
        rx.table.cell(rx.badge(row["outcome"], color_scheme=rx.match(row["status"], *_DELIVERY_COLORS.items(), "gray"),
                               variant="soft", radius="full", data_status=row["status"])),
        rx.table.cell(rx.text(row["answer"], size="2", class_name="isolate")),
        rx.table.cell(ltr(row["attempts"], size="2")),
        rx.table.cell(when(row["when"]), white_space="nowrap"),
        rx.table.cell(ltr(row["url"], size="1", color_scheme="gray"), max_width="16rem", word_break="break-all"),
        data_testid="delivery-row", data_status=row["status"],
    )


def _deliveries() -> rx.Component:
    """What happened to the latest events sent to the links: their own view, not the audit log."""
    return rx.vstack(
        rx.heading(strings.DELIVERIES_TITLE, as_="h4", size="3"),
        data_table((strings.DELIVERY_EVENT, strings.DELIVERY_OUTCOME, strings.DELIVERY_ANSWER,
                    strings.DELIVERY_ATTEMPTS, strings.DELIVERY_WHEN, strings.WEBHOOK_URL), S.delivery_rows,
                   _delivery_row, empty=strings.DELIVERIES_EMPTY, empty_test_id="deliveries-empty"),
        spacing="2", width="100%", data_testid="webhook-deliveries",
    )


def _ticks(label: str, names: dict[str, str], prefix: str, choices: tuple[str, ...]) -> tuple[rx.Component, ...]:
    """A caption over one box per choice, named `<prefix><choice>` and ticked at first (state/settings._checked)."""
    return (
        rx.text(label, weight="bold", size="2"),
        rx.flex(*(rx.checkbox(names[c], name=prefix + c, default_checked=True) for c in choices),
                gap="1rem", wrap="wrap"),
    )


def _webhook_form() -> rx.Component:
    return submit_form(
        labelled(strings.WEBHOOK_URL, rx.input(id="webhook-url", name="url", dir="ltr", required=True,
                                               placeholder="https://example.com/hooks/whatsapp",
                                               width="100%"), "webhook-url"),
        labelled(strings.WEBHOOK_SECRET, rx.input(id="webhook-secret", name="secret", dir="ltr",
                                                  type="password", width="100%"), "webhook-secret",
                 hint=strings.WEBHOOK_SECRET_HINT),
        *_ticks(strings.WEBHOOK_EVENTS, strings.WEBHOOK_EVENT_NAMES, "event_", EVENTS),
        error=S.webhook_error, error_id="webhook-error", submit=strings.WEBHOOK_ADD, submit_id="save-webhook",
        on_submit=S.save_webhook, reset=False,
    )


def _key_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="bold")),
        rx.table.cell(ltr(row["prefix"], size="2")),
        rx.table.cell(ltr(row["scopes"], size="1")),
        rx.table.cell(when(row["created_at"]), white_space="nowrap"),
        rx.table.cell(when(row["last_used_at"]), white_space="nowrap"),
        rx.table.cell(rx.cond(row["revoked"] == "1",
                              rx.badge(strings.API_KEY_REVOKED_BADGE, color_scheme="gray"),
                              rx.cond(S.may["api_keys"].to(bool), _confirm(
                                  strings.API_KEY_REVOKE, strings.API_KEY_REVOKE_TITLE, row["prefix"],
                                  S.revoke_key(row["id"]), "revoke-key")))),
        data_testid="key-row", data_revoked=row["revoked"],
    )


def _key_form() -> rx.Component:
    return submit_form(
        labelled(strings.API_KEY_NAME, rx.input(id="key-name", name="name", width="100%",
                                                placeholder="fleet-backend", dir="ltr"), "key-name"),
        *_ticks(strings.API_KEY_SCOPES, strings.API_KEY_SCOPE_NAMES, "scope_", SCOPES),
        error=S.key_error, error_id="key-error", submit=strings.API_KEY_CREATE, submit_id="create-key",
        on_submit=S.create_key,
    )


def _zone_option(zone: rx.Var) -> rx.Component:
    return rx.button(
        rx.hstack(rx.text(zone["label"], weight="medium"), rx.text(zone["value"], class_name="ltr", size="2"),
                  rx.text(zone["offset"], class_name="ltr", size="1", color_scheme="gray"),
                  spacing="2", align="center"),
        type="button", variant="ghost", color_scheme="gray", role="option", on_click=S.pick_zone(zone["value"]),
        justify="start", width="100%", data_testid="tz-option", data_zone=zone["value"],
    )


def _timezone_form() -> rx.Component:
    """The organisation's zone, picked by searching its city in Arabic or its IANA name (600 names: a search, not a
    menu); a full IANA name typed and saved works too."""
    return rx.card(rx.form(
        rx.vstack(
            rx.heading(strings.ORG_TIMEZONE_TITLE, size="3", as_="h3"),
            rx.text(strings.ORG_TIMEZONE_HINT, size="2", color_scheme="gray"),
            rx.text(strings.TIMEZONE_CURRENT, " ", rx.text(S.org_zone_name, as_="span", weight="bold"), " ",
                    rx.text("(", S.org_timezone, ")", as_="span", class_name="ltr", size="1"), size="2",
                    data_testid="timezone-current"),
            labelled(strings.ORG_TIMEZONE_LABEL, rx.input(
                id="org-timezone", name="timezone", value=S.tz_query, on_change=S.set_tz_query, type="search",
                placeholder=strings.TIMEZONE_SEARCH, role="combobox", aria_autocomplete="list",
                aria_controls="tz-options", auto_complete="off", width="100%", max_width="22rem"),
                     "org-timezone", error=field_error(S.timezone_error, "timezone-error")),
            rx.cond(S.tz_matches.length() > 0, rx.vstack(
                rx.foreach(S.tz_matches, _zone_option), id="tz-options", role="listbox",
                aria_label=strings.TIMEZONE_RESULTS, spacing="0", width="100%", max_width="22rem",
                border="1px solid var(--gray-a5)", border_radius="var(--radius-3)", padding="0.25rem")),
            rx.button(strings.SAVE, type="submit", data_testid="save-timezone"),
            spacing="2", width="100%",
        ),
        on_submit=S.save_timezone, reset_on_submit=False,
    ), width="100%", data_testid="timezone-card")


def _section(title: str, test_id: str) -> rx.Component:
    return rx.heading(title, as_="h2", size="5", margin_top="0.5rem", data_testid=test_id)


@dashboard_page(route=routes.SETTINGS, title=strings.SETTINGS_TITLE, on_load=S.load)
def settings_page() -> rx.Component:
    return rx.vstack(
        _revealed(),
        _section(strings.SETTINGS_ORG_TITLE, "settings-org"),
        rx.cond(S.org_id != "", _org_id_card()),
        rx.cond(S.may["team"].to(bool), _timezone_form()),
        rx.cond(S.may["webhooks"].to(bool) | S.may["api_keys"].to(bool),
                _section(strings.SETTINGS_INTEGRATION_TITLE, "settings-integration")),
        not_allowed(S.signed_in & ~(S.may["webhooks"].to(bool) | S.may["api_keys"].to(bool))),
        rx.cond(S.may["webhooks"].to(bool), rx.card(rx.vstack(
            rx.heading(strings.WEBHOOKS_TITLE, as_="h3", size="4"),
            rx.text(strings.WEBHOOKS_HELP, size="2", color_scheme="gray"),
            data_table((strings.WEBHOOK_URL, strings.WEBHOOK_EVENTS, strings.CREATED_AT, ""), S.webhook_rows,
                       _webhook_row, empty=strings.WEBHOOKS_EMPTY),
            _webhook_form(),
            _deliveries(),
            spacing="3", width="100%",
        ), width="100%")),
        rx.cond(S.may["api_keys"].to(bool), rx.card(rx.vstack(
            rx.heading(strings.API_KEYS_TITLE, as_="h3", size="4"),
            rx.text(strings.API_KEYS_HELP, size="2", color_scheme="gray"),
            data_table((strings.API_KEY_NAME, strings.API_KEY_PREFIX, strings.API_KEY_SCOPES, strings.CREATED_AT,
                        strings.API_KEY_LAST_USED, ""), S.key_rows, _key_row, empty=strings.API_KEYS_EMPTY),
            _key_form(),
            spacing="3", width="100%",
        ), width="100%")),
        width="100%", spacing="4",
    )
