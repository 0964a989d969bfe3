"""Sending email: SMTP when SMTP_HOST is set, else a file per message in the
instance folder's ``outbox/`` (development: nothing leaves the machine, and
nothing secret is logged)."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    use_ssl: bool
    timeout: int
    sender: str
    outbox: Path

    @classmethod
    def from_config(cls, cfg: Any, instance_path: str) -> MailSettings:
        return cls(
            host=cfg["SMTP_HOST"],
            port=cfg["SMTP_PORT"],
            username=cfg["SMTP_USERNAME"],
            password=cfg["SMTP_PASSWORD"],
            starttls=cfg["SMTP_STARTTLS"],
            use_ssl=cfg["SMTP_SSL"],
            timeout=cfg["SMTP_TIMEOUT"],
            sender=cfg["MAIL_FROM"],
            outbox=Path(instance_path) / "outbox",
        )


def send(settings: MailSettings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text message. Returns False (and logs why, without the
    body) when it could not be handed over; never raises."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain="licserver")
    msg.set_content(body)
    try:
        if not settings.host:
            settings.outbox.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{os.getpid()}.eml"
            fd = os.open(settings.outbox / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(bytes(msg))
            log.info("mail to %s written to %s", to, settings.outbox / name)
            return True
        smtp_cls = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
        with smtp_cls(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls and not settings.use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(msg)
        log.info("mail '%s' sent to %s", subject, to)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail '%s' to %s not sent: %s", subject, to, exc)
        return False
