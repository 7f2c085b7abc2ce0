"""Receipts that overtook the write recording their message id, held briefly so none is lost."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable

from fleet_dashboard.messaging.models import MESSAGE_ORDER

TTL_SECONDS = 600.0
MAX_HELD = 20_000
_lock = threading.Lock()
# (org_id, whatsapp_message_id) -> (kind, held_at); insertion order lets old entries go first.
_held: OrderedDict[tuple[uuid.UUID, str], tuple[str, float]] = OrderedDict()


def hold(org_id: uuid.UUID, whatsapp_message_ids: Iterable[str], kind: str) -> None:
    """Keep unmatched receipt ids; a higher receipt (read) outranks a lower one (delivered) for the same id."""
    now = time.monotonic()
    with _lock:
        for wid in whatsapp_message_ids:
            key = (org_id, wid)
            held = _held.get(key)
            if held is None or MESSAGE_ORDER[kind] >= MESSAGE_ORDER[held[0]]:
                _held[key] = (kind, now)
        while _held and (len(_held) > MAX_HELD or next(iter(_held.values()))[1] < now - TTL_SECONDS):
            _held.popitem(last=False)


def take(org_id: uuid.UUID, whatsapp_message_ids: Iterable[str]) -> dict[str, list[str]]:
    """Remove and return the held receipts for these ids, grouped by kind."""
    out: dict[str, list[str]] = {}
    if not _held:
        return out
    with _lock:
        for wid in whatsapp_message_ids:
            entry = _held.pop((org_id, wid), None)
            if entry is not None:
                out.setdefault(entry[0], []).append(wid)
    return out


def pending() -> bool:
    """Whether any receipt is held, so callers skip the replay when none is."""
    return bool(_held)


def clear() -> None:
    """Forget everything held (tests)."""
    with _lock:
        _held.clear()
