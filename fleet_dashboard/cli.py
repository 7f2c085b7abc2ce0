"""The `fleet-dashboard` command: run, migrate, seed, accounts, and the engine and worker tiers."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fleet_dashboard.services.errors import DomainError

ROOT = Path(__file__).resolve().parent.parent
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register a sub-command handler under a name."""

    def wrap(fn):
        COMMANDS[name] = fn
        return fn

    return wrap


def ensure_database() -> object | None:
    """Use DATABASE_URL, or start the embedded server and point DATABASE_URL at it."""
    from fleet_dashboard.settings import get_settings

    settings = get_settings()
    if os.environ.get("DATABASE_URL") or settings.database_url:
        os.environ.setdefault("DATABASE_URL", settings.database_url or "")
        return None
    from fleet_dashboard.db import EmbeddedPostgres

    server = EmbeddedPostgres(ROOT / settings.embedded_pg_dir if not os.path.isabs(settings.embedded_pg_dir)
                              else settings.embedded_pg_dir)
    os.environ["DATABASE_URL"] = server.start()
    return server


@command("migrate")
def cmd_migrate(args: argparse.Namespace) -> int:
    from fleet_dashboard import dbadmin
    from fleet_dashboard.db import database_url

    dbadmin.migrate(database_url())
    print("database migrated to the latest revision")
    return 0


@command("create-org")
def cmd_create_org(args: argparse.Namespace) -> int:
    from fleet_dashboard.db import session_scope
    from fleet_dashboard.services import orgs

    with session_scope() as session:
        org = orgs.create_org(session=session, name=args.name, slug=args.slug)
        print(f"created organisation {org.name} (slug {org.slug}, id {org.id})")
    return 0


@command("create-user")
def cmd_create_user(args: argparse.Namespace) -> int:
    from fleet_dashboard.db import session_scope
    from fleet_dashboard.services import users

    with session_scope() as session:
        user = users.create_user(session=session, email=args.email, password=args.password, role=args.role,
                                 org_slug=args.org, full_name=args.full_name or "")
        print(f"created {user.role} {user.email} (id {user.id})")
    return 0


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    from fleet_dashboard.db import session_scope
    from fleet_dashboard.services import demo

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


@command("run")
def cmd_run(args: argparse.Namespace) -> int:
    from fleet_dashboard.settings import PLACEHOLDER_SECRET, get_settings

    server = ensure_database()
    try:
        cmd_migrate(args)
        cmd_demo(args)
        env = {**os.environ, "REFLEX_USE_NPM": "1", "REFLEX_TELEMETRY_ENABLED": "false"}
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
        child = subprocess.Popen(reflex, cwd=ROOT, env=env)
        # Forward SIGTERM so the server exits first and the finally below stops PostgreSQL.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                child.terminate()
    finally:
        if server is not None:
            server.stop()


@command("engine")
def cmd_engine(args: argparse.Namespace) -> int:
    import asyncio

    from fleet_dashboard.whatsapp.runtime import run_engine_forever

    asyncio.run(run_engine_forever())
    return 0


@command("worker")
def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from fleet_dashboard.worker.runtime import run_worker_forever

    asyncio.run(run_worker_forever())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command and its arguments."""
    parser = argparse.ArgumentParser(prog="fleet-dashboard", description="Fleet Dashboard WhatsApp hub")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, seed the demo accounts and serve the dashboard and API")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="create a demo organisation, owner and super_admin if no user exists")
    p = sub.add_parser("create-org", help="create an organisation")
    p.add_argument("name")
    p.add_argument("--slug")
    p = sub.add_parser("create-user", help="create a user")
    p.add_argument("email")
    p.add_argument("--password", required=True)
    p.add_argument("--role", required=True, help="owner, admin, member or super_admin")
    p.add_argument("--org", help="organisation slug (not for super_admin)")
    p.add_argument("--full-name")
    sub.add_parser("engine", help="run only the WhatsApp engine (session supervisor)")
    sub.add_parser("worker", help="run only the notification queue worker")
    for extend in EXTENSIONS:
        extend(sub)
    return parser


# Other modules add sub-commands here (name -> (add-arguments, handler)), keeping this file about wiring.
EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def _load_extensions() -> None:
    for module in ("fleet_dashboard.api.cli", "fleet_dashboard.users_cli"):
        try:
            __import__(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; domain errors print one line, never a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _load_extensions()
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Under `python -m` this file is __main__; extensions register into fleet_dashboard.cli, so run that one.
    from fleet_dashboard.cli import main as _main

    sys.exit(_main())
