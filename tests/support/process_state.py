"""Forget what a process caches from its environment, so a test's settings take effect."""

from __future__ import annotations


def reset_process_state() -> None:
    """Forget cached settings, bus, throttle, engine and held receipts; the next use reads the environment."""
    from fleet_dashboard.core.events import reset_bus
    from fleet_dashboard.core.settings import get_settings
    from fleet_dashboard.messaging import receipts
    from fleet_dashboard.notifications import throttle
    from fleet_dashboard.whatsapp.engine.runtime import reset_engine

    get_settings.cache_clear()
    reset_bus()
    throttle.get_throttle.cache_clear()
    reset_engine()
    receipts.clear()


def reset_database_caches() -> None:
    """Forget the cached settings and database engine, so a changed DATABASE_URL takes effect."""
    from fleet_dashboard.core.db import get_engine
    from fleet_dashboard.core.settings import get_settings

    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
