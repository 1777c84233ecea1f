"""Fixtures of the alert e-mail tests: a real SMTP server (aiosmtpd) on loopback whose
answers a test scripts per recipient, and alerts raised as the services raise them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from mailbox_kit import SENDER, Mailbox, free_port
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.config import Settings


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

