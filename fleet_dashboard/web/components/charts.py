"""The daily sent/failed bar chart, shared by the org home and the super_admin's overview."""

from __future__ import annotations

import reflex as rx

from fleet_dashboard import strings


def daily_chart(title: str, data: rx.Var, *, test_id: str, height: int = 240) -> rx.Component:
    """Bars per day (newest on the left in RTL), sent stacked over failed, from rows {day, sent, failed}."""
    return rx.card(rx.vstack(
        rx.heading(title, size="3", as_="h2"),
        rx.recharts.bar_chart(
            rx.recharts.bar(data_key="sent", name=strings.CHART_MESSAGES, fill="var(--teal-9)", stack_id="a"),
            rx.recharts.bar(data_key="failed", name=strings.CHART_FAILED, fill="var(--red-9)", stack_id="a"),
            rx.recharts.x_axis(data_key="day", reversed=True),
            rx.recharts.y_axis(allow_decimals=False, orientation="right"),
            rx.recharts.legend(),
            rx.recharts.graphing_tooltip(),
            data=data, width="100%", height=height,
        ),
        width="100%",
    ), width="100%", data_testid=test_id)
