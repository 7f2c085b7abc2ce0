"""The `fleet-dashboard` command: run, migrate, seed, accounts, and the engine and worker tiers."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from fleet_dashboard import models  # noqa: F401  (every table known, so a row may point at any other)
from fleet_dashboard.core.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register a sub-command handler under a name."""

    def wrap(fn):
        COMMANDS[name] = fn
        return fn

    return wrap


def ensure_database() -> object | None:
    """Use DATABASE_URL, or start the embedded server and point DATABASE_URL at it."""
    from fleet_dashboard.core.settings import get_settings

    settings = get_settings()
    if os.environ.get("DATABASE_URL") or settings.database_url:
        os.environ.setdefault("DATABASE_URL", settings.database_url or "")
        return None
    from fleet_dashboard.core.db import EmbeddedPostgres

    server = EmbeddedPostgres(ROOT / settings.embedded_pg_dir if not os.path.isabs(settings.embedded_pg_dir)
                              else settings.embedded_pg_dir)
    os.environ["DATABASE_URL"] = server.start()
    return server


@command("migrate")
def cmd_migrate(args: argparse.Namespace) -> int:
    from fleet_dashboard.core import dbadmin
    from fleet_dashboard.core.db import database_url

    dbadmin.migrate(database_url())
    print("database migrated to the latest revision")
    return 0


@command("create-org")
def cmd_create_org(args: argparse.Namespace) -> int:
    from fleet_dashboard.accounts import lifecycle
    from fleet_dashboard.accounts.permissions import operator
    from fleet_dashboard.core.db import session_scope

    with session_scope() as session:
        org = lifecycle.create_organization(session=session, actor=operator(), name=args.name, slug=args.slug)
        print(f"created organisation {org.name} (slug {org.slug}, id {org.id})")
    return 0


def read_password(given: str | None) -> str:
    """--password, else asked twice on a terminal, else the first line of stdin (kept out of shell history)."""
    if given is not None:
        return given
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != first:
            raise RuntimeError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@command("create-user")
def cmd_create_user(args: argparse.Namespace) -> int:
    from fleet_dashboard.accounts import people
    from fleet_dashboard.accounts.permissions import operator
    from fleet_dashboard.core.db import session_scope

    password = read_password(args.password)
    with session_scope() as session:
        user = people.create_account(session=session, actor=operator(), email=args.email, password=password,
                                     role=args.role, org_slug=args.org, full_name=args.full_name or "")
        print(f"created {user.role} {user.email} (id {user.id})")
    return 0


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    from fleet_dashboard.cli import demo
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.core.settings import get_settings

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


FIRST_ADMIN_HINT = """No super_admin exists yet. Create the first one (the password is asked for, never logged):
  fleet-dashboard create-user you@example.com --role super_admin
then sign in and add organisations and their owners (or use create-org / create-user --org)."""


def first_boot() -> None:
    """Development starts with demo accounts; elsewhere nothing is seeded and the operator is told what to do."""
    from sqlmodel import select

    from fleet_dashboard.accounts.models import Role, User
    from fleet_dashboard.core.db import session_scope
    from fleet_dashboard.core.settings import get_settings

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
    from fleet_dashboard.core.settings import get_settings

    workers = get_settings().web_workers
    if workers is not None:
        env["GRANIAN_WORKERS"] = str(workers)
    return env


def ping_url() -> str:
    """Where `run` and `serve` ask the web process whether it answers."""
    from fleet_dashboard.core.settings import get_settings

    host = os.environ.get("BACKEND_HOST") or "127.0.0.1"
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{get_settings().port}/ping"


def supervise(web_command: list[str], env: dict[str, str], server: object | None) -> int:
    """Run the web process and, unless RUN_ENGINE=false, the engine processes, keeping them and the embedded
    PostgreSQL alive (cli/supervise.py) until SIGTERM or Ctrl-C. A restarted web process serves the frontend
    the first start built (`serve`'s backend), so it answers again within seconds."""
    from fleet_dashboard.cli.supervise import Web, keep_alive
    from fleet_dashboard.whatsapp import processes

    engines = processes.from_settings(env)
    restart = [sys.executable, "-m", "fleet_dashboard.cli.serve"]
    web = Web(web_command, cwd=ROOT, env=env, ping_url=ping_url(), restart_command=restart)
    return keep_alive(web, engines=engines, database=server)


@command("run")
def cmd_run(args: argparse.Namespace) -> int:
    """The whole product: the web process, and the engine processes it must never host (see engine_processes)."""
    from fleet_dashboard.core.settings import PLACEHOLDER_SECRET, get_settings

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
        return supervise(reflex, env, server)
    finally:
        if server is not None:
            server.stop()


@command("engine")
def cmd_engine(args: argparse.Namespace) -> int:
    import asyncio

    from fleet_dashboard.whatsapp.engine.runtime import run_engine_forever

    return asyncio.run(run_engine_forever())


@command("worker")
def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from fleet_dashboard.whatsapp.engine.runtime import run_engine_forever

    # A worker sends only through a socket it owns, so the worker tier is an engine tier with the worker forced on.
    return asyncio.run(run_engine_forever(with_worker=True))


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command and its arguments."""
    parser = argparse.ArgumentParser(prog="fleet-dashboard", description="Fleet Dashboard WhatsApp hub")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, seed demo accounts (development only) and serve the dashboard and API")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="create a demo organisation, owner and super_admin if no user exists "
                                "(not in production)")
    p = sub.add_parser("create-org", help="create an organisation")
    p.add_argument("name")
    p.add_argument("--slug")
    p = sub.add_parser("create-user", help="create a user")
    p.add_argument("email")
    p.add_argument("--password", help="omit it to be asked (or to pipe it on stdin), out of shell history")
    p.add_argument("--role", required=True, help="owner, admin, member or super_admin")
    p.add_argument("--org", help="organisation slug (not for super_admin)")
    p.add_argument("--full-name")
    sub.add_parser("engine", help="run one WhatsApp engine process with its queue worker (`run` starts these)")
    sub.add_parser("worker", help="the same as `engine`, with the queue worker whatever RUN_WORKER says")
    for extend in EXTENSIONS:
        extend(sub)
    return parser


# Other modules add sub-commands here (name -> (add-arguments, handler)), keeping this file about wiring.
EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def _load_extensions() -> None:
    for module in ("fleet_dashboard.cli.integrations", "fleet_dashboard.cli.accounts", "fleet_dashboard.cli.serve",
                   "fleet_dashboard.stats.upkeep"):
        try:
            __import__(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def configuration_problem() -> str | None:
    """Why the settings are refused (e.g. the simulator in production), or None: checked before any command."""
    from pydantic import ValidationError

    from fleet_dashboard.core.settings import get_settings

    try:
        get_settings()
    except ValidationError as exc:
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; domain errors print one line, never a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _load_extensions()
    args = build_parser().parse_args(argv)
    problem = configuration_problem()
    if problem:
        print(f"error: invalid configuration: {problem}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

