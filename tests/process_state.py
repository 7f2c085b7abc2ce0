"""Forget what a process caches from its environment, so a test's settings take effect."""

from __future__ import annotations


def reset_process_state() -> None:
    """Forget cached settings, bus, throttle, engine and held receipts; the next use reads the environment."""
    from fleet_dashboard.events import reset_bus
    from fleet_dashboard.services import receipts_buffer
    from fleet_dashboard.settings import get_settings
    from fleet_dashboard.whatsapp import throttle
    from fleet_dashboard.whatsapp.runtime import reset_engine

    get_settings.cache_clear()
    reset_bus()
    throttle.get_throttle.cache_clear()
    reset_engine()
    receipts_buffer.clear()
