"""Secrets: outside development the app refuses the placeholder; a development run makes its own."""

import os
import stat

import pytest
from pydantic import ValidationError

from fleet_dashboard.cli.run import local_secret_key
from fleet_dashboard.core.settings import PLACEHOLDER_SECRET, Settings


@pytest.mark.parametrize("environment", ["test", "production"])
def test_placeholder_secrets_are_refused_outside_development(environment, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment=environment, _env_file=None)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment=environment, secret_key="a-real-secret-0123456789", jwt_secret=PLACEHOLDER_SECRET,
                 _env_file=None)
    assert Settings(environment=environment, secret_key="a-real-secret-0123456789", _env_file=None)


def test_development_allows_the_placeholder(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert Settings(environment="development", _env_file=None).secret_key == PLACEHOLDER_SECRET


def test_a_development_run_keeps_a_private_random_key(tmp_path):
    path = tmp_path / "data" / "secret_key"
    first = local_secret_key(path)
    assert len(first) >= 40 and first != PLACEHOLDER_SECRET
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert local_secret_key(path) == first  # the next start signs with the same key: sessions survive
