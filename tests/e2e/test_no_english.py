"""No English an Arabic reader would meet, on any page, as an owner and as the super_admin: no status, role, scope,
event or template code, no {{variable}}, no UUID, no raw key:value (tests/support/english.py says what is allowed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.browser import login
from tests.support.english import VISIBLE_TEXT_JS, english_in
from tests.support.server import AppServer
from tests.support.showcase import admin_tour, build_showcase, owner_tour

LAPTOP = {"width": 1366, "height": 800}


def _leaks(found: dict[str, list[str]]) -> str:
    return "English on the page:\n" + "\n".join(f"{k}: {v}" for k, v in found.items() if v)


@pytest.mark.timeout(900)  # a dozen pages, each waited for, on a shared machine
def test_no_visible_english_on_any_page_for_the_owner(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    page.set_viewport_size(LAPTOP)
    login(page, show.owner)
    found = {name: english_in(page.evaluate(VISIBLE_TEXT_JS)) for name in owner_tour(page, show)}
    assert len(found) == 14, found.keys()
    assert not any(found.values()), _leaks(found)


@pytest.mark.timeout(900)
def test_no_visible_english_on_any_page_for_the_super_admin(page: Page, app_server: AppServer) -> None:
    show = build_showcase(app_server)
    page.set_viewport_size(LAPTOP)
    login(page, show.admin)
    found = {name: english_in(page.evaluate(VISIBLE_TEXT_JS)) for name in admin_tour(page, show)}
    assert len(found) >= 10, found.keys()
    assert not any(found.values()), _leaks(found)
