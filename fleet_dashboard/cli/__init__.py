"""The `fleet-dashboard` command: one argparse parser, each sub-command's arguments beside its handler.

Every command module adds its sub-commands with `add_commands(sub)`, naming its handler (`set_defaults(handler=)`);
build_parser calls each in turn, so the whole command line is visible here and nothing registers itself on import.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from fleet_dashboard import models  # noqa: F401  (every table known, so a row may point at any other)
from fleet_dashboard.cli import accounts, integrations, run, serve, upkeep
from fleet_dashboard.core.errors import DomainError
from fleet_dashboard.core.settings import get_settings

# The command groups, in the order `fleet-dashboard --help` lists them.
GROUPS = (run, serve, accounts, integrations, upkeep)


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command and its arguments."""
    parser = argparse.ArgumentParser(prog="fleet-dashboard", description="Fleet Dashboard WhatsApp hub")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(sub)
    return parser


def configuration_problem() -> str | None:
    """Why the settings are refused (e.g. the simulator in production), or None: checked before any command."""
    try:
        get_settings()
    except ValidationError as exc:
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; domain errors print one line, never a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    problem = configuration_problem()
    if problem:
        print(f"error: invalid configuration: {problem}", file=sys.stderr)
        return 2
    if not hasattr(args, "handler"):  # a command group (user, api-key, webhook) named without its action
        print(f"error: say what to do: fleet-dashboard {args.command} --help", file=sys.stderr)
        return 2
    try:
        return args.handler(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # a driver error would print a traceback: one line instead
        first_line = str(exc.orig or exc).strip().splitlines()[0]
        print(f"error: cannot reach the database: {first_line}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
