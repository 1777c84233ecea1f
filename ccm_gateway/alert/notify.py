"""Alert e-mail: the worker sends the AlertNotification rows ``raise_alert`` wrote, over SMTP
(the ``alert.notify`` cron).

A run claims a batch of due notifications in one transaction (rows locked with SKIP
LOCKED, so workers in several processes split the work) by pushing their
``next_attempt_at`` past the longest a send may take (the lease) and counting the attempt;
it sends them concurrently, each in a connection of its own; then it writes every outcome
in one more transaction, only on rows still carrying its lease. A worker killed mid-send
leaves its rows to be claimed again once the lease ends: e-mail goes out at least once,
and never twice at the same time.

Outcomes:
- accepted by the server: SENT.
- refused for good (a 5xx answer to the recipient or to the message itself): FAILED.
- anything else (connection errors, timeouts, 4xx, authentication or sender refused, which
  an operator can fix): RETRYING after the next delay of CCM_SMTP_RETRY_SCHEDULE; after
  the last one, FAILED.
A notification that ends FAILED raises a ``notification.failed`` alert, which goes out to
outbound endpoints and subscriptions only, never by e-mail (it would fail the same way).

With CCM_SMTP_URL unset nothing is sent: notifications stay PENDING, shown by
``Alert.deliveries``, and go out once an SMTP server is configured.
"""

from __future__ import annotations

import asyncio
import email.errors
import email.utils
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import Alert, AlertNotification, AlertSeverity, NotificationStatus
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.config import Settings, SmtpTarget
from ccm_gateway.customer.models import Customer
from ccm_gateway.kit.metrics import Metrics

log = logging.getLogger("ccm_gateway.alert.notify")

NOTIFY = "alert.notify"
# Notifications claimed at once, and sent at once within a batch.
BATCH = 20
IN_FLIGHT = 5
# One send's whole conversation (connect, TLS, login, envelope, data) gets this many
# CCM_SMTP_TIMEOUT_SECONDS; each command has one of its own.
SEND_TIMEOUTS = 4
# A run hands on to the next cron tick after this long, so one run stays short.
DRAIN_SECONDS = 30.0
WAITING = (NotificationStatus.PENDING, NotificationStatus.RETRYING)


@dataclass(frozen=True, slots=True)
class Outcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class _Result:
    error: str | None = None  # None: sent
    permanent: bool = False


async def notify(ctx: dict[str, Any]) -> int:
    """`alert.notify`: send the due alert e-mails; how many went out."""
    return (await run(ctx["settings"], metrics=ctx.get("metrics"))).sent


async def run(settings: Settings, *, now: datetime | None = None,
              metrics: Metrics | None = None) -> Outcome:
    """Send due notifications, batch after batch, until none is due or DRAIN_SECONDS
    have passed, counting outcomes into ``metrics``. ``now`` fixes the clock (tests)."""
    target = settings.smtp
    if target is None or settings.smtp_from is None:
        return Outcome()
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = retrying = failed = 0
    while True:
        at = now or datetime.now(UTC)
        rows, lease_until = await _claim(at, _lease(settings))
        if rows:
            batch = await _send_batch(target, settings, rows)
            s, r, f = await _record(rows, batch, lease_until, settings, now or datetime.now(UTC))
            sent, retrying, failed = sent + s, retrying + r, failed + f
            if metrics is not None:
                for outcome, amount in (("sent", s), ("retrying", r), ("failed", f)):
                    if amount:
                        await metrics.inc("alert_emails", {"outcome": outcome}, amount)
        if len(rows) < BATCH or loop.time() - started > DRAIN_SECONDS:
            return Outcome(sent=sent, retrying=retrying, failed=failed)


def _lease(settings: Settings) -> timedelta:
    rounds = math.ceil(BATCH / IN_FLIGHT)
    return timedelta(seconds=rounds * SEND_TIMEOUTS * settings.smtp_timeout_seconds + 60)


async def _claim(now: datetime, lease: timedelta,
                 ) -> tuple[list[AlertNotification], datetime]:
    lease_until = now + lease
    async with in_transaction():
        rows = await AlertNotification.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            channel="email", status__in=WAITING,
        ).order_by("next_attempt_at").limit(BATCH).select_for_update(skip_locked=True)
        if rows:
            await AlertNotification.filter(id__in=[r.id for r in rows]).update(
                next_attempt_at=lease_until, attempts=F("attempts") + 1)
    for r in rows:
        r.attempts += 1
    return rows, lease_until


async def _send_batch(target: SmtpTarget, settings: Settings,
                      rows: Sequence[AlertNotification]) -> dict[Any, _Result]:
    alerts = {a.id: a for a in await Alert.filter(id__in={r.alert_id for r in rows})}
    customer_ids = {a.customer_id for a in alerts.values() if a.customer_id is not None}
    names: dict[Any, str] = dict(await Customer.filter(id__in=customer_ids)
                                 .values_list("id", "name")) if customer_ids else {}
    gate = asyncio.Semaphore(IN_FLIGHT)
    sender = str(settings.smtp_from)

    async def one(row: AlertNotification) -> tuple[Any, _Result]:
        alert = alerts[row.alert_id]
        try:
            message = build_message(alert, row, sender=sender,
                                    customer_name=names.get(alert.customer_id))
        except (ValueError, email.errors.MessageError) as exc:  # no server can take it
            return row.id, _Result(f"bad recipient: {exc}", permanent=True)
        async with gate:
            return row.id, await _send(target, settings, message, row.recipient)

    return dict(await asyncio.gather(*(one(r) for r in rows)))


async def _send(target: SmtpTarget, settings: Settings, message: EmailMessage,
                recipient: str) -> _Result:
    timeout = settings.smtp_timeout_seconds
    try:
        async with asyncio.timeout(SEND_TIMEOUTS * timeout):
            # The envelope takes the bare address of "Name <address>".
            await aiosmtplib.send(
                message, sender=email.utils.parseaddr(str(settings.smtp_from))[1],
                recipients=[recipient],
                hostname=target.host, port=target.port, username=target.username,
                password=target.password, use_tls=target.use_tls,
                start_tls=target.start_tls, timeout=timeout)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        return _Result(_describe(exc), permanent=all(c >= 500 for c in codes))
    except aiosmtplib.SMTPDataError as exc:
        return _Result(_describe(exc), permanent=exc.code >= 500)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return _Result(_describe(exc))
    return _Result()


def _describe(exc: BaseException) -> str:
    text = str(exc) or "no answer in time"
    return f"{exc.__class__.__name__}: {text}"[:500]


def build_message(alert: Alert, row: AlertNotification, *, sender: str,
                  customer_name: str | None) -> EmailMessage:
    """The e-mail of ``alert`` to ``row.recipient``. Its Message-ID is the notification's
    id, the same on every attempt, so a receiver can drop a resend."""
    _, recipient = email.utils.parseaddr(row.recipient)
    if "@" not in recipient or recipient != row.recipient.strip():
        raise ValueError(repr(row.recipient))
    severity = AlertSeverity(alert.severity).name
    about = (customer_name or (f"customer {alert.customer_id}" if alert.customer_id else None)
             or (f"integration {alert.integration_id}" if alert.integration_id else None))
    subject = f"[{severity}] {alert.kind}" + (f": {about}" if about else "")
    domain = email.utils.parseaddr(sender)[1].rsplit("@", 1)[-1] or "ccm-gateway"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    # Header values come from customer names and alert messages: no line breaks.
    message["Subject"] = " ".join(subject.split())[:300]
    message["Message-ID"] = f"<{row.id}@{domain}>"
    message["Date"] = email.utils.format_datetime(alert.created_at)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    message["X-CCM-Alert-Id"] = str(alert.id)
    message["X-CCM-Alert-Kind"] = " ".join(alert.kind.split())
    lines = [alert.message, ""]
    if alert.details:
        lines += ["Details:"] + [f"  {k}: {'(none)' if v is None else v}"
                                 for k, v in sorted(alert.details.items())]
        lines.append("")
    lines += [f"Severity: {severity}", f"Kind: {alert.kind}"]
    if alert.customer_id:
        lines.append(f"Customer: {customer_name or ''} ({alert.customer_id})".replace(" ()", ""))
    if alert.integration_id:
        lines.append(f"Integration: {alert.integration_id}")
    lines += [f"Alert: {alert.id}", f"Raised: {alert.created_at.isoformat()}"]
    message.set_content("\n".join(lines) + "\n")
    return message


async def _record(rows: Sequence[AlertNotification], results: dict[Any, _Result],
                  lease_until: datetime, settings: Settings, now: datetime,
                  ) -> tuple[int, int, int]:
    delays = settings.smtp_retry_delays
    sent = retrying = failed = 0
    async with in_transaction():
        for row in rows:
            result = results[row.id]
            # Only while our lease holds: past it another run may own the row.
            mine = AlertNotification.filter(id=row.id, next_attempt_at=lease_until,
                                            status__in=WAITING)
            if result.error is None:
                sent += await mine.update(status=NotificationStatus.SENT, sent_at=now,
                                          next_attempt_at=None, last_error=None)
                continue
            if not result.permanent and row.attempts <= len(delays):
                retrying += await mine.update(
                    status=NotificationStatus.RETRYING, last_error=result.error,
                    next_attempt_at=now + timedelta(seconds=delays[row.attempts - 1]))
                continue
            if await mine.update(status=NotificationStatus.FAILED, last_error=result.error,
                                 next_attempt_at=None):
                failed += 1
                await _raise_failed(row, result.error)
    if failed:
        log.warning("%d alert e-mails failed for good", failed)
    return sent, retrying, failed


async def _raise_failed(row: AlertNotification, error: str) -> None:
    alert = await Alert.get(id=row.alert_id)
    await raise_alert(
        "notification.failed", AlertSeverity.WARNING,
        f"e-mail of alert {alert.kind} to {row.recipient} failed after {row.attempts} "
        f"attempts: {error}",
        customer_id=alert.customer_id, integration_id=alert.integration_id,
        details={"alertId": str(alert.id), "notificationId": str(row.id),
                 "channel": row.channel, "recipient": row.recipient,
                 "attempts": row.attempts, "lastError": error},
        channels=("outbound", "subscription"))
