"""A message's file as its page and its conversation show it: an image previews itself, a document opens."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings


def file_chip(kind: rx.Var, name: rx.Var, url: rx.Var, meta: rx.Var | str = "", name_test_id: str = "file-name",
              **props) -> rx.Component:
    """An image as a thumbnail that opens full size; a document as its icon, name and size, opening in a new tab."""
    label = rx.hstack(
        rx.icon(rx.cond(kind == "image", "image", "file-text"), size=18),
        rx.text(name, weight="medium", size="2", dir="auto", class_name="isolate", data_testid=name_test_id),
        rx.text(meta, size="1", color_scheme="gray", class_name="isolate"),
        spacing="2", align="center", wrap="wrap",
    )
    return rx.vstack(
        rx.cond((kind == "image") & (url != ""), rx.link(
            rx.image(src=url, alt=strings.FILE_PREVIEW_ALT, max_width="min(18rem, 100%)", max_height="14rem",
                     border_radius="var(--radius-3)", data_testid="file-preview"),
            href=url, is_external=True)),
        rx.cond(url != "", rx.link(label, href=url, is_external=True, title=strings.FILE_OPEN,
                                   underline="hover", data_testid="file-link"), label),
        spacing="1", **props,
    )
