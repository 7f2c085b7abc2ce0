"""`fleet-dashboard serve`: the dashboard and API on a frontend built ahead of time, as the Docker image runs them.

`fleet-dashboard run` compiles the app and builds the frontend with Node and npm on every start. An image must start
with no registry and no Node, so the image builds the frontend once (`reflex export --frontend-only`) and this
command only migrates and serves it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from fleet_dashboard.cli import COMMANDS, EXTENSIONS, ROOT, cmd_migrate, ensure_database, web_worker_env

# Where Reflex mounts the built frontend from: its web directory (REFLEX_WEB_WORKDIR, else .web beside the app).
FRONTEND_DIR = ROOT / os.environ.get("REFLEX_WEB_WORKDIR", ".web") / "build" / "client"

# Reflex's telemetry and its PyPI version check would call out at start; the image starts with no network.
QUIET_ENV = {"REFLEX_TELEMETRY_ENABLED": "false", "REFLEX_CHECK_LATEST_VERSION": "false"}


def cmd_serve(args: argparse.Namespace) -> int:
    if not (FRONTEND_DIR / "index.html").exists():
        raise RuntimeError(f"no built frontend in {FRONTEND_DIR}: run `reflex export --frontend-only --no-zip` "
                           "first (the Docker image does), or use `fleet-dashboard run`")
    server = ensure_database()
    try:
        if args.migrate:
            cmd_migrate(args)
        child = subprocess.Popen([sys.executable, "-m", "fleet_dashboard.cli.serve"], cwd=ROOT,
                                 env=web_worker_env({**os.environ, **QUIET_ENV}))
        # The server stops first on SIGTERM (docker stop) or Ctrl-C; then the finally below stops PostgreSQL.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                child.terminate()
    finally:
        if server is not None:
            server.stop()


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="migrate and serve a frontend built ahead of time (the Docker image's command)")
    p.add_argument("--no-migrate", dest="migrate", action="store_false",
                   help="leave migrations to `fleet-dashboard migrate` (several web containers)")


EXTENSIONS.append(_add)
COMMANDS["serve"] = cmd_serve

if __name__ == "__main__":  # the server process cmd_serve starts: Reflex's production backend, nothing compiled
    from fleet_dashboard.core.settings import get_settings
    from fleet_dashboard.web import reflex_internals

    reflex_internals.run_prod_backend(os.environ.get("BACKEND_HOST"), get_settings().port)
