"""Every private Reflex API the app relies on, in one module: after a Reflex upgrade, this file is what to check.

Reflex offers no public way to look up a handler by an event's name before it runs, to answer an event with a
toast instead of running it, to ask whether a tab's socket is still open, to run its production backend without
compiling, or to tell which browser-stored vars a state declares. `PRIVATE_APIS` lists what this module touches
(module, then attribute path); the upgrade test imports each one. Nothing else in the app names `reflex_base`
or a private (`_`) attribute of Reflex.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from reflex.config import get_config
from reflex.event import Event, call_script, remove_local_storage
from reflex.istate.manager.redis import StateManagerRedis
from reflex.state import State, StateUpdate
from reflex.utils import exec as rx_exec
from reflex.utils.token_manager import RedisTokenManager
from reflex_base import constants
from reflex_base.environment import environment
from reflex_base.event.processor.base_state_processor import chain_updates
from reflex_base.registry import RegistrationContext

# (module, attribute path) of every private Reflex name used below; each resolves by getattr from the module.
PRIVATE_APIS: tuple[tuple[str, str], ...] = (
    ("reflex_base.registry", "RegistrationContext.get"),
    ("reflex_base.event.processor.base_state_processor", "chain_updates"),
    ("reflex.state", "BaseState._get_root_state"),
    ("reflex.state", "BaseState._is_client_storage"),
    ("reflex.state", "BaseState.get_class_substate"),
    ("reflex.utils.token_manager", "TokenManager.is_token_connected"),
    ("reflex.utils.exec", "run_backend_prod"),
    ("reflex_base.environment", "environment.REFLEX_ENV_MODE"),
    ("reflex_base.environment", "environment.REFLEX_SKIP_COMPILE"),
    ("reflex_base.constants", "Env.PROD"),
    ("reflex.istate.manager.redis", "StateManagerRedis._enable_keyspace_notifications"),
    ("reflex.istate.manager.redis", "StateManagerRedis._ensure_lock_task"),
    ("reflex.utils.token_manager", "RedisTokenManager._ensure_socket_record_task"),
    ("reflex.utils.token_manager", "RedisTokenManager._store_socket_record"),
    ("reflex.utils.token_manager", "RedisTokenManager.ensure_lost_and_found_task"),
    ("reflex.app", "EventNamespace.emit_update"),
)
# Private attributes set on instances, so not reachable from the module: (class, attribute).
PRIVATE_INSTANCE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("reflex.app.EventNamespace", "_token_manager"),
    ("reflex.istate.manager.redis.StateManagerRedis", "_redis_notify_keyspace_events_enabled"),
)
# The logger Reflex's event queue reports an event naming no handler on, and the text of that KeyError.
EVENT_PROCESSOR_LOGGER = "reflex_base.event.processor.event_processor"
UNKNOWN_HANDLER_TEXT = "No registered handler"


def registered_handler(event_name: str) -> tuple[Any, type] | None:
    """The handler an event's full name reaches and the state that owns it, or None when it names none."""
    registered = RegistrationContext.get().event_handlers.get(event_name)
    return None if registered is None else (registered.handler, registered.states[0])


def registered_handlers() -> dict[str, tuple[Any, type]]:
    """Every handler of the assembled app by its event's full name, with the state that owns it."""
    return {name: (r.handler, r.states[0]) for name, r in RegistrationContext.get().event_handlers.items()}


def current_app() -> Any:
    """The running rx.App: from Reflex's registration context, else the assembled app module."""
    try:
        app = RegistrationContext.get().app
        if app is not None:
            return app
    except Exception:  # no registration context in this task: fall back to the assembled module
        pass
    module = sys.modules.get("fleet_dashboard.fleet_dashboard")
    return getattr(module, "app", None)


async def tab_connected(token: str) -> bool:
    """True while the browser tab behind this client token holds a socket to the server (any web worker)."""
    namespace = getattr(current_app(), "event_namespace", None)
    if namespace is None:
        return True
    return await namespace._token_manager.is_token_connected(token)


async def answer_instead(events: Any, *, handler_name: str, state: Any) -> None:
    """Send `events` (a redirect, a toast) and the state they changed to the tab, as a handler's answer would."""
    await chain_updates(events, handler_name=handler_name, root_state=state._get_root_state())


def is_client_storage(state_name: str, var: str) -> bool:
    """Whether `state_name.var` is a browser-stored var (cookie, local storage) that hydration may set."""
    try:
        return bool(State.get_class_substate(state_name)._is_client_storage(var))
    except (ValueError, KeyError, AttributeError, TypeError):
        return False


class UnknownEventFilter(logging.Filter):
    """Reflex logs an event naming no handler as an ERROR with a traceback; it is a crafted event, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyError) and UNKNOWN_HANDLER_TEXT in str(exc):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "refused event: %s", (str(exc.args[0] if exc.args else exc)[:200],)
            record.exc_info, record.exc_text = None, None
        return True


def quiet_unknown_events() -> None:
    """Install UnknownEventFilter on the logger of Reflex's event queue."""
    logging.getLogger(EVENT_PROCESSOR_LOGGER).addFilter(UnknownEventFilter())


def run_prod_backend(host: str | None, port: int) -> None:
    """What `reflex run --env prod` does after its build step: the production server, the built frontend mounted."""
    # Set through Reflex's own names: some are internal (`__REFLEX_...`) and reach the workers only this way.
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    config = get_config()
    rx_exec.run_backend_prod(host or config.backend_host, port, config.loglevel.subprocess_level(),
                             mount_frontend_compiled_app=True)


# A local-storage key nobody uses: removing it is how a tab is told to hydrate again (Reflex's frontend re-sends
# its initial events, with the sign-in cookie, after any storage removal) without reloading the page.
REHYDRATE_KEY = "fleet-dashboard-rehydrate"


async def after_redis_returned(app: Any, *, state_lost: bool) -> int:
    """Put this worker's Reflex back on a Redis that was away; returns how many tabs were told to hydrate again.

    Reflex's three Redis listeners (lock releases, socket records, updates forwarded from other workers) give up
    after five errors in a minute and its keyspace notifications are set once per process, which a restarted Redis
    forgets; the records of which worker holds which tab's socket are gone with a restarted one, and so is every
    tab's state (`state_lost`), which only the browser can rebuild (its sign-in cookie)."""
    manager = app.state_manager
    if isinstance(manager, StateManagerRedis):
        manager._redis_notify_keyspace_events_enabled = False
        await manager._enable_keyspace_notifications()
        manager._ensure_lock_task()
    namespace = getattr(app, "event_namespace", None)
    tokens = getattr(namespace, "_token_manager", None)
    if not isinstance(tokens, RedisTokenManager):
        return 0
    tokens.ensure_lost_and_found_task(namespace.emit_update)
    tokens._ensure_socket_record_task()
    mine = {t: r for t, r in list(tokens.token_to_socket.items()) if r.instance_id == tokens.instance_id}
    for token, record in mine.items():
        await tokens._store_socket_record(token, record)
    if not state_lost:
        return 0
    for token in mine:
        await namespace.emit_update(StateUpdate(events=Event.from_event_type(rehydrate_events())), token)
    return len(mine)


def rehydrate_events() -> list[Any]:
    """Events that make a tab hydrate again from its browser storage (sign-in cookie), with no page reload."""
    return [remove_local_storage(REHYDRATE_KEY)]


def rehydrate_then_replay(name: str, payload: dict[str, Any]) -> list[Any]:
    """Make the tab hydrate again, then send the event `name` once more: the browser queues it behind the hydrate
    (Reflex's frontend evaluates the script with its `addEvents` and `ReflexEvent` in scope)."""
    again = f"addEvents([ReflexEvent({json.dumps(name)}, {json.dumps(payload, default=str)})])"
    return [*rehydrate_events(), call_script(again)]
