"""Which organisations' starts are inside the WhatsApp library right now, in a small file the process that started
this engine reads after it dies (`fleet-dashboard run`: whatsapp/processes.py). An abort of the library kills
the whole process at once, so nothing can be written at that moment; the file is kept current instead (a
write into the kernel's page cache, which outlives the process), and its names are the sessions blamed."""

from __future__ import annotations

import logging
import os
import threading
import uuid

log = logging.getLogger(__name__)
ENV = "FLEET_ENGINE_START_MARKER"


class StartMarker:
    """`entering` and `left` are the gateway factory's hooks; they may run on any thread."""

    def __init__(self, path: str):
        self.path = path
        self._inside: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._write()

    @classmethod
    def from_env(cls) -> StartMarker | None:
        path = os.environ.get(ENV)
        return cls(path) if path else None

    def entering(self, org_id: uuid.UUID) -> None:
        with self._lock:
            self._inside.add(org_id)
            self._write()

    def left(self, org_id: uuid.UUID) -> None:
        with self._lock:
            if org_id in self._inside:
                self._inside.discard(org_id)
                self._write()

    def _write(self) -> None:
        data = "".join(f"{org_id}\n" for org_id in sorted(self._inside, key=str)).encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("could not record the starts inside the library in %s: %s", self.path, exc)


def read(path: str) -> list[uuid.UUID]:
    """The organisations a dead engine's marker names (none when it is missing or empty)."""
    try:
        with open(path) as f:
            lines = f.read().split()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(uuid.UUID(line))
        except ValueError:
            continue
    return out
