"""Live updates: one bus subscription per open page, ended when the tab or the page goes away."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar

import reflex as rx

from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.core import offload
from fleet_dashboard.core.backoff import backoff_delay
from fleet_dashboard.core.events import EventType, get_bus, is_resumed
from fleet_dashboard.web import reflex_internals
from fleet_dashboard.web.access import allow, current_caller, current_rule

# A tab whose socket is gone this long is closed, not reconnecting.
GONE_GRACE_SECONDS = 15.0
# How many queued events one state update takes at most.
MAX_BATCH = 200
# The longest wait between tries of a watcher whose database or Redis is away.
RETRY_MAX_SECONDS = 2.0
# A watcher that could not run a step this long ends (a reload starts a new one): a closed tab's watcher
# must not outlive a long outage.
MAX_OUTAGE_SECONDS = 600.0
log = logging.getLogger(__name__)


def route_key(route: str) -> str:
    """Route patterns as Reflex reports them ("/index" for "/"), compared without a trailing slash."""
    route = (route or "/").rstrip("/") or "/"
    return "/" if route in ("/index", "index") else route


async def follow(
    state: Any,
    *,
    gen_attr: str,
    route_ids: Iterable[str],
    org_id: str | None,
    types: Iterable[str],
    apply: Callable[[Any, list[dict[str, Any]]], Awaitable[None] | None],
    tick: Callable[[Any], float] = lambda _s: 5.0,
    resync: Callable[[Any], None] | None = None,
) -> None:
    """Feed bus events for one organisation into a background state until it is no longer wanted.

    Only a watcher the chokepoint admitted runs, and only for the organisation it admitted (`org_id`
    must be the caller's). Before the resync and before every batch, the caller is checked again
    (AuthState._still_admitted): a logout, a password change, a deactivation, a role change or a
    super_admin leaving the organisation stops the watcher before anything is read.
    It also ends when a newer watcher of the same page starts (`gen_attr`), the tab moves to another
    route, or the tab's socket has been gone for GONE_GRACE_SECONDS. `apply` mutates state under its
    lock on every wake-up (an empty batch is a clock tick); it may be async to re-read a page of rows.
    `resync` re-reads the state once the subscription is open: what changed between the page's first
    read and the subscription sent events nobody heard; it runs again when the bus resumed after losing its
    connection, and after a step failed because the database or Redis was away (the watcher outlives them,
    trying again every few seconds). The re-check, `resync` and `apply` run on the offload pool (offload.py),
    never on the event loop; an async `apply`'s coroutine is awaited on the loop.
    """
    started, rule = current_caller(), current_rule()
    if started is None or (org_id is not None and org_id != str(started.org_id)):
        return
    route_ids = {route_key(r) for r in route_ids}
    async with state:
        generation = getattr(state, gen_attr) + 1
        setattr(state, gen_attr, generation)
        token = state.router.session.client_token
        wait = tick(state)
    gone_since: float | None = None

    def still_wanted(s: Any) -> bool:
        if getattr(s, gen_attr) != generation:
            return False
        if not s._still_admitted(started, rule):
            s._forget_private()
            return False
        return True

    def resync_if_wanted(s: Any) -> bool:
        if not still_wanted(s):
            return False
        resync(s)
        return True

    def apply_if_wanted(s: Any, batch: list[dict[str, Any]]) -> tuple[bool, Any]:
        if route_key(s.router.route_id) not in route_ids or not still_wanted(s):
            return False, None
        return True, apply(s, batch)

    async with get_bus().subscribe(org_id=org_id, types=types) as sub:
        # A missed stretch (the bus resumed, or the database or Redis failed under a step) is made good by
        # re-reading the page, once the step can run again.
        stale = resync is not None
        failures, last_ok = 0, time.monotonic()
        while True:
            if failures and time.monotonic() - last_ok > MAX_OUTAGE_SECONDS:
                log.warning("a live page gave up after %.0f s without its database or Redis", MAX_OUTAGE_SECONDS)
                return
            if stale:
                try:
                    async with state:
                        # The re-check and the re-read query the database: on the offload pool, under the lock.
                        if not await offload.run_sync(resync_if_wanted, state):
                            return
                    stale, failures, last_ok = False, 0, time.monotonic()
                except Exception as exc:  # the database or Redis is away: the page keeps what it shows
                    failures += 1
                    await _pause_after(exc, failures)
                    continue
            batch: list[dict[str, Any]] = []
            try:
                batch.append(await sub.get(timeout=wait))
                while len(batch) < MAX_BATCH and not sub.queue.empty():
                    batch.append(sub.queue.get_nowait())
            except TimeoutError:
                pass
            if any(is_resumed(e) for e in batch):
                batch = [e for e in batch if not is_resumed(e)]
                stale = resync is not None
            try:
                if await reflex_internals.tab_connected(token):
                    gone_since = None
                elif gone_since is None:
                    gone_since = time.monotonic()
                elif time.monotonic() - gone_since > GONE_GRACE_SECONDS:
                    return
                async with state:
                    wanted, pending = await offload.run_sync(apply_if_wanted, state, batch)
                    if not wanted:
                        return
                    if inspect.isawaitable(pending):
                        await pending
                    wait = tick(state)
                failures, last_ok = 0, time.monotonic()
            except Exception as exc:
                failures += 1
                stale = resync is not None
                await _pause_after(exc, failures)


async def _pause_after(exc: Exception, failures: int) -> None:
    """A watcher step failed (database or Redis away): wait a little, longer each time, up to a few seconds."""
    if failures == 1:
        log.warning("a live page could not update (%s); it re-reads once it can", exc)
    await asyncio.sleep(backoff_delay(failures, base=0.5, cap=RETRY_MAX_SECONDS))


class LiveState(rx.State, mixin=True):
    """Mixed into a page state that follows the bus while its page is open: one watcher per tab and page.

    The state names its pages (`_live_routes`) and the events it hears (`_live_events`), and defines
    `_live_apply(batch, org_id)`; it may define `_live_resync(org_id)` (the re-read once subscribed) and
    `_live_tick()` (seconds until an empty batch wakes it). Its load handler returns `<State>.watch`.
    A page that follows the whole fleet or needs another column than `view` redeclares `watch` around
    `_follow(org_id)`.
    """

    _live_routes: ClassVar[tuple[str, ...]] = ()
    _live_events: ClassVar[tuple[EventType, ...]] = ()
    _watch_gen: int = 0

    def _live_apply(self, batch: list[dict[str, Any]], org_id: str | None) -> Awaitable[None] | None:
        raise NotImplementedError

    def _live_resync(self, org_id: str | None) -> None:
        """What the page re-reads once subscribed; nothing by default."""

    def _live_tick(self) -> float:
        return 5.0

    async def _follow(self, org_id: str | None) -> None:
        await follow(self, gen_attr="_watch_gen", route_ids=self._live_routes, org_id=org_id,
                     types=self._live_events, apply=lambda s, batch: s._live_apply(batch, org_id),
                     tick=lambda s: s._live_tick(), resync=lambda s: s._live_resync(org_id))

    @rx.event(background=True)
    @allow(Action.view)
    async def watch(self):
        """Follow the admitted caller's organisation until the page, the tab or the caller goes."""
        await self._follow(str(current_caller().org_id))
