"""The e2e harness: the real app in simulator mode in its own processes, Debian Chromium, and strict error checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.server import CHROMIUM, CHROMIUM_ARGS, AppServer

# A line the server logs at ERROR level, or a traceback: either fails the test that was running.
SERVER_ERROR = re.compile(r"(\bERROR\b|Traceback \(most recent call last\))")

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian Chromium: playwright cannot download browsers on this network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def app_server(live_app: AppServer) -> AppServer:
    """The live app in simulator mode (tests/conftest.py), shared with the security suite."""
    return live_app


@pytest.fixture
def browser_context_args(app_server: AppServer) -> dict:
    """Every page talks to our server, in Arabic, on a laptop-sized screen unless a test says otherwise."""
    return {"base_url": app_server.base_url, "locale": "ar-EG", "timezone_id": "Africa/Cairo",
            "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(autouse=True)
def strict_page(page: Page, app_server: AppServer) -> Iterator[list[str]]:
    """Fail on any console error, page error, off-site request, or server ERROR log during the test."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def check_request(request) -> None:
        url = request.url
        if not (url.startswith(app_server.base_url) or url.startswith(("data:", "blob:"))
                or url.startswith(app_server.base_url.replace("http", "ws", 1))):
            problems.append(f"off-site request: {url}")

    page.on("request", check_request)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    offset = app_server.log_size()
    yield problems
    new_lines = app_server.log_since(offset)
    bad = [line for line in new_lines.splitlines() if SERVER_ERROR.search(line)]
    assert not bad, "server logged errors:\n" + "\n".join(bad[:20]) + "\n---\n" + new_lines[-4000:]
    assert not problems, "browser problems:\n" + "\n".join(problems)
