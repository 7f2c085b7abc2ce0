"""reflex and neonize are pinned exactly, and every private name of theirs the code touches still exists: an upgrade
that moves one fails here, not at run time (docs/ARCHITECTURE.md, "Upgrading reflex or neonize")."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import pytest

from fleet_dashboard.web import reflex_internals
from fleet_dashboard.whatsapp.engine import neonize_gateway

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = [*reflex_internals.PRIVATE_APIS, *neonize_gateway.PRIVATE_APIS]
INSTANCE = [*reflex_internals.PRIVATE_INSTANCE_ATTRIBUTES, *neonize_gateway.PRIVATE_INSTANCE_ATTRIBUTES]


def _pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for dep in deps:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)", dep)
        pins[match.group(1).lower()] = match.group(3)
    return pins


@pytest.mark.parametrize("name", ["reflex", "neonize"])
def test_pinned_exactly_and_installed_as_pinned(name):
    spec = _pins()[name]
    assert re.fullmatch(r"==\d+(\.\d+)*", spec), f"{name} must be pinned exactly, not {spec!r}"
    assert importlib.metadata.version(name) == spec[2:]


@pytest.mark.parametrize(("module", "path"), PRIVATE, ids=[f"{m}:{p}" for m, p in PRIVATE])
def test_each_private_name_the_code_touches_still_exists(module, path):
    target = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(target, part), f"{module}.{path}: no {part!r} any more"
        target = getattr(target, part)


@pytest.mark.parametrize(("owner", "attribute"), INSTANCE, ids=[f"{o}.{a}" for o, a in INSTANCE])
def test_each_private_instance_attribute_is_still_set_by_its_class(owner, attribute):
    module, _, name = owner.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    sources = "".join(inspect.getsource(k) for k in cls.__mro__ if k.__module__.split(".")[0] in ("reflex",
                                                                                                   "reflex_base",
                                                                                                   "neonize"))
    assert f"self.{attribute}" in sources or f"{attribute}:" in sources, f"{owner} no longer sets {attribute}"


def test_goneonize_still_takes_the_arguments_the_adapter_passes():
    from neonize._binder import gocode

    assert len(gocode.Neonize.argtypes) == neonize_gateway.NEONIZE_ARGUMENTS


def test_every_private_reflex_or_neonize_name_in_the_code_is_listed():
    """A private name used anywhere in the app must be in one of the two lists (or the check above misses it)."""
    listed = {p.split(".")[-1] for _, p in PRIVATE} | {a for _, a in INSTANCE} | {m.split(".")[-1] for m, _ in PRIVATE}
    used: set[str] = set()
    for path in (ROOT / "fleet_dashboard").rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"_NewAClient__\w+", text)) | set(re.findall(r"\bclient\.(_\w+)", text))
        used |= {"_binder"} if "neonize._binder" in text else set()
    assert used and used <= listed, used - listed
