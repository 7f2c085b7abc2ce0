"""`fleet-dashboard serve`: the dashboard and API on a frontend built ahead of time, as the Docker image runs them.

`fleet-dashboard run` compiles the app and builds the frontend with Node and npm on every start. An image must start
with no registry and no Node, so the image builds the frontend once (`reflex export --frontend-only`) and this
command only migrates and serves it. Otherwise it is `run`: the same supervision (cli/supervise.py) keeps the web
process, the engines (unless RUN_ENGINE=false) and the embedded PostgreSQL alive.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from fleet_dashboard.cli.run import ROOT, WEB_BACKEND, cmd_migrate, ensure_database, supervise, web_worker_env
from fleet_dashboard.core.settings import get_settings

# Where Reflex mounts the built frontend from: its web directory (REFLEX_WEB_WORKDIR, else .web beside the app).
FRONTEND_DIR = ROOT / os.environ.get("REFLEX_WEB_WORKDIR", ".web") / "build" / "client"

# Reflex's telemetry and its PyPI version check would call out at start; the image starts with no network.
QUIET_ENV = {"REFLEX_TELEMETRY_ENABLED": "false", "REFLEX_CHECK_LATEST_VERSION": "false"}


def writable_backend_dir() -> None:
    """Reflex touches a marker in .web/backend at every start, and the image's root is read-only: there .web/backend
    is a link into /tmp (Dockerfile), filled here from what the build left in .web/backend.build."""
    link = ROOT / ".web" / "backend"
    built = ROOT / ".web" / "backend.build"
    if link.is_symlink() and built.is_dir():
        shutil.copytree(built, Path(os.readlink(link)), dirs_exist_ok=True)


def cmd_serve(args: argparse.Namespace) -> int:
    if not (FRONTEND_DIR / "index.html").exists():
        raise RuntimeError(f"no built frontend in {FRONTEND_DIR}: run `reflex export --frontend-only --no-zip` "
                           "first (the Docker image does), or use `fleet-dashboard run`")
    server = ensure_database()
    try:
        if args.migrate:
            cmd_migrate(args)
        return supervise(WEB_BACKEND, web_worker_env({**os.environ, **QUIET_ENV}), server)
    finally:
        if server is not None:
            server.stop()


def add_commands(sub: argparse._SubParsersAction) -> None:
    """serve."""
    p = sub.add_parser("serve", help="migrate and serve a frontend built ahead of time (the Docker image's command)")
    p.add_argument("--no-migrate", dest="migrate", action="store_false",
                   help="leave migrations to `fleet-dashboard migrate` (several web containers)")
    p.set_defaults(handler=cmd_serve)


if __name__ == "__main__":  # the server process cmd_serve starts: Reflex's production backend, nothing compiled
    # Imported here, not above: only this web process loads Reflex, never the engine processes the CLI starts.
    from fleet_dashboard.web import reflex_internals

    writable_backend_dir()
    reflex_internals.run_prod_backend(os.environ.get("BACKEND_HOST"), get_settings().port)
