"""The fleet-dashboard CLI: accounts and organisations, with one-line errors and no tracebacks."""

import uuid

import pytest
from sqlmodel import select

from fleet_dashboard.accounts.models import Organization, User
from fleet_dashboard.accounts.passwords import verify_password
from tests.support.cli import Ran, run_cli


def cli(database_url: str, *args: str) -> Ran:
    return run_cli(*args, env={"DATABASE_URL": database_url})


@pytest.fixture
def slug():
    return f"cli-{uuid.uuid4().hex[:6]}"


def test_create_org_and_users(database_url, db, slug):
    out = cli(database_url, "create-org", "Cairo Fleet", "--slug", slug)
    assert out.returncode == 0, out.stderr
    assert slug in out.stdout

    out = cli(database_url, "create-user", "Owner@Example.com", "--password", "s3cret-pass", "--role", "owner",
              "--org", slug)
    assert out.returncode == 0, out.stderr
    out = cli(database_url, "create-user", "root@example.com", "--password", "s3cret-pass", "--role",
              "super_admin")
    assert out.returncode == 0, out.stderr

    db.expire_all()
    org = db.exec(select(Organization).where(Organization.slug == slug)).one()
    owner = db.exec(select(User).where(User.email == "owner@example.com")).one()
    assert owner.org_id == org.id and owner.role == "owner"
    assert owner.password_hash.startswith("$argon2id$")
    assert verify_password("s3cret-pass", owner.password_hash)
    root = db.exec(select(User).where(User.email == "root@example.com")).one()
    assert root.org_id is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["create-user", "x@example.com", "--password", "s3cret-pass", "--role", "owner", "--org", "nope"],
         "unknown organisation"),
        (["create-user", "x@example.com", "--password", "s3cret-pass", "--role", "boss", "--org", "{slug}"],
         "unknown role"),
        (["create-user", "x@example.com", "--password", "s3cret-pass", "--role", "super_admin", "--org", "{slug}"],
         "super_admin belongs to no organisation"),
        (["create-user", "x@example.com", "--password", "s3cret-pass", "--role", "owner"],
         "needs an organisation"),
        (["create-user", "not-an-email", "--password", "s3cret-pass", "--role", "owner", "--org", "{slug}"],
         "invalid email"),
    ],
)
def test_bad_input_gets_one_line_error(database_url, db, slug, args, needle):
    assert cli(database_url, "create-org", "Org", "--slug", slug).returncode == 0
    out = cli(database_url, *[a.format(slug=slug) for a in args])
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_duplicate_email_and_duplicate_slug(database_url, db, slug):
    assert cli(database_url, "create-org", "Org", "--slug", slug).returncode == 0
    dup_org = cli(database_url, "create-org", "Org", "--slug", slug)
    assert dup_org.returncode == 2 and "already exists" in dup_org.stderr

    args = ["create-user", "dup@example.com", "--password", "s3cret-pass", "--role", "member", "--org", slug]
    assert cli(database_url, *args).returncode == 0
    out = cli(database_url, *[a.replace("dup@", "DUP@") for a in args])
    assert out.returncode == 2
    assert "already exists" in out.stderr
    assert "Traceback" not in out.stderr


def test_migrate_and_demo_print_logins_once(database_url, db):
    assert cli(database_url, "migrate").returncode == 0
    first = cli(database_url, "demo")
    assert first.returncode == 0, first.stderr
    assert "owner@example.com" in first.stdout and "admin@example.com" in first.stdout
    second = cli(database_url, "demo")
    assert second.returncode == 0
    assert "owner@example.com" not in second.stdout
