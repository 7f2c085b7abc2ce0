"""The decorator every signed-in page uses: route, title, on_load and the shared frame in one place."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from fleet_dashboard import strings
from fleet_dashboard.web.components.layout import page_frame


def dashboard_page(*, route: str | tuple[str, ...], title: str, on_load) -> Callable:
    """Register a content function as a page (or several routes) inside the dashboard frame."""
    route_list = (route,) if isinstance(route, str) else route

    def wrap(content: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        def page() -> rx.Component:
            return page_frame(content(), title)

        page.__name__ = content.__name__
        for one in route_list:
            rx.page(route=one, title=f"{title} · {strings.APP_NAME}", on_load=on_load)(page)
        return page

    return wrap
