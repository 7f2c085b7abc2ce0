"""The api-key and webhook commands as an operator runs them: the key shown once works, then stops working."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.api import BASE_URL, headers
from tests.support.cli import Ran, run_cli


def cli(database_url: str, *args: str) -> Ran:
    return run_cli(*args, env={"DATABASE_URL": database_url})


@pytest.mark.anyio
async def test_api_key_create_use_list_revoke(database_url, make_app, make_org):
    org = make_org(slug="cli-keys")
    out = cli(database_url, "api-key", "create", "--org", "cli-keys", "--name", "billing", "--scopes", "read",
              "sessions")
    assert out.returncode == 0, out.stderr
    key = re.search(r"\b(fdk_[A-Za-z0-9_-]{20,})\b", out.stdout).group(1)
    assert "shown once" in out.stdout

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        assert (await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))).status_code == 200
        listed = cli(database_url, "api-key", "list", "--org", "cli-keys")
        assert listed.returncode == 0 and "billing" in listed.stdout and "sessions,read" in listed.stdout
        assert key not in listed.stdout, "the full key is never shown again"
        out = cli(database_url, "api-key", "revoke", key[:10])
        assert out.returncode == 0, out.stderr
        assert (await c.get(f"/api/sessions/{org.id}/status", headers=headers(key, org.id))).status_code == 401
    assert "revoked" in cli(database_url, "api-key", "list", "--org", "cli-keys").stdout


def test_webhook_set_list_delete(database_url, make_org):
    make_org(slug="cli-hooks")
    out = cli(database_url, "webhook", "set", "--org", "cli-hooks", "--url", "https://hooks.example.com/wa",
              "--events", "message.status", "message.inbound")
    assert out.returncode == 0, out.stderr
    assert "signing secret: whsec_" in out.stdout
    webhook_id = re.search(r"webhook ([0-9a-f-]{36})", out.stdout).group(1)
    listed = cli(database_url, "webhook", "list", "--org", "cli-hooks")
    assert webhook_id in listed.stdout and "message.status,message.inbound" in listed.stdout
    assert cli(database_url, "webhook", "delete", webhook_id).returncode == 0
    assert "no webhooks" in cli(database_url, "webhook", "list", "--org", "cli-hooks").stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["api-key", "create", "--org", "no-such-org"], "unknown organisation"),
    (["api-key", "create", "--org", "cli-errs", "--scopes", "admin"], "unknown scope"),
    (["api-key", "revoke", "fdk_nothing"], "no API key matches"),
    (["api-key", "revoke", "abc"], "at least 6 characters"),
    (["webhook", "set", "--org", "cli-errs", "--url", "ftp://x"], "http(s) URL"),
    (["webhook", "set", "--org", "cli-errs", "--url", "https://x.example", "--secret", "short"], "16 characters"),
    (["webhook", "set", "--org", "cli-errs", "--url", "https://x.example", "--events", "bogus"], "unknown webhook"),
    (["webhook", "delete", "not-an-id"], "no webhook"),
    (["api-key"], "fleet-dashboard api-key --help"),
])
def test_errors_are_one_line_without_traceback(database_url, make_org, args, needle):
    make_org(slug="cli-errs")
    out = cli(database_url, *args)
    assert out.returncode == 2, out.stdout
    assert needle in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_one_line(make_org):
    out = cli("postgresql://postgres@127.0.0.1:1/nope", "api-key", "list", "--org", "x")
    assert out.returncode == 2
    assert "cannot reach the database" in out.stderr and "Traceback" not in out.stderr
