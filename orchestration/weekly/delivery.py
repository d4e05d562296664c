"""Optional delivery of the weekly report: a chat webhook (Slack-compatible JSON POST) and/or e-mail
(SMTP). Configured only from environment variables; secrets never reach logs or asset metadata."""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from pydantic import BaseModel


class DeliverySettings(BaseModel):
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str | None = None
    mail_to: list[str] = []

    @classmethod
    def from_env(cls) -> DeliverySettings:
        env = os.environ
        return cls(
            webhook_url=env.get("SMARKETING_REPORT_WEBHOOK_URL") or None,
            smtp_host=env.get("SMARKETING_SMTP_HOST") or None,
            smtp_port=int(env.get("SMARKETING_SMTP_PORT", "25")),
            smtp_user=env.get("SMARKETING_SMTP_USER") or None,
            smtp_password=env.get("SMARKETING_SMTP_PASSWORD") or None,
            smtp_starttls=env.get("SMARKETING_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
            mail_from=env.get("SMARKETING_REPORT_MAIL_FROM") or None,
            mail_to=[a.strip() for a in env.get("SMARKETING_REPORT_MAIL_TO", "").split(",") if a.strip()],
        )

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.mail_from and self.mail_to)


def post_webhook(url: str, text: str, timeout: float = 10.0) -> int:
    """POST ``{"text": ...}`` (Slack incoming-webhook format); raises on a non-2xx answer."""
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def send_email(settings: DeliverySettings, subject: str, text: str, attachments: list[Path]) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = ", ".join(settings.mail_to)
    message.set_content(text)
    for path in attachments:
        subtype = "html" if path.suffix == ".html" else "csv"
        message.add_attachment(path.read_bytes(), maintype="text", subtype=subtype, filename=path.name)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def deliver(settings: DeliverySettings, subject: str, text: str, attachments: list[Path]) -> list[str]:
    """Send wherever configured; returns the channels used ('webhook', 'email'), never addresses or URLs."""
    used = []
    if settings.webhook_url:
        post_webhook(settings.webhook_url, text)
        used.append("webhook")
    if settings.email_enabled:
        send_email(settings, subject, text, attachments)
        used.append("email")
    return used
