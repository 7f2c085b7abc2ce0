"""Live updates: one bus subscription per open page, ended when the tab or the page goes away."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fleet_dashboard.events import get_bus

# A tab whose socket is gone this long is closed, not reconnecting.
GONE_GRACE_SECONDS = 15.0
# How many queued events one state update takes at most.
MAX_BATCH = 200


def _app() -> Any:
    try:
        from reflex_base.registry import RegistrationContext

        app = RegistrationContext.get().app
        if app is not None:
            return app
    except Exception:  # no registration context in this task: fall back to the assembled module
        pass
    module = sys.modules.get("fleet_dashboard.fleet_dashboard")
    return getattr(module, "app", None)


async def tab_connected(token: str) -> bool:
    """True while the browser tab behind this client token holds a socket to the server."""
    app = _app()
    namespace = getattr(app, "event_namespace", None)
    if namespace is None:
        return True
    return await namespace._token_manager.is_token_connected(token)


async def follow(
    state: Any,
    *,
    gen_attr: str,
    route_ids: Iterable[str],
    org_id: str,
    types: Iterable[str],
    apply: Callable[[Any, list[dict[str, Any]]], None],
    tick: Callable[[Any], float] = lambda _s: 5.0,
    refresh: Callable[[list[dict[str, Any]]], Awaitable[Any]] | None = None,
    apply_refresh: Callable[[Any, Any], None] | None = None,
) -> None:
    """Feed bus events for one organisation into a background state until it is no longer wanted.

    It ends when a newer watcher of the same page starts (`gen_attr`), the tab moves to another
    route, or the tab's socket has been gone for GONE_GRACE_SECONDS. `apply` mutates state under its
    lock on every wake-up (an empty batch is a clock tick); `refresh` does I/O outside the lock and
    `apply_refresh` stores its result.
    """
    route_ids = set(route_ids)
    async with state:
        generation = getattr(state, gen_attr) + 1
        setattr(state, gen_attr, generation)
        token = state.router.session.client_token
        wait = tick(state)
    gone_since: float | None = None
    async with get_bus().subscribe(org_id=org_id, types=types) as sub:
        while True:
            batch: list[dict[str, Any]] = []
            try:
                batch.append(await sub.get(timeout=wait))
                while len(batch) < MAX_BATCH and not sub.queue.empty():
                    batch.append(sub.queue.get_nowait())
            except TimeoutError:
                pass
            if await tab_connected(token):
                gone_since = None
            elif gone_since is None:
                gone_since = time.monotonic()
            elif time.monotonic() - gone_since > GONE_GRACE_SECONDS:
                return
            fresh = await refresh(batch) if refresh is not None and batch else None
            async with state:
                if getattr(state, gen_attr) != generation or state.router.route_id not in route_ids:
                    return
                apply(state, batch)
                if fresh is not None and apply_refresh is not None:
                    apply_refresh(state, fresh)
                wait = tick(state)
