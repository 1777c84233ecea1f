"""Fixtures of the alert e-mail tests: a real SMTP server (aiosmtpd) on loopback whose
answers a test scripts per recipient, and alerts raised as the services raise them."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.config import Settings

SENDER = "ccm-alerts@example.test"


@dataclass
class Mailbox:
    """What the server received, and the answers it gives: ``answers[recipient]`` is a
    list of RCPT answers used up one per attempt (then 250), ``always`` one for every
    attempt."""

    messages: list[EmailMessage] = field(default_factory=list)
    answers: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        with self.lock:
            if address in self.always:
                return self.always[address]
            queued = self.answers.get(address)
            if queued:
                return queued.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == recipient]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    _, port = smtp
    return replace(settings, smtp_url=f"smtp://127.0.0.1:{port}", smtp_from=SENDER,
                   smtp_timeout_seconds=5, smtp_retry_schedule="60,300")


def recipient() -> str:
    return f"finance-{uuid.uuid4().hex[:10]}@example.test"


@pytest.fixture
async def make_alert(app: Any):
    async def make(*recipients: str, customer_id: Any = None, kind: str | None = None,
                   **extra: Any) -> Alert:
        async with in_transaction():
            return await raise_alert(
                kind or f"test.{uuid.uuid4().hex[:10]}", AlertSeverity.WARNING,
                "Customer reached 80 % of its limit", customer_id=customer_id,
                details={"thresholdPercent": 80, "utilization": "0.8123", "exposure": 81230,
                         "limit": 100000, "siteId": None},
                recipients=recipients, **extra)

    return make

