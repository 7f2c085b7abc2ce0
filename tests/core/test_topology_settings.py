"""The production topology's settings: web workers share state through Redis, and what the lease promises."""

import pytest
from pydantic import ValidationError

from fleet_dashboard.cli import run
from fleet_dashboard.core.settings import Settings


def test_several_web_workers_need_redis():
    with pytest.raises(ValidationError, match="WEB_WORKERS above 1 needs REDIS_URL"):
        Settings(web_workers=3, _env_file=None)
    assert Settings(web_workers=1, _env_file=None).web_workers == 1
    assert Settings(web_workers=3, redis_url="redis://127.0.0.1:6379/0", _env_file=None).web_workers == 3


def test_web_workers_reach_reflex_as_its_worker_count(monkeypatch):
    monkeypatch.setattr(run, "get_settings",
                        lambda: Settings(web_workers=4, redis_url="redis://127.0.0.1:6379/0", _env_file=None))
    assert run.web_worker_env({})["GRANIAN_WORKERS"] == "4"
    monkeypatch.setattr(run, "get_settings", lambda: Settings(_env_file=None))
    assert "GRANIAN_WORKERS" not in run.web_worker_env({})


def test_redis_url_is_reflex_state_manager():
    import rxconfig

    assert rxconfig.config.redis_url == rxconfig._settings.redis_url
