"""Organisations (`/admin/organizations`, super_admin only): create, rename, suspend, resume, invite owners."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.forms import data_table, filter_bar, form_card, labelled, named, not_allowed
from fleet_dashboard.web.components.status import ltr, when
from fleet_dashboard.web.pages.frame import dashboard_page
from fleet_dashboard.web.state.organizations import OrganizationsState as S


def invitation_link(url: rx.Var, email: rx.Var, note: rx.Var, title: rx.Var | str,
                    prefix: str = "invite") -> rx.Component:
    """The invitation just made: its one-time link to copy, and whether it went by e-mail too."""
    return rx.cond(url != "", rx.callout.root(
        rx.callout.icon(rx.icon("link")),
        rx.callout.text(rx.vstack(
            rx.text(title, weight="bold"),
            rx.text(strings.INVITE_LINK_FOR, " ", ltr(email, weight="bold")),
            rx.flex(
                rx.input(value=url, read_only=True, dir="ltr", width="100%", min_width="0", flex="1",
                         data_testid=f"{prefix}-url", aria_label=title),
                rx.button(rx.icon("copy", size=16), strings.COPY, type="button",
                          on_click=[rx.set_clipboard(url), rx.toast.success(strings.COPIED)],
                          data_testid=f"{prefix}-copy"),
                gap="0.5rem", width="100%", wrap="wrap",
            ),
            rx.text(note, size="1", color_scheme="gray"),
            spacing="2", width="100%",
        )),
        color_scheme="green", width="100%", data_testid=f"{prefix}-link",
    ))


def _dialog(trigger: rx.Component, title: rx.Component | str, *fields: rx.Component, submit: str, on_submit,
            test_id: str, color: str = "teal") -> rx.Component:
    """A small form in a dialog; the hidden org id travels with it."""
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title(title),
            rx.form(rx.vstack(
                *fields,
                rx.hstack(
                    rx.dialog.close(rx.button(strings.CANCEL, type="button", variant="soft", color_scheme="gray")),
                    rx.dialog.close(rx.button(submit, type="submit", color_scheme=color,
                                              data_testid=f"confirm-{test_id}")),
                    spacing="3", justify="end", width="100%",
                ),
                spacing="3", width="100%",
            ), on_submit=on_submit, reset_on_submit=True),
            max_width="28rem",
        ),
    )


def _hidden(row: rx.Var) -> rx.Component:
    return rx.el.input(type="hidden", name="org_id", value=row["id"])


def _actions(row: rx.Var) -> rx.Component:
    small = {"size": "1", "variant": "soft"}
    return rx.flex(
        _dialog(rx.button(strings.ORG_RENAME, data_testid="rename-org", **small), strings.ORG_RENAME_TITLE,
                _hidden(row),
                labelled(strings.ORG_NAME, rx.input(id="rename-name", name="name", default_value=row["name"],
                                                    required=True, width="100%"), "rename-name"),
                submit=strings.ORG_SAVE, on_submit=S.rename_org, test_id="rename-org"),
        rx.cond(
            row["suspended"] == "1",
            rx.button(strings.ORG_RESUME, on_click=S.resume_org(row["id"]), color_scheme="green",
                      data_testid="resume-org", **small),
            _dialog(rx.button(strings.ORG_SUSPEND, color_scheme="red", data_testid="suspend-org", **small),
                    named(strings.ORG_SUSPEND_NAMED, row["name"]), _hidden(row),
                    rx.text(strings.ORG_SUSPEND_EFFECT, size="2", color_scheme="gray"),
                    labelled(strings.ORG_SUSPEND_REASON, rx.input(id="suspend-reason", name="reason", width="100%"),
                             "suspend-reason"),
                    submit=strings.ORG_SUSPEND, on_submit=S.suspend_org, test_id="suspend-org", color="red"),
        ),
        _dialog(rx.button(strings.ORG_INVITE_OWNER, data_testid="invite-owner", **small),
                strings.ORG_INVITE_OWNER_TITLE, _hidden(row),
                labelled(strings.PEOPLE_EMAIL, rx.input(id="owner-email", name="email", type="email", dir="ltr",
                                                        required=True, width="100%"), "owner-email"),
                submit=strings.PEOPLE_INVITE, on_submit=S.invite_owner, test_id="invite-owner"),
        gap="0.4rem", wrap="wrap",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="bold")),
        rx.table.cell(ltr(row["slug"], size="2")),
        rx.table.cell(rx.cond(row["suspended"] == "1",
                              rx.badge(strings.ORG_SUSPENDED, color_scheme="red"),
                              rx.badge(strings.ORG_ACTIVE, color_scheme="green")), data_testid="org-state"),
        rx.table.cell(when(row["created_at"]), white_space="nowrap"),
        rx.table.cell(_actions(row)),
        data_testid="org-row", data_slug=row["slug"], data_suspended=row["suspended"],
    )


def _create() -> rx.Component:
    return form_card(
        strings.ORGS_CREATE_TITLE,
        labelled(strings.ORG_NAME, rx.input(id="org-name", name="name", required=True, width="100%"), "org-name"),
        labelled(strings.ORG_SLUG, rx.input(id="org-slug", name="slug", dir="ltr", width="100%"), "org-slug",
                 hint=strings.ORG_SLUG_HINT),
        labelled(strings.ORG_OWNER_EMAIL, rx.input(id="org-owner-email", name="owner_email", type="email",
                                                   dir="ltr", width="100%"), "org-owner-email",
                 hint=strings.ORG_OWNER_EMAIL_HINT),
        error=S.create_error, error_id="org-create-error", submit=strings.ORG_CREATE, submit_id="create-org",
        on_submit=S.create_org,
    )


@dashboard_page(route=routes.ORGANIZATIONS, title=strings.ORGS_TITLE, on_load=S.load)
def organizations() -> rx.Component:
    return rx.vstack(
        not_allowed(S.signed_in & ~S.may["organizations"].to(bool)),
        rx.cond(S.may["organizations"].to(bool), rx.vstack(
            rx.text(strings.ORGS_HELP, size="2", color_scheme="gray"),
            invitation_link(S.invite_url, S.invite_email, S.invite_note, S.invite_hours),
            _create(),
            rx.form(filter_bar(
                labelled(strings.ORGS_SEARCH, rx.input(id="orgs-search", name="search", type="search",
                                                       min_width="14rem"), "orgs-search"),
                rx.button(strings.APPLY, type="submit"),
            ), on_submit=S.apply_search, reset_on_submit=False),
            data_table((strings.COL_ORG, strings.COL_SLUG, strings.COL_STATE, strings.COL_CREATED, ""), S.org_rows,
                       _row, empty=strings.ORGS_EMPTY, empty_test_id="orgs-empty"),
            width="100%", spacing="4",
        )),
        width="100%", spacing="4",
    )
