"""The team (`/people`, owners and admins): invite by one-time link with a role, change roles, deactivate."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import confirm_dialog, data_table, form_card, labelled, named, not_allowed
from fleet_dashboard.web.components.status import ltr, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.pages.organizations import invitation_link
from fleet_dashboard.web.pages.settings import _confirm
from fleet_dashboard.web.state.people import PeopleState as S


def _role_cell(row: rx.Var) -> rx.Component:
    """A role picker for someone else who is active (an admin cannot touch an owner); a badge otherwise."""
    editable = (row["me"] != "1") & (row["active"] == "1") & ((row["role"] != "owner") | S.gives_owner)
    return rx.cond(
        editable,
        rx.select.root(
            rx.select.trigger(aria_label=strings.COL_ROLE, data_testid="role-select", min_width="7rem"),
            rx.select.content(rx.foreach(S.role_choices, lambda c: rx.select.item(c["label"], value=c["value"]))),
            value=row["role"], on_change=lambda role: S.ask_role(row["id"], role), size="1",
        ),
        rx.badge(row["role_label"], variant="soft", data_testid="role-badge"),
    )


def _active_cell(row: rx.Var) -> rx.Component:
    editable = (row["me"] != "1") & ((row["role"] != "owner") | S.gives_owner)
    return rx.hstack(
        rx.cond(row["active"] == "1", rx.badge(strings.PERSON_ACTIVE, color_scheme="green"),
                rx.badge(strings.PERSON_INACTIVE, color_scheme="gray")),
        rx.cond(row["me"] == "1", rx.badge(strings.PERSON_YOU, variant="outline")),
        rx.cond(editable, rx.cond(
            row["active"] == "1",
            confirm_dialog(rx.button(strings.PERSON_DEACTIVATE, size="1", variant="soft", color_scheme="red",
                                     data_testid="deactivate-person"),
                           named(strings.PERSON_DEACTIVATE_NAMED, row["label"]),
                           rx.vstack(ltr(row["email"], size="2"), rx.text(strings.PERSON_DEACTIVATE_EFFECT),
                                     spacing="1"),
                           confirm=strings.PERSON_DEACTIVATE, on_confirm=S.deactivate(row["id"]),
                           test_id="deactivate-person"),
            rx.button(strings.PERSON_REACTIVATE, size="1", variant="soft", on_click=S.reactivate(row["id"]),
                      data_testid="reactivate-person"),
        )),
        spacing="2", wrap="wrap", align="center",
    )


def _person(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="bold")),
        rx.table.cell(ltr(row["email"], size="2")),
        rx.table.cell(_role_cell(row)),
        rx.table.cell(_active_cell(row)),
        rx.table.cell(when(row["last_login_at"]), white_space="nowrap"),
        data_testid="person-row", data_email=row["email"], data_role=row["role"], data_active=row["active"],
    )


def _invitation(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(ltr(row["email"], size="2")),
        rx.table.cell(rx.badge(row["role_label"], variant="soft")),
        rx.table.cell(when(row["expires_at"]), white_space="nowrap"),
        rx.table.cell(_confirm(strings.INVITE_REVOKE, strings.INVITE_REVOKE, row["email"],
                               S.revoke_invitation(row["id"]), "revoke-invitation")),
        data_testid="invitation-row", data_email=row["email"],
    )


def _invite_form() -> rx.Component:
    return form_card(
        strings.PEOPLE_INVITE_TITLE,
        rx.flex(
            labelled(strings.PEOPLE_EMAIL, rx.input(id="invite-email", name="email", type="email", dir="ltr",
                                                    required=True, width="100%"), "invite-email"),
            labelled(strings.PEOPLE_ROLE, rx.select.root(
                rx.select.trigger(id="invite-role", min_width="8rem", data_testid="invite-role"),
                rx.select.content(rx.foreach(S.role_choices,
                                             lambda c: rx.select.item(c["label"], value=c["value"]))),
                name="role", default_value="member",
            ), "invite-role"),
            gap="0.75rem", wrap="wrap", width="100%", direction=rx.breakpoints(initial="column", sm="row"),
        ),
        error=S.invite_error, error_id="invite-error", submit=strings.PEOPLE_INVITE, submit_id="invite-person",
        on_submit=S.invite,
    )


def _role_dialog() -> rx.Component:
    """The role picked in a row, asked before it applies: who, from which role to which."""
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(named(strings.ROLE_CHANGE_NAMED, S.role_ask_name)),
        rx.alert_dialog.description(rx.vstack(
            rx.text(strings.ROLE_CHANGE_FROM, " «", S.role_ask_from, "» ", strings.ROLE_CHANGE_TO, " «",
                    S.role_ask_to, "».", data_testid="role-change-roles"),
            rx.cond(S.role_ask_value == "owner", rx.callout(strings.ROLE_CHANGE_OWNER_NOTE, icon="triangle-alert",
                                                           color_scheme="amber", size="1")),
            spacing="2",
        ), size="2"),
        rx.hstack(
            # Plain buttons, not Radix's closing ones: the dialog is open while a change is asked, so each
            # button's own event both decides and closes it (no second "closed" event racing the first).
            rx.button(strings.CANCEL, variant="soft", color_scheme="gray", on_click=S.drop_role_change),
            rx.button(strings.ROLE_CHANGE_CONFIRM, on_click=S.confirm_role, data_testid="confirm-role-change"),
            spacing="3", justify="end", margin_top="1rem",
        ),
        max_width="28rem", data_testid="role-change-dialog",
    ), open=S.role_ask_id != "", on_open_change=S.role_dialog_changed)


@dashboard_page(route=routes.PEOPLE, title=strings.PEOPLE_TITLE, on_load=S.load)
def people_page() -> rx.Component:
    return rx.vstack(
        not_allowed(S.signed_in & ~S.may["team"].to(bool)),
        rx.cond(S.may["team"].to(bool), rx.vstack(
            rx.text(strings.PEOPLE_HELP, size="2", color_scheme="gray"),
            invitation_link(S.invite_url, S.invite_email, S.invite_note, S.invite_title),
            _role_dialog(),
            _invite_form(),
            rx.heading(strings.PEOPLE_MEMBERS, as_="h2", size="4"),
            data_table((strings.COL_NAME, strings.COL_EMAIL, strings.COL_ROLE, strings.COL_STATE,
                        strings.COL_LAST_LOGIN), S.person_rows, _person),
            rx.heading(strings.PEOPLE_PENDING, as_="h2", size="4"),
            data_table((strings.COL_EMAIL, strings.COL_ROLE, strings.COL_EXPIRES, ""), S.invitation_rows,
                       _invitation, empty=strings.PEOPLE_PENDING_EMPTY),
            width="100%", spacing="4",
        )),
        width="100%", spacing="4",
    )
