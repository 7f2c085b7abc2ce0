"""The tree stays readable (docs/ARCHITECTURE.md, "Packages"): no folder of the package holds more than 15 modules,
except the dashboard's pages/ and state/, which follow the pages one to one (at most 25). A module is any .py file,
its package's __init__.py included."""

from __future__ import annotations

from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "fleet_dashboard"
MOST = 15
ONE_PER_PAGE = {SOURCE / "web" / "pages", SOURCE / "web" / "state"}
MOST_ONE_PER_PAGE = 25
FOLDERS = sorted(p for p in [SOURCE, *SOURCE.rglob("*")] if p.is_dir() and p.name != "__pycache__"
                 and any(p.glob("*.py")))


def test_the_scan_sees_the_folders():
    names = {p.relative_to(SOURCE).as_posix() for p in FOLDERS}
    assert {".", "core", "accounts", "messaging", "web/pages", "web/state", "whatsapp/engine"} <= names


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.relative_to(SOURCE).as_posix())
def test_no_folder_holds_more_modules_than_a_reader_can_take_in(folder):
    modules = sorted(p.name for p in folder.glob("*.py"))
    most = MOST_ONE_PER_PAGE if folder in ONE_PER_PAGE else MOST
    assert len(modules) <= most, f"{folder.relative_to(SOURCE)} holds {len(modules)} modules (at most {most})"


def test_pages_and_states_follow_the_pages():
    # The exception is earned by mirroring: every page module has its state of the same name, but the frame
    # (every page's decorator) and the sign-in page (its form is AuthState's, which every page shares).
    pages = {p.stem for p in (SOURCE / "web" / "pages").glob("*.py")} - {"__init__", "frame", "login"}
    states = {p.stem for p in (SOURCE / "web" / "state").glob("*.py")}
    assert pages <= states, f"pages without a state of their name: {sorted(pages - states)}"


def test_no_issue_markers_in_code_strings_or_tests():
    """The code says why, not which ticket: no "issue 12" left in a module, an Arabic string or a test."""
    import re

    marker = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)
    this = Path(__file__).resolve()
    root = SOURCE.parent
    found = [f"{p.relative_to(root)}:{n}" for base in (SOURCE, root / "tests") for p in sorted(base.rglob("*.py"))
             if p.resolve() != this for n, line in enumerate(p.read_text().splitlines(), 1) if marker.search(line)]
    assert found == []
