"""Schemathesis fuzzes every API operation from the OpenAPI schema: whatever it sends, never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support.api import service_role_jwt


@pytest.fixture
def fuzz_target(api_env, make_app, make_org, make_key, monkeypatch):
    """An app (no engine: sends meet a disconnected org), with limits out of the way and a valid key."""
    from fleet_dashboard.api.routes import sessions

    api_env.setenv("WHATSAPP_BACKEND", "neonize")  # no simulator control routes in the schema
    for name in ("SESSIONS", "SEND", "ENQUEUE"):
        api_env.setenv(f"RATE_LIMIT_{name}", "100000/minute")
    monkeypatch.setattr(sessions, "INIT_WAIT_SECONDS", 0.05)
    org = make_org()
    return make_app(), org, make_key(org)


@pytest.fixture
def api_schema(fuzz_target):
    app, _, _ = fuzz_target
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


OPERATIONS = 30  # at least every route but the docs known today: the schema must not lose any
EXAMPLES = 25  # per operation and mode: ~550 requests in ~15 s


def _fuzz(operation, mode: GenerationMode, org_id: str, auth: dict[str, str], failures: list[str]) -> None:
    """Run one operation in one generation mode and note every 5xx or error without the error shape."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        if "org_id" in (case.path_parameters or {}):
            # The caller's own org, so the fuzz reaches past the org check into the services.
            case.path_parameters["org_id"] = org_id
        response = case.call(headers=auth)
        label = f"{case.method} {case.formatted_path} {mode.value}"
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if body.get("success") is not False or not isinstance(body.get("error"), str):
                failures.append(f"{label}: error without the error shape: {body}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (e.g. GET /api/health in negative mode)
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_no_server_errors(api_schema, fuzz_target):
    """Valid (positive) and invalid (negative) requests for every operation, with a valid key and org."""
    _, org, key = fuzz_target
    auth = {"Authorization": f"Bearer {key}", "X-Org-Id": str(org.id)}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= OPERATIONS, [op.label for op in operations]
    # The provisioning bridge takes a platform credential, so the fuzz reaches its services too.
    admin_auth = {"Authorization": f"Bearer {service_role_jwt()}"}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            admin = operation.path.startswith("/api/admin/")
            _fuzz(operation, mode, str(org.id), admin_auth if admin else auth, failures)
    assert not failures, "\n".join(failures[:20])
