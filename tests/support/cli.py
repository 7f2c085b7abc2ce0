"""The `fleet-dashboard` command run in this process, as an operator's shell would run it: arguments, environment
and stdin in; exit code, stdout and stderr out (its log lines and any traceback included, as on a terminal).

A fresh interpreter per command costs about a second; the commands under test need no process of their own.
Tests about processes (engines, crashes, signals, `serve`) still start real ones."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from unittest import mock

from tests.support.process_state import reset_database_caches

# What main()'s logging.basicConfig prints on a terminal.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class Ran:
    """What the shell shows after the command: its exit code and both streams (as subprocess.run returns them)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, unset: Iterable[str] = (), stdin: str | None = None) -> Ran:
    """`fleet-dashboard ARGS` with `env` added to (and `unset` removed from) this process's environment."""
    from fleet_dashboard.cli import main

    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    level = root.level
    with mock.patch.dict(os.environ, env or {}):
        for name in unset:
            os.environ.pop(name, None)
        reset_database_caches()  # the settings (and DATABASE_URL) the command reads are the ones given here
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                    mock.patch.object(sys, "stdin", io.StringIO(stdin or "")):
                try:
                    code = main(list(args))
                except SystemExit as exc:  # argparse's usage errors, --help
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except Exception:  # what the interpreter would print before exiting 1
                    traceback.print_exc()
                    code = 1
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
    reset_database_caches()  # and the test's own settings again afterwards
    return Ran(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
