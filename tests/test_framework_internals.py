"""Each framework's private APIs in one place: Reflex's only in web/reflex_internals.py (what to check after a
Reflex upgrade), neonize's only in the gateway adapter, whatsapp/engine/neonize_gateway.py."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from fleet_dashboard.web import reflex_internals

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "fleet_dashboard"
INTERNALS = SOURCE / "web" / "reflex_internals.py"
GATEWAY = SOURCE / "whatsapp" / "engine" / "neonize_gateway.py"
# Names on those paths that are Reflex's public classes, or too common to mean Reflex (`get`, `PROD`).
PUBLIC_PARTS = {"get", "environment", "Env", "PROD", "BaseState", "TokenManager", "RedisTokenManager",
                "StateManagerRedis", "EventNamespace"}
# The names reflex_internals reaches for: every other part of each private path, and the private instance attributes.
PRIVATE_NAMES = {part for _, path in reflex_internals.PRIVATE_APIS for part in path.split(".")} - PUBLIC_PARTS | \
    {attr for _, attr in reflex_internals.PRIVATE_INSTANCE_ATTRIBUTES}
PRIVATE_TEXTS = {reflex_internals.EVENT_PROCESSOR_LOGGER, reflex_internals.UNKNOWN_HANDLER_TEXT}


def _sources() -> list[Path]:
    return sorted([*SOURCE.rglob("*.py"), ROOT / "rxconfig.py"])


def _names(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name.rsplit(".", 1)[-1])
    return found


def _imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return out


@pytest.mark.parametrize(("module", "path"), reflex_internals.PRIVATE_APIS, ids=lambda v: str(v))
def test_every_private_reflex_api_the_app_uses_is_still_there(module, path):
    """The upgrade check: each private name reflex_internals relies on resolves in the installed Reflex."""
    target = importlib.import_module(module)
    for part in path.split("."):
        target = getattr(target, part)


def test_the_scan_sees_what_reflex_internals_names():
    tree = ast.parse(INTERNALS.read_text())
    assert {"_get_root_state", "chain_updates", "RegistrationContext", "_token_manager"} <= PRIVATE_NAMES
    assert "reflex_base.registry" in _imports(tree)
    # reflex_internals itself names every one of them, or the list above is stale.
    named = _names(tree) | {c.value for c in ast.walk(tree) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert named >= PRIVATE_NAMES, sorted(PRIVATE_NAMES - named)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_but_reflex_internals_touches_reflexs_private_apis(path):
    if path == INTERNALS:
        return
    tree = ast.parse(path.read_text(), filename=str(path))
    imports = _imports(tree)
    assert not [m for m in imports if m == "reflex_base" or m.startswith("reflex_base.")], \
        "reflex_base is Reflex's internal package: reach it through web/reflex_internals.py"
    assert not [m for m in imports if (m == "reflex" or m.startswith("reflex."))
                and any(part.startswith("_") for part in m.split("."))], "a private Reflex name is imported"
    assert not (_names(tree) & PRIVATE_NAMES), sorted(_names(tree) & PRIVATE_NAMES)
    texts = {c.value for c in ast.walk(tree) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert not {t for t in texts for private in PRIVATE_TEXTS if private in t}


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_but_the_gateway_touches_neonize(path):
    if path == GATEWAY:
        return
    tree = ast.parse(path.read_text(), filename=str(path))
    assert not [m for m in _imports(tree) if m == "neonize" or m.startswith("neonize.")]


def test_neonizes_private_modules_are_named_only_in_the_gateway():
    # The gateway does use them (the Go callbacks' ctypes types): the scan sees them there, and nowhere else.
    private = [m for m in _imports(ast.parse(GATEWAY.read_text())) if m.startswith("neonize._")]
    assert private, "the scan no longer sees neonize's private imports in the gateway"
