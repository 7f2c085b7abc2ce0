"""The in-process API fixtures (tests/support/api.py) for this suite."""

from tests.support.api import anyio_backend, api_env, client, live, live_env, make_app, make_key  # noqa: F401
