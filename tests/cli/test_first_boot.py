"""First boot: demo accounts only in development; in production the operator creates the first super_admin."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.passwords import verify_password
from tests.support.cli import Ran, run_cli

PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "a-real-secret-for-the-first-boot-test"}


@pytest.fixture
def environment(monkeypatch):
    from fleet_dashboard.core.settings import get_settings

    def _set(name: str) -> None:
        monkeypatch.setenv("ENVIRONMENT", name)
        monkeypatch.setenv("SECRET_KEY", PRODUCTION["SECRET_KEY"])
        monkeypatch.delenv("WHATSAPP_BACKEND", raising=False)
        get_settings.cache_clear()

    yield _set
    monkeypatch.undo()
    get_settings.cache_clear()


def cli(database_url: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
    return run_cli(*args, env={"DATABASE_URL": database_url, **(env or {})}, unset=["WHATSAPP_BACKEND"], stdin=stdin)


def test_a_production_boot_seeds_nothing_prints_no_password_and_says_how_to_start(database_url, db, environment,
                                                                                  caplog, capsys):
    from fleet_dashboard.cli.run import first_boot

    environment("production")
    with caplog.at_level(logging.WARNING):
        first_boot()
    db.expire_all()
    assert db.exec(select(User)).all() == []
    out = capsys.readouterr().out
    assert "password" not in out.lower()
    assert "create-user" in caplog.text and "--role super_admin" in caplog.text


def test_a_development_boot_seeds_the_demo_accounts_once(database_url, db, environment, capsys):
    from fleet_dashboard.cli.run import first_boot

    environment("development")
    first_boot()
    first_boot()
    db.expire_all()
    assert sorted(u.role for u in db.exec(select(User)).all()) == ["owner", "super_admin"]
    assert "owner@example.com" in capsys.readouterr().out


def test_the_demo_command_is_refused_in_production(database_url, db):
    out = cli(database_url, "demo", env=PRODUCTION)
    assert out.returncode == 2 and "create-user" in out.stderr and "Traceback" not in out.stderr
    db.expire_all()
    assert db.exec(select(User)).all() == []


def test_the_first_super_admin_with_the_password_on_stdin(database_url, db):
    out = cli(database_url, "create-user", "root@example.com", "--role", "super_admin", env=PRODUCTION,
              stdin="a-long-first-password\n")
    assert out.returncode == 0, out.stderr
    assert "a-long-first-password" not in out.stdout + out.stderr
    db.expire_all()
    root = db.exec(select(User).where(User.email == "root@example.com")).one()
    assert root.role == "super_admin" and root.org_id is None
    assert verify_password("a-long-first-password", root.password_hash)
    # Piped nothing: refused as too short, nothing created.
    out = cli(database_url, "create-user", "second@example.com", "--role", "super_admin", env=PRODUCTION, stdin="")
    assert out.returncode == 2 and "at least 8" in out.stderr
