"""`make screenshots`: every page at 1366 and 390 px, as an owner and as the super_admin, right to left, written
to SCREENSHOTS_DIR (default screenshots/) for reviewers to look at. Not part of `make test` (the file name is not
test_*): run it as `pytest tests/e2e/screenshots.py`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import at, login
from tests.support.server import AppServer
from tests.support.showcase import admin_tour, build_showcase, owner_tour

WIDTHS = {"1366": {"width": 1366, "height": 800}, "390": {"width": 390, "height": 844}}


def _shoot(page: Page, folder: Path, who: str, name: str) -> list[Path]:
    """The page at each width, whole length; back to the laptop width for the tour's next click."""
    assert page.evaluate("document.documentElement.dir") == "rtl"
    shots = []
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(300)  # the layout's breakpoints settle
        path = folder / f"{who}-{width}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    page.set_viewport_size(WIDTHS["1366"])
    return shots


@pytest.mark.timeout(3600)  # about fifty pages at two widths
def test_screenshots_of_every_page(page: Page, app_server: AppServer) -> None:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", "screenshots")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    show = build_showcase(app_server)
    page.set_viewport_size(WIDTHS["1366"])
    shots: list[Path] = []
    login(page, show.owner)
    for name in owner_tour(page, show):
        shots += _shoot(page, folder, "owner", name)
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(at("/login"))
    login(page, show.admin)
    for name in admin_tour(page, show):
        shots += _shoot(page, folder, "super_admin", name)
    assert all(p.stat().st_size > 5_000 for p in shots)
    print(f"\n{len(shots)} screenshots in {folder}")
