"""A browser tab reduced to its socket: Reflex events written by hand, as an attacker's script would send them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from simple_websocket import Client, ConnectionClosed

from fleet_dashboard.web.state.auth import AuthState

# The full name Reflex gives the session cookie's var, as the browser sends it in hydrate_and_load.
TOKEN_VAR = f"{AuthState.get_full_name()}.token"
ROOT = "reflex___state____state"
AUTH = AuthState.get_full_name()
NAMESPACE = "/_event"  # Reflex's socket.io namespace (and path)
EVENT_PREFIX = f"42{NAMESPACE},"


class Tab:
    """One socket.io connection with its own client token: what one browser tab holds."""

    def __init__(self, base_url: str, *, signin_token: str = "") -> None:
        self.client_token = str(uuid.uuid4())
        url = base_url.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={self.client_token}"
        self.ws = Client.connect(url)
        self.frames: list[str] = []  # every frame the server sent, raw: what an attacker's tab could read
        self._recv(expect="0")
        self.ws.send(f"40{NAMESPACE},")
        self._recv(expect=f"40{NAMESPACE}")
        self.signin_token = signin_token

    def close(self) -> None:
        self.ws.close()

    def _recv(self, *, expect: str | None = None, timeout: float = 5.0) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                frame = self.ws.receive(timeout=left)
            except ConnectionClosed:
                return None
            if frame is None:
                return None
            if frame == "2":  # engine.io ping
                self.ws.send("3")
                continue
            self.frames.append(frame)
            if expect is None or frame.startswith(expect):
                return frame

    def updates(self) -> list[dict[str, Any]]:
        """Every state update received so far, parsed."""
        out = []
        for frame in self.frames:
            if frame.startswith(EVENT_PREFIX):
                name, *args = json.loads(frame[len(EVENT_PREFIX):])
                if name == "event" and args:
                    out.append(args[0])
        return out

    def text(self) -> str:
        """All the server sent this tab, as one string to search for another organisation's data."""
        return "\n".join(self.frames)

    def send(self, name: str, payload: dict[str, Any] | None = None, *, path: str = "/",
             settle: float = 0.6, timeout: float = 6.0) -> list[dict[str, Any]]:
        """Send one event under its full name and collect the updates until the server falls quiet."""
        first = len(self.frames)
        event = {"name": name, "payload": payload or {},
                 "router_data": {"pathname": path, "asPath": path, "query": {}}}
        self.ws.send(EVENT_PREFIX + json.dumps(["event", event], ensure_ascii=False))
        deadline = time.monotonic() + timeout
        got_any = False
        while time.monotonic() < deadline:
            frame = self._recv(timeout=settle if got_any else max(0.1, deadline - time.monotonic()))
            if frame is None:
                if got_any:
                    break
                continue
            got_any = True
        frames = [json.loads(f[len(EVENT_PREFIX):]) for f in self.frames[first:] if f.startswith(EVENT_PREFIX)]
        return [f[1] for f in frames if f[0] == "event" and len(f) > 1]

    def hydrate(self, path: str = "/") -> list[dict[str, Any]]:
        """What the page sends on connect: hydrate with the session cookie, then the page's on_load."""
        variables = {TOKEN_VAR: self.signin_token} if self.signin_token else {}
        return self.send(f"{ROOT}.hydrate_and_load", {"vars": variables}, path=path)

    def delta_value(self, state_full_name: str, var: str) -> Any:
        """The last value the server pushed for one var, or None."""
        value = None
        for update in self.updates():
            delta = update.get("delta") or {}
            substate = delta.get(state_full_name) or {}
            for key, v in substate.items():
                if key == var or key.startswith(var + "_rx_state_"):
                    value = v
        return value

    # ---- several events at once, as a script would fire them ----
    def emit(self, name: str, payload: dict[str, Any] | None = None, *, path: str = "/") -> None:
        """Send one event without waiting for its answer."""
        event = {"name": name, "payload": payload or {},
                 "router_data": {"pathname": path, "asPath": path, "query": {}}}
        self.ws.send(EVENT_PREFIX + json.dumps(["event", event], ensure_ascii=False))

    def drain(self, *, quiet: float = 1.5, limit: float = 90.0) -> None:
        """Read until the server has said nothing for `quiet` seconds (or `limit` passed)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self._recv(timeout=quiet) is None:
                return

    def login(self, email: str, password: str, *, path: str = "/login") -> str:
        """Sign in through the login handler, as the form does; the session token comes back in the delta."""
        self.send(f"{AUTH}.login", {"form_data": {"email": email, "password": password}}, path=path)
        token = self.delta_value(AUTH, "token")
        assert token, f"login failed: {self.updates()[-3:]}"
        self.signin_token = token
        return token

    def events_named(self, name: str) -> list[dict[str, Any]]:
        """Frontend events (redirects, toasts, downloads) the server asked this tab to run."""
        return [e for u in self.updates() for e in (u.get("events") or []) if e.get("name") == name]

    def sent_to_login(self, since: int = 0) -> bool:
        """Whether the server sent this tab to the login page (after frame `since`)."""
        return any(e.get("name") == "_redirect" and str(e.get("payload", {}).get("path", "")).startswith("/login")
                   for u in self.updates()[since:] for e in (u.get("events") or []))
