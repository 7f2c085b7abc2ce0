"""The import contract (docs/ARCHITECTURE.md, "Contracts"): no module imports another that imports it back,
packages import only the packages below them (LAYERS), and only engine processes load neonize, through the one
gateway adapter: neonize's Go layer can abort the whole process, so the web process must never load it, and no web
or API module imports the engine package (whatsapp/engine/*).

Imports inside functions count like any other; only `if TYPE_CHECKING:` imports (annotations) are left out."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "fleet_dashboard"
ADAPTER = "fleet_dashboard.whatsapp.engine.neonize_gateway"
ADAPTER_FILE = SOURCE / "whatsapp" / "engine" / "neonize_gateway.py"
# The one place that may load the adapter: runtime.make_factory, lazily, when the backend is neonize.
ENTRY = SOURCE / "whatsapp" / "engine" / "runtime.py"
# What `fleet-dashboard run` and the web process (`reflex run`: rxconfig, then the app module) import.
WEB_MODULES = ["rxconfig", "fleet_dashboard.fleet_dashboard", "fleet_dashboard.cli", "fleet_dashboard.cli.serve",
               "fleet_dashboard.whatsapp.processes"]


# Who may import whom. A module's package is its first part below fleet_dashboard (whatsapp/engine/ is a package of its
# own: engine processes only). Each package imports itself and the packages it lists here, nothing else; read from
# the top, every package lists only packages above it, so the table is also the layering.
DOMAIN_BELOW_ENGINE = {"core", "strings", "accounts", "messaging", "integrations", "whatsapp", "deliverability",
                       "notifications"}
LAYERS: dict[str, set[str]] = {
    "core": set(),                      # settings, database, bus, errors, URLs, safe HTTP: needs nothing of ours
    "strings": {"core"},                # every Arabic text, read by every layer (keyed by core's vocabularies)
    "accounts": {"core", "strings"},
    "messaging": {"core", "strings", "accounts"},
    "integrations": {"core", "strings", "accounts", "messaging"},
    "whatsapp": {"core", "strings", "accounts", "messaging"},
    # The sending number's guards: rules, holds, health, pauses, alerts (the queue and the engine act on them).
    "deliverability": {"core", "strings", "accounts", "messaging", "whatsapp"},
    "notifications": {"core", "strings", "accounts", "messaging", "whatsapp", "deliverability"},
    "whatsapp.engine": {"core", "strings", "accounts", "messaging", "whatsapp", "deliverability", "notifications"},
    "stats": {"core", "strings", "accounts", "messaging", "whatsapp", "deliverability", "notifications"},
    "api": DOMAIN_BELOW_ENGINE | {"stats"},     # FastAPI over the domain: never the engine
    "web": DOMAIN_BELOW_ENGINE | {"stats"},     # Reflex over the domain: never the engine
    "models": DOMAIN_BELOW_ENGINE | {"stats"},  # fleet_dashboard/models.py: every table, for alembic
    "app": {"core", "integrations", "deliverability", "stats", "api", "web"},  # fleet_dashboard.py: the web app
    "cli": DOMAIN_BELOW_ENGINE | {"whatsapp.engine", "stats", "web", "models"},  # the operator's entry point
}
ENGINE_PACKAGE = "fleet_dashboard.whatsapp.engine"


def _is(name: str | None, top: str) -> bool:
    return name is not None and (name == top or name.startswith(f"{top}."))


def imported_modules(path: Path) -> list[str]:
    """Every module a file names in `import x`, `from x import y`, importlib.import_module("x") or __import__("x")."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in {"import_module", "__import__"}:
                found.append(node.args[0].value)
    return found


def _sources() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# The package's own __init__ is empty: every module below it is one of ours.
MODULES = {_module_name(p): p for p in SOURCE.rglob("*.py") if p != SOURCE / "__init__.py"}


def package_of(module: str) -> str:
    """core, accounts, ... ; whatsapp.engine for the engine package; app and models for the two top-level files."""
    parts = module.split(".")
    if len(parts) == 2:
        return {"fleet_dashboard": "app", "models": "models"}.get(parts[1], parts[1])
    if parts[1] == "whatsapp" and len(parts) > 3 and parts[2] == "engine":
        return "whatsapp.engine"
    return parts[1]


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def our_imports(module: str) -> set[str]:
    """Every module of ours `module` imports, at the top or inside a function; `if TYPE_CHECKING:` ones aside."""
    path = MODULES[module]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{module}: a relative import (the code base uses absolute ones)"
                base = child.module or ""
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in child.names)
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return {r for n in found if _is(n, "fleet_dashboard") and (r := _resolve(n)) and r != module}


GRAPH = {m: our_imports(m) for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_scan_sees_the_imports():
    # A scan that found nothing would pass every rule below: check it on imports we know are there.
    assert "fleet_dashboard.core.db" in GRAPH["fleet_dashboard.accounts.audit"] or \
        "fleet_dashboard.core.pagination" in GRAPH["fleet_dashboard.accounts.audit"]
    assert "fleet_dashboard.notifications.worker" in GRAPH["fleet_dashboard.whatsapp.engine.runtime"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_one_that_imports_it_back():
    cycles = _cycles(GRAPH)
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_every_package_is_in_the_table():
    assert {package_of(m) for m in MODULES} == set(LAYERS)


def test_packages_import_only_the_packages_below_them():
    refused: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, imports in GRAPH.items():
        mine = package_of(module)
        for target in imports:
            theirs = package_of(target)
            if theirs != mine and theirs not in LAYERS[mine]:
                refused[(mine, theirs)].append(f"{module} -> {target}")
    assert not refused, "imports across the layers:\n" + "\n".join(
        f"{a} may not import {b}: {', '.join(sorted(why)[:3])}" for (a, b), why in sorted(refused.items()))


def test_the_table_is_a_layering():
    # No two packages may import each other, even through others: the allowed imports have no cycle either.
    assert _cycles({pkg: set(allowed) for pkg, allowed in LAYERS.items()}) == []


@pytest.mark.parametrize("layer", ["api", "web", "app"])
def test_no_web_or_api_module_imports_the_engine_package(layer):
    offenders = sorted(f"{m} -> {t}" for m, imports in GRAPH.items() if package_of(m) == layer
                       for t in imports if _is(t, ENGINE_PACKAGE))
    assert offenders == []


def test_only_the_gateway_adapter_imports_neonize():
    importers = {p.relative_to(ROOT).as_posix() for p in _sources()
                 if any(_is(m, "neonize") for m in imported_modules(p))}
    # Exactly the adapter: the scan sees its imports at all (a rename would otherwise pass unnoticed).
    assert importers == {ADAPTER_FILE.relative_to(ROOT).as_posix()}, f"neonize importers: {sorted(importers)}"


def test_outside_code_enters_the_adapter_only_through_make_factory():
    importers = {path.relative_to(ROOT).as_posix() for path in _sources() if path != ADAPTER_FILE
                 and any(_is(m, ADAPTER) for m in imported_modules(path))}
    assert importers == {ENTRY.relative_to(ROOT).as_posix()}, f"importers of {ADAPTER}: {sorted(importers)}"
    # ...and lazily: a simulator engine process never loads neonize.
    tree = ast.parse(ENTRY.read_text())
    top_level = [m for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
                 for m in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module])]
    assert not any(_is(m, ADAPTER) or _is(m, "neonize") for m in top_level)


def _loaded_after_importing(modules: list[str]) -> list[str]:
    """The neonize modules and our gateway adapter a fresh interpreter holds after these imports."""
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m == 'neonize' or m.startswith('neonize.')"
            f" or m == {ADAPTER!r})))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_web_app_loads_no_engine_module():
    """What the web workers import (rxconfig, then the app module) brings in nothing from whatsapp/engine/."""
    code = ("import importlib, json, sys\n"
            "for name in ['rxconfig', 'fleet_dashboard.fleet_dashboard']: importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({ENGINE_PACKAGE + '.'!r}))))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_web_process_never_loads_the_gateway_adapter_or_neonize():
    # The names checked are the real ones: the adapter exists, and importing it loads neonize.
    assert importlib.util.find_spec(ADAPTER) is not None
    control = _loaded_after_importing([ADAPTER])
    assert {ADAPTER, "neonize"} <= set(control)

    loaded = _loaded_after_importing(WEB_MODULES)
    assert not loaded, f"the web process's modules load {loaded[:5]}..."
