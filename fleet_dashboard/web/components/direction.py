"""Right to left for every Radix part: Radix Themes' root provides `dir="ltr"` to everything inside it, so the
app wraps its pages in a second direction provider, just inside the theme."""

from __future__ import annotations

import reflex as rx

# Radix Themes depends on the `radix-ui` package (same range), so this adds no new code to the frontend.
RADIX_UI = "radix-ui@^1.1.3"
# App wraps nest by priority, highest outermost: the Radix Themes root is 20, so 19 sits just inside it.
PRIORITY = 19


class DirectionProvider(rx.Component):
    """Radix's `Direction.Provider`: scroll areas (tables), selects, menus, tabs and toggles read it."""

    library = RADIX_UI
    tag = "Direction.Provider"

    dir: rx.Var[str]


def rtl_app_wrap() -> dict[tuple[int, str], object]:
    """The `extra_app_wraps` entry that turns every Radix root right to left."""
    return {(PRIORITY, "DirectionProvider"): lambda _stateful: DirectionProvider.create(dir="rtl")}
