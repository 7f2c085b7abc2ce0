"""Outgoing e-mail over SMTP (stdlib smtplib), used only when SMTP_HOST is set."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from fleet_dashboard.core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def enabled(settings: Settings | None = None) -> bool:
    """True when SMTP settings are given."""
    return bool((settings or get_settings()).smtp_host)


def build(*, to: str, subject: str, body: str, settings: Settings | None = None) -> EmailMessage:
    """A plain-text UTF-8 message (Arabic survives every client that way)."""
    settings = settings or get_settings()
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    # A line break in a header would end it (and start another); names saved before they were checked may carry one.
    message["Subject"] = " ".join(subject.split())
    message["Message-ID"] = make_msgid(domain="fleet-dashboard")
    message.set_content(body, charset="utf-8")
    return message


def send(*, to: str, subject: str, body: str) -> bool:
    """Send one message; False (logged, never raised) when SMTP is off or the server refuses.

    A failed e-mail must not undo what it announces: the caller still has the link to copy."""
    settings = get_settings()
    if not enabled(settings):
        return False
    message = build(to=to, subject=subject, body=body, settings=settings)
    try:
        if settings.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                                  timeout=settings.smtp_timeout_seconds,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("could not e-mail %s: %s", to, exc)
        return False
    return True
