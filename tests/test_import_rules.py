"""Only engine processes load neonize, and only through the gateway adapter (docs/ARCHITECTURE.md): neonize's Go
layer can abort the whole process, so the web process must never load it."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "fleet_dashboard"
ADAPTER = "fleet_dashboard.whatsapp.engine.neonize_gateway"
ADAPTER_FILE = SOURCE / "whatsapp" / "engine" / "neonize_gateway.py"
# The one place that may load the adapter: runtime.make_factory, lazily, when the backend is neonize.
ENTRY = SOURCE / "whatsapp" / "engine" / "runtime.py"
# What `fleet-dashboard run` and the web process (`reflex run`: rxconfig, then the app module) import.
WEB_MODULES = ["rxconfig", "fleet_dashboard.fleet_dashboard", "fleet_dashboard.cli", "fleet_dashboard.cli.serve",
               "fleet_dashboard.whatsapp.processes"]


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


def test_the_web_process_never_loads_the_gateway_adapter_or_neonize():
    # The names checked are the real ones: the adapter exists, and importing it loads neonize.
    assert importlib.util.find_spec(ADAPTER) is not None
    control = _loaded_after_importing([ADAPTER])
    assert {ADAPTER, "neonize"} <= set(control)

    loaded = _loaded_after_importing(WEB_MODULES)
    assert not loaded, f"the web process's modules load {loaded[:5]}..."
