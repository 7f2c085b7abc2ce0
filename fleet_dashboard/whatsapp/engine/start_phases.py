"""Where one client's start is inside the library, told by the library's own signals, and the gate holds each
phase needs. No fixed time: a slow store (a failover, a locked `whatsmeow_version`) must not let a start out
of the gate before its map writes are done.

goneonize's `Neonize()` (main.go), for one client, on the thread that called it:
1. `entering`: it writes `StopSignal[id]`, opens the store (sqlstore.New: its schema check may wait on locks),
   writes `eventChannel[id]`, loads or creates the device, writes `clients[id]`, then calls `Connect()`, whose
   first act is whatsmeow's debug log "Dialing <url>" from the `Client/Socket` logger. That log line, on this
   thread, is the sign that every write is done: the start's exclusive hold ends there (`registered`).
2. `dialing`: the dial and the noise handshake. If `Connect()` fails, `Neonize()` returns (`returned`). If it
   succeeds, a resumed device's `CallbackFunction` reads `eventChannel[id]` and `clients[id]` (FetchMe) and
   then sends its first event; a new device waits for QR codes first. So a shared hold covers the dial until
   the first event or QR code (`settled`). The hold is `long`: sends may pass a start waiting behind it.
   While waiting for that hold the thread is paused inside the log callback, so the next starts write their
   maps meanwhile, and the dials of a batch of starts run side by side.
3. `pairing`: the QR loop; nothing touches the maps. It ends with the login-status callback (`loop_ending`):
   on "success" the same two reads follow, under a shared hold until the first event (`reading`); on anything
   else FetchMe would spin forever on a device that has no id, after reading `clients[id]`, where a Stop
   could have removed it: the thread is kept inside the callback instead (`doomed`), so the client can be
   stopped safely and the thread costs nothing but its stack.
`safe` is set whenever a Stop may run: before entering, and in `pairing`, `running`, `doomed`, `returned`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fleet_dashboard.whatsapp.engine.library_gate import ClientStopping, GateOwner, Hold, LibraryGate

log = logging.getLogger(__name__)
SAFE_PHASES = frozenset({"new", "skipped", "pairing", "running", "doomed", "returned"})


class StartPhases:
    """One client's start, driven from its start thread; `wait_safe` is for whoever wants to stop it."""

    def __init__(self, gate: LibraryGate, owner: GateOwner, on_entering: Callable[[], None] | None = None,
                 on_left: Callable[[], None] | None = None):
        self.gate = gate
        self.owner = owner
        self.on_entering = on_entering  # told (on the start thread) right before the library is entered
        self.on_left = on_left  # told when it is past its map writes (registered) or never got there
        self.phase = "new"
        self._hold: Hold | None = None
        self._lock = threading.Lock()
        self._safe = threading.Event()
        self._safe.set()
        self._forever = threading.Event()  # never set: where a doomed start thread waits

    def _move(self, phase: str, hold: Hold | None = None) -> None:
        with self._lock:
            previous, self._hold = self._hold, hold
            was, self.phase = self.phase, phase
            if phase in SAFE_PHASES:
                self._safe.set()
            else:
                self._safe.clear()
        if previous is not None and previous is not hold:
            previous.release()
        if was == "entering" and phase != "entering" and self.on_left is not None:
            try:
                self.on_left()
            except Exception:
                log.exception("could not record the end of the start of %s", self.owner.name)

    # On the start thread ------------------------------------------------------------------------
    def enter(self) -> bool:
        """Wait for the exclusive hold; False when the client was stopped first (then nothing is started)."""
        self._safe.clear()
        try:
            hold = self.gate.hold(exclusive=True, max_seconds=None, owner=self.owner)
        except ClientStopping:
            self._move("skipped")
            return False
        if self.owner.closed:
            hold.release()
            self._move("skipped")
            return False
        self._move("entering", hold)
        if self.on_entering is not None:
            try:
                self.on_entering()
            except Exception:
                log.exception("could not record the start of %s", self.owner.name)
        return True

    def registered(self) -> None:
        """The library logged its first dial: its writes are done. Wait (paused inside the log callback) for a
        long shared hold, behind the starts already in line."""
        if self.phase != "entering":
            return
        self._move("registered")  # releases the exclusive hold
        hold = self.gate.hold(exclusive=False, max_seconds=None, long=True)
        self._move("dialing", hold)

    def settled(self, phase: str) -> None:
        """The library is past its post-connect reads: `pairing` (a first QR code) or `running` (a first event)."""
        if self.phase in ("entering", "registered", "dialing", "reading"):
            self._move(phase)

    def loop_ending(self, success: bool) -> None:
        """The QR loop is ending (login-status callback). Success: hold shared through the reads that follow.
        Otherwise this thread never leaves the callback (see the module's docstring)."""
        if success:
            hold = self.gate.hold(exclusive=False, max_seconds=None, long=True)
            self._move("reading", hold)
            return
        self._move("doomed")
        self._forever.wait()

    def returned(self) -> None:
        """`Neonize()` returned: nothing of this start touches the maps again."""
        self._move("returned")

    # From anywhere ------------------------------------------------------------------------------
    def wait_safe(self, timeout: float) -> bool:
        """Block until a Stop may run (True), or the timeout (False)."""
        return self._safe.wait(timeout)

    @property
    def doomed(self) -> bool:
        return self.phase == "doomed"
