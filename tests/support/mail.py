"""A real SMTP server on this machine (aiosmtpd) that keeps what it receives, for tests that read the e-mails the
app sends: in the test process for the services, or beside the live app, whose SMTP settings point at it."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


class MailSink:
    """What the server received: (envelope recipients, message), oldest first."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to this address, oldest first."""
        return [message for rcpt, message in list(self.messages) if address in rcpt]

    def wait_for(self, address: str, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """The address's messages once there are `count` of them (or what came by the timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.to(address)


def smtp_env(port: int, sender: str = "Fleet <no-reply@fleet.local>") -> dict[str, str]:
    """The app's SMTP settings for the local server on `port` (plain SMTP, no login)."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none", "SMTP_FROM": sender}


def unused_port() -> int:
    """A port no one listens on now (the system's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """Start a local SMTP server on a free port; yields its sink and port, stops it when the block exits."""
    port = unused_port()
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
