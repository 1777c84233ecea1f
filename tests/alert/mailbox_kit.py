"""The alert tests' SMTP mailbox and helpers. A module of its own: ``from conftest import``
resolves to whichever conftest.py was imported last."""

from __future__ import annotations

import socket
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

SENDER = "CCM Alerts <ccm-alerts@example.test>"


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
        parsed["X-Envelope-From"] = envelope.mail_from
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


def recipient() -> str:
    return f"finance-{uuid.uuid4().hex[:10]}@example.test"
