"""`run`, `migrate`, `demo`, `engine` and `worker`: the product's processes, and what `run` and `serve` share
(the database, migrations, first boot, the supervision of the web process and the engines)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from pathlib import Path

from sqlmodel import select

from fleet_dashboard.accounts.models import Role, User
from fleet_dashboard.cli import demo
from fleet_dashboard.cli.supervise import Web, keep_alive
from fleet_dashboard.core import dbadmin
from fleet_dashboard.core.db import EmbeddedPostgres, database_url, session_scope
from fleet_dashboard.core.settings import PLACEHOLDER_SECRET, get_settings
from fleet_dashboard.whatsapp import processes
from fleet_dashboard.whatsapp.engine.runtime import run_engine_forever

ROOT = Path(__file__).resolve().parents[2]
# The web process `run` and `serve` restart: Reflex's production backend on the frontend already built.
WEB_BACKEND = [sys.executable, "-m", "fleet_dashboard.cli.serve"]

FIRST_ADMIN_HINT = """No super_admin exists yet. Create the first one (the password is asked for, never logged):
  fleet-dashboard create-user you@example.com --role super_admin
then sign in and add organisations and their owners (or use create-org / create-user --org)."""


def ensure_database() -> EmbeddedPostgres | None:
    """Use DATABASE_URL, or start the embedded server and point DATABASE_URL at it."""
    settings = get_settings()
    if os.environ.get("DATABASE_URL") or settings.database_url:
        os.environ.setdefault("DATABASE_URL", settings.database_url or "")
        return None
    server = EmbeddedPostgres(ROOT / settings.embedded_pg_dir if not os.path.isabs(settings.embedded_pg_dir)
                              else settings.embedded_pg_dir)
    os.environ["DATABASE_URL"] = server.start(max_connections=settings.embedded_pg_max_connections)
    return server


def cmd_migrate(args: argparse.Namespace) -> int:
    dbadmin.migrate(database_url())
    print("database migrated to the latest revision")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if get_settings().environment == "production":
        raise RuntimeError("demo accounts are for development; create real ones with "
                           "`fleet-dashboard create-user EMAIL --role super_admin`")
    with session_scope() as session:
        created = demo.seed_demo(session=session)
    if created:
        print("\n=== Demo accounts (shown once; change the passwords) ===")
        for role, email, password in created:
            print(f"  {role:<12} {email:<28} {password}")
        print()
    else:
        print("demo: accounts already exist, nothing created")
    return 0


def first_boot() -> None:
    """Development starts with demo accounts; elsewhere nothing is seeded and the operator is told what to do."""
    if get_settings().environment == "development":
        cmd_demo(argparse.Namespace())
        return
    with session_scope() as session:
        admin = session.exec(select(User.id).where(User.role == Role.super_admin.value,
                                                   User.is_active.is_(True))).first()
    if admin is None:
        logging.getLogger("fleet_dashboard.cli").warning(FIRST_ADMIN_HINT)


def local_secret_key(path: Path) -> str:
    """A random SECRET_KEY kept in `path` (mode 0600), made on first use: a development install never
    signs sessions with the public placeholder, and sessions survive restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def web_worker_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of Reflex's production server: WEB_WORKERS becomes the worker count it reads."""
    workers = get_settings().web_workers
    if workers is not None:
        env["GRANIAN_WORKERS"] = str(workers)
    return env


def ping_url() -> str:
    """Where `run` and `serve` ask the web process whether it answers."""
    host = os.environ.get("BACKEND_HOST") or "127.0.0.1"
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{get_settings().port}/ping"


def supervise(web_command: list[str], env: dict[str, str], server: EmbeddedPostgres | None, *,
              web_after_engines: bool = False) -> int:
    """Run the web process and, unless RUN_ENGINE=false, the engine processes, keeping them and the embedded
    PostgreSQL alive (cli/supervise.py) until SIGTERM or Ctrl-C. A restarted web process serves the frontend
    the first start built (`serve`'s backend), so it answers again within seconds. `web_after_engines`: the
    first web start (a build) waits for the engines (keep_alive)."""
    engines = processes.from_settings(env, entry=engine_child)
    web = Web(web_command, cwd=ROOT, env=env, ping_url=ping_url(), restart_command=WEB_BACKEND)
    return keep_alive(web, engines=engines, database=server, web_after_engines=web_after_engines)


def engine_child() -> int:
    """The body of an engine process forked from `run` or `serve`: the engine's modules are loaded already."""
    return asyncio.run(run_engine_forever())


def cmd_run(args: argparse.Namespace) -> int:
    """The whole product: the web process, and the engine processes it must never host (see engine_processes)."""
    server = ensure_database()
    try:
        cmd_migrate(args)
        first_boot()
        env = web_worker_env({**os.environ, "REFLEX_USE_NPM": "1", "REFLEX_TELEMETRY_ENABLED": "false"})
        if get_settings().secret_key == PLACEHOLDER_SECRET:
            env["SECRET_KEY"] = local_secret_key(ROOT / "data" / "secret_key")
            print("SECRET_KEY is not set: sessions are signed with a random key kept in data/secret_key")
        port = str(get_settings().port)
        bin_dir = Path(sys.executable).parent
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        reflex = [str(bin_dir / "reflex"), "run", "--env", "prod", "--single-port",
                  "--frontend-port", port, "--backend-port", port]
        if os.environ.get("BACKEND_HOST"):  # e.g. 127.0.0.1 for tests; reflex binds 0.0.0.0 otherwise
            reflex += ["--backend-host", os.environ["BACKEND_HOST"]]
        return supervise(reflex, env, server, web_after_engines=True)
    finally:
        if server is not None:
            server.stop()


def cmd_engine(args: argparse.Namespace) -> int:
    # `worker` is an engine with the worker forced on: a worker sends only through a socket it owns.
    return asyncio.run(run_engine_forever(with_worker=True if args.command == "worker" else None))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """run, migrate, demo, engine and worker."""
    sub.add_parser("run", help="migrate, seed demo accounts (development only) and serve the dashboard and API"
                   ).set_defaults(handler=cmd_run)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    sub.add_parser("demo", help="create a demo organisation, owner and super_admin if no user exists "
                                "(not in production)").set_defaults(handler=cmd_demo)
    sub.add_parser("engine", help="run one WhatsApp engine process with its queue worker (`run` starts these)"
                   ).set_defaults(handler=cmd_engine)
    sub.add_parser("worker", help="the same as `engine`, with the queue worker whatever RUN_WORKER says"
                   ).set_defaults(handler=cmd_engine)
