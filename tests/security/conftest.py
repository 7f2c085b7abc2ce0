"""Security suite fixtures: the in-process API of tests/api, and a running app to attack over its websocket."""

from __future__ import annotations

from tests.api.conftest import anyio_backend, api_env, client, make_app, make_key  # noqa: F401  (fixtures)
