"""Report delivery against real local servers: a Slack-compatible webhook (HTTP) and SMTP (aiosmtpd)."""

from __future__ import annotations

import email
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar
from urllib.error import HTTPError

import pytest
from aiosmtpd.controller import Controller

from orchestration.weekly.delivery import DeliverySettings, deliver


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"content_type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/weekly", _Hook
    server.shutdown()


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def report_files(tmp_path):
    html = tmp_path / "report.en.html"
    html.write_text("<!DOCTYPE html><html><body><h1>Weekly</h1></body></html>")
    csv = tmp_path / "kpis.csv"
    csv.write_text("kpi,value\nleads,36\n")
    return [html, csv]


def test_nothing_is_sent_when_nothing_is_configured(report_files):
    assert deliver(DeliverySettings(), "s", "t", report_files) == []


def test_webhook_and_email_receive_the_report(webhook, smtp, report_files):
    url, hook = webhook
    controller, inbox = smtp
    settings = DeliverySettings(
        webhook_url=url, smtp_host="127.0.0.1", smtp_port=controller.port,
        mail_from="data@example.com", mail_to=["sales@example.com", "marketing@example.com"],
    )
    used = deliver(settings, "smarketing 2026-W47", "smarketing 2026-W47: Leads 36", report_files)
    assert used == ["webhook", "email"]
    assert hook.received == [{"content_type": "application/json", "json": {"text": "smarketing 2026-W47: Leads 36"}}]
    ((sender, recipients, message),) = inbox.messages
    assert sender == "data@example.com"
    assert recipients == ["sales@example.com", "marketing@example.com"]
    assert message["Subject"] == "smarketing 2026-W47"
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}
    assert attachments == {name.name: name.read_bytes() for name in report_files}


def test_a_failing_webhook_is_an_error_not_a_silent_drop(webhook, report_files):
    url, hook = webhook
    hook.status = 500
    with pytest.raises(HTTPError, match="500"):
        deliver(DeliverySettings(webhook_url=url), "s", "t", report_files)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SMARKETING_REPORT_WEBHOOK_URL", "http://127.0.0.1:9/x")
    monkeypatch.setenv("SMARKETING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMARKETING_SMTP_PORT", "2525")
    monkeypatch.setenv("SMARKETING_REPORT_MAIL_FROM", "a@example.com")
    monkeypatch.setenv("SMARKETING_REPORT_MAIL_TO", "b@example.com, c@example.com")
    settings = DeliverySettings.from_env()
    assert settings.email_enabled and settings.smtp_port == 2525
    assert settings.mail_to == ["b@example.com", "c@example.com"]
