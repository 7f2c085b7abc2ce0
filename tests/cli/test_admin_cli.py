"""An operator makes the SaaS's platform key from the shell; it opens /api/admin and is refused once revoked."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.cli.test_integrations_cli import cli
from tests.support.api import BASE_URL


@pytest.mark.anyio
async def test_platform_key_create_use_list_revoke(database_url, make_app, db):
    out = cli(database_url, "api-key", "create", "--platform", "--name", "fleet-saas")
    assert out.returncode == 0, out.stderr
    key = re.search(r"\b(fdk_[A-Za-z0-9_-]{20,})\b", out.stdout).group(1)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url=BASE_URL) as c:
        r = await c.put(f"/api/admin/organizations/{uuid.uuid4()}", json={"name": "From the SaaS"}, headers=auth)
        assert r.status_code == 200, r.text
        listed = cli(database_url, "api-key", "list", "--platform")
        assert "fleet-saas" in listed.stdout and "admin" in listed.stdout and key not in listed.stdout
        assert cli(database_url, "api-key", "revoke", key[:12]).returncode == 0
        r = await c.put(f"/api/admin/organizations/{uuid.uuid4()}", json={"name": "Again"}, headers=auth)
        assert r.status_code == 401
    out = cli(database_url, "api-key", "create")
    assert out.returncode != 0 and "--platform" in (out.stderr + out.stdout)
