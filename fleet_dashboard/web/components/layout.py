"""The page frame: a skip link, a right-hand sidebar on wide screens, a menu bar on phones, banners, one <h1>."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.core import routes
from fleet_dashboard.web.components.guards import alert_banner
from fleet_dashboard.web.state.auth import AuthState

# (route, label, lucide icon, test id); the overview is only for the super_admin.
ORG_NAV = (
    (routes.HOME, strings.NAV_HOME, "house", "nav-home"),
    (routes.CONNECT, strings.NAV_CONNECT, "smartphone", "nav-connect"),
    (routes.SEND, strings.NAV_SEND, "send", "nav-send"),
    (routes.TEMPLATES, strings.NAV_TEMPLATES, "file-text", "nav-templates"),
    (routes.HISTORY, strings.NAV_HISTORY, "history", "nav-history"),
    (routes.QUEUE, strings.NAV_QUEUE, "list-ordered", "nav-queue"),
    (routes.SENDING, strings.NAV_SENDING, "shield", "nav-sending"),
    (routes.OPT_OUTS, strings.NAV_OPT_OUTS, "ban", "nav-opt-outs"),
    (routes.AUDIT, strings.NAV_AUDIT, "shield-check", "nav-audit"),
    (routes.SETTINGS, strings.NAV_SETTINGS, "plug", "nav-settings"),
    (routes.PEOPLE, strings.NAV_PEOPLE, "users", "nav-people"),
)
ADMIN_NAV = (routes.ADMIN, strings.NAV_ADMIN, "layout-dashboard", "nav-admin")
ORGANIZATIONS_NAV = (routes.ORGANIZATIONS, strings.NAV_ORGANIZATIONS, "building-2", "nav-organizations")
# Every signed-in person's own account: password and sign-ins.
ACCOUNT_NAV = (routes.ACCOUNT, strings.NAV_ACCOUNT, "user-cog", "nav-account")
# Pages only some matrix rows may open (accounts/permissions.py): shown when any of these columns is allowed.
NAV_NEEDS = {routes.AUDIT: ("audit",), routes.SETTINGS: ("webhooks", "api_keys"), routes.PEOPLE: ("team",),
             routes.ORGANIZATIONS: ("organizations",)}


def _allowed(route: str, item: rx.Component) -> rx.Component:
    needs = NAV_NEEDS.get(route)
    if not needs:
        return item
    allowed = AuthState.may[needs[0]].to(bool)
    for column in needs[1:]:
        allowed = allowed | AuthState.may[column].to(bool)
    return rx.cond(allowed, item)


def _org_pages_visible() -> rx.Var:
    return ~AuthState.is_super_admin | (AuthState.org_label != "")


def unread_badge() -> rx.Component:
    """How many customers' replies nobody has read yet, beside the history entry; nothing when none."""
    return rx.cond(AuthState.unread_replies > 0, rx.badge(
        AuthState.unread_label, color_scheme="blue", variant="solid", radius="full", size="1",
        title=strings.UNREAD_REPLIES, aria_label=strings.UNREAD_REPLIES, data_testid="unread-replies"))


def nav_link(route: str, label: str, icon: str, test_id: str) -> rx.Component:
    """One sidebar entry; the history's carries the unread replies' badge."""
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"),
                  *([rx.spacer(), unread_badge()] if route == routes.HISTORY else []),
                  spacing="2", align="center", width="100%"),
        href=route, underline="none", color_scheme="gray", high_contrast=True, data_testid=test_id,
        padding_y="0.4rem", padding_x="0.6rem", border_radius="var(--radius-2)", width="100%",
        _hover={"background": "var(--gray-a3)"},
    )


def _nav_items() -> rx.Component:
    return rx.vstack(
        rx.cond(AuthState.is_super_admin, nav_link(*ADMIN_NAV)),
        _allowed(ORGANIZATIONS_NAV[0], nav_link(*ORGANIZATIONS_NAV)),
        rx.cond(_org_pages_visible(), rx.vstack(*(_allowed(item[0], nav_link(*item)) for item in ORG_NAV),
                                               spacing="1", width="100%")),
        rx.cond(AuthState.signed_in, nav_link(*ACCOUNT_NAV)),
        spacing="1", width="100%",
    )


def _who() -> rx.Component:
    return rx.vstack(
        rx.text(AuthState.user_label, weight="bold", size="2", data_testid="user-label"),
        rx.hstack(rx.badge(AuthState.role_label, variant="soft"),
                  rx.cond(AuthState.org_label != "", rx.text(AuthState.org_label, size="1", color_scheme="gray",
                                                             data_testid="org-label")),
                  spacing="2", wrap="wrap"),
        spacing="1",
    )


def logout_button(**props) -> rx.Component:
    """Signs out; the handler audits and clears the cookie."""
    return rx.button(rx.icon("log-out", size=16), strings.LOGOUT, variant="soft", color_scheme="gray",
                     on_click=AuthState.logout, data_testid="logout", **props)


def _brand(size: str) -> rx.Component:
    """The app's name in the frame: a name, not a heading (the page title is the page's one <h1>)."""
    return rx.text(strings.APP_NAME, size=size, weight="bold", as_="div")


def sidebar() -> rx.Component:
    """The right-hand column on tablets and laptops: it stays in place however long the page is."""
    return rx.vstack(
        _brand("5"),
        rx.text(strings.APP_TAGLINE, size="1", color_scheme="gray"),
        rx.divider(),
        rx.el.nav(_nav_items(), aria_label=strings.NAV_LABEL, style={"width": "100%", "overflowY": "auto",
                                                                    "flex": "1 1 auto", "minHeight": "0"}),
        _who(),
        logout_button(width="100%"),
        display=["none", "none", "flex"], width="15rem", min_width="15rem", height="100vh",
        position="sticky", top="0", padding="1rem", spacing="3", flex_shrink="0",
        border_inline_end="1px solid var(--gray-a5)", background="var(--gray-a2)",
        data_testid="sidebar",
    )


def mobile_bar() -> rx.Component:
    """The top bar with a menu on phone-sized screens; it stays at the top while the page scrolls."""
    return rx.hstack(
        _brand("4"),
        rx.spacer(),
        rx.menu.root(
            rx.menu.trigger(rx.button(rx.icon("menu", size=18), strings.NAV_MENU, variant="soft",
                                      data_testid="mobile-menu")),
            rx.menu.content(
                rx.cond(AuthState.is_super_admin, rx.menu.item(ADMIN_NAV[1], on_click=rx.redirect(routes.ADMIN))),
                _allowed(ORGANIZATIONS_NAV[0], rx.menu.item(ORGANIZATIONS_NAV[1],
                                                            on_click=rx.redirect(routes.ORGANIZATIONS))),
                rx.cond(_org_pages_visible(), rx.fragment(
                    *(_allowed(route, rx.menu.item(
                        label, *([unread_badge()] if route == routes.HISTORY else []), on_click=rx.redirect(route)))
                      for route, label, _, _ in ORG_NAV))),
                rx.cond(AuthState.signed_in, rx.menu.item(ACCOUNT_NAV[1], on_click=rx.redirect(routes.ACCOUNT))),
                rx.menu.separator(),
                rx.menu.item(strings.LOGOUT, on_click=AuthState.logout, color_scheme="red"),
            ),
        ),
        display=["flex", "flex", "none"], width="100%", padding="0.75rem", align="center",
        position="sticky", top="0", z_index="5",
        border_bottom="1px solid var(--gray-a5)", background="var(--color-background)",
        data_testid="mobile-bar",
    )


def read_only_banner() -> rx.Component:
    """Tells a super_admin whose organisation they are looking at, and that they cannot change it."""
    return rx.cond(
        AuthState.is_super_admin & (AuthState.org_label != ""),
        rx.callout.root(
            rx.callout.icon(rx.icon("eye")),
            rx.callout.text(rx.hstack(
                rx.text(strings.READ_ONLY_BANNER, " ", rx.text.strong(AuthState.org_label)),
                rx.link(strings.BACK_TO_OVERVIEW, on_click=AuthState.leave_org, href="#",
                        data_testid="leave-org"),
                spacing="3", wrap="wrap",
            )),
            color_scheme="amber", size="1", margin_bottom="1rem", data_testid="read-only-banner",
        ),
    )


def frame_banners() -> rx.Component:
    """Notes every page shows above its title (read-only view, and any live alert a page frame adds)."""
    return rx.vstack(read_only_banner(), alert_banner(), width="100%", spacing="2", data_testid="frame-banners")


def skip_link() -> rx.Component:
    """The first stop of the keyboard: straight to the page's content, past the navigation."""
    return rx.el.a(strings.SKIP_TO_CONTENT, href="#" + MAIN_ID, class_name="skip-link", data_testid="skip-link",
                   # The router may take the hash change for itself: move the focus explicitly too.
                   on_click=rx.call_script(f"document.getElementById('{MAIN_ID}').focus()"))


MAIN_ID = "main-content"


def page_frame(content: rx.Component, title: str) -> rx.Component:
    """The shell every signed-in page shares; content shows only once the server accepted the sign-in and loaded
    the page."""
    return rx.flex(
        skip_link(),
        sidebar(),
        rx.box(
            mobile_bar(),
            rx.el.main(
                frame_banners(),
                rx.heading(title, size="6", margin_bottom="0.25rem", as_="h1"),
                rx.cond(AuthState.zone_label != "",
                        rx.text(strings.TIMES_IN, " ", rx.text(AuthState.zone_label, as_="span"),
                                size="1", color_scheme="gray", data_testid="zone-label"),),
                rx.box(height="0.75rem"),
                # Until the page's on_load has run, the tab's state is still its last visit's: another filter's
                # rows, another message. is_hydrated turns true once that on_load is done.
                rx.cond(AuthState.signed_in & rx.State.is_hydrated, content,
                        rx.center(rx.spinner(size="3"), rx.text(strings.LOADING), padding="3rem")),
                id=MAIN_ID, tab_index=-1, class_name="page-main",
            ),
            flex="1", min_width="0",
        ),
        direction="row", width="100%", min_height="100vh",
        on_mount=rx.call_script("Intl.DateTimeFormat().resolvedOptions().timeZone",
                                callback=AuthState.set_timezone),
    )


def forbidden() -> rx.Component:
    """What a page says to a role it is not for: the same quiet note as every other refusal, not a big 403."""
    return rx.callout(strings.FORBIDDEN_BODY, icon="lock", color_scheme="gray", data_testid="forbidden")
