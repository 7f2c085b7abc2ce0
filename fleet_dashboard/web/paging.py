"""Keyset paging for list pages: a stack of cursors gives first, previous and next without OFFSET."""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.web.state.auth import allow


class Paged(rx.State, mixin=True):
    """Mixed into a page state that defines `_page(org_id, cursor) -> (rows, next_cursor)`."""

    rows: list[dict[str, str]] = []
    page_no: int = 1
    has_next: bool = False
    _cursors: list[str] = [""]
    _next_cursor: str = ""

    def _page(self, org_id: uuid.UUID, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        raise NotImplementedError

    def _fetch(self, org_id: Any) -> None:
        """Re-read the current page."""
        rows, next_cursor = self._page(uuid.UUID(str(org_id)), self._cursors[-1] or None)
        self.rows, self._next_cursor = rows, next_cursor or ""
        self.has_next = bool(next_cursor)
        self.page_no = len(self._cursors)

    def _first_page(self) -> None:
        ctx = self._authorize()
        self._cursors = [""]
        self._fetch(ctx.org_id)

    def _next_page(self) -> None:
        if self._next_cursor:
            ctx = self._authorize()
            self._cursors = [*self._cursors, self._next_cursor]
            self._fetch(ctx.org_id)

    def _prev_page(self) -> None:
        if len(self._cursors) > 1:
            ctx = self._authorize()
            self._cursors = self._cursors[:-1]
            self._fetch(ctx.org_id)

    # A page whose list needs another column than `view` (the audit log) redeclares these three.
    @rx.event
    @allow(Action.view)
    def next_page(self):
        self._next_page()

    @rx.event
    @allow(Action.view)
    def prev_page(self):
        self._prev_page()

    @rx.event
    @allow(Action.view)
    def first_page(self):
        self._first_page()
