"""Small real HTTP servers on 127.0.0.1 for tests: a JSON document server and a webhook receiver."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the receiver got."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers), then 200 for ever; keeps every request."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests have arrived (or fail after `timeout`)."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
        assert ok, f"expected {count} webhook calls, got {len(self.requests)}"
        return list(self.requests)


@contextlib.contextmanager
def _serve(handler_cls: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_json(document: Any) -> Iterator[str]:
    """GET anything -> this JSON document."""
    payload = json.dumps(document).encode()

    class Handler(_Quiet):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with _serve(Handler) as url:
        yield url + "/.well-known/jwks.json"


@contextlib.contextmanager
def webhook_receiver(script: list[tuple[int, dict[str, str]]] | None = None) -> Iterator[Receiver]:
    """A receiver at <url>/hook that records requests and answers by the script."""
    receiver = Receiver(script=list(script or []))

    class Handler(_Quiet):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.arrived:
                status, extra = receiver.script.pop(0) if receiver.script else (200, {})
                receiver.requests.append(Received(at=time.monotonic(), path=self.path,
                                                  headers={k.lower(): v for k, v in self.headers.items()},
                                                  body=body))
                receiver.arrived.notify_all()
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    with _serve(Handler) as url:
        receiver.url = url + "/hook"
        yield receiver
