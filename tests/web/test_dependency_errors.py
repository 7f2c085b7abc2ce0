"""An event that fails on the server says so in Arabic: a database or Redis away for a moment is a temporary
state (one warning line, the page resumes by itself), anything else an unexpected error with its traceback."""

from __future__ import annotations

import logging

import psycopg
import redis.exceptions
import sqlalchemy.exc

from fleet_dashboard import strings
from fleet_dashboard.web.access import backend_exception_toast


def _text(spec) -> str:
    return str(spec)


def _raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:  # noqa: BLE001  (a real traceback, as Reflex hands it over)
        return caught


def test_a_dependency_away_is_a_temporary_state_in_arabic(caplog):
    redis_down = _raised(redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379"))
    db_down = _raised(sqlalchemy.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed")))
    with caplog.at_level(logging.WARNING, logger="fleet_dashboard.web.access"):
        for exc in (redis_down, db_down):
            assert strings.error_text("temporarily_unavailable") in _text(backend_exception_toast(exc))
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in caplog.records)
    assert "An error occurred" not in _text(backend_exception_toast(redis_down))


def test_any_other_failure_is_an_unexpected_error_with_its_traceback(caplog):
    with caplog.at_level(logging.WARNING, logger="fleet_dashboard.web.access"):
        spec = backend_exception_toast(_raised(KeyError("bug")))
    assert strings.error_text("internal") in _text(spec)
    assert [(r.levelno, bool(r.exc_info)) for r in caplog.records] == [(logging.ERROR, True)]
