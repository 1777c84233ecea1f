"""Alert e-mail against a real SMTP server on loopback: delivered, retried after a refusal,
FAILED after the schedule (with its notification.failed alert), unset URL, concurrent
runs, and a worker that died mid-send."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from mailbox_kit import SENDER, Mailbox, free_port, recipient
from testkit import eventually

from ccm_gateway.alert import notify
from ccm_gateway.alert.models import Alert, AlertNotification, NotificationStatus
from ccm_gateway.config import Settings
from ccm_gateway.kit.metrics import Metrics
from ccm_gateway.worker import CRON_JOBS, build_worker, open_queue


def soon() -> datetime:
    # Past the alert's own created_at, which is its notifications' first due time.
    return datetime.now(UTC) + timedelta(seconds=1)


async def notifications(alert: Alert) -> dict[str, AlertNotification]:
    return {n.recipient: n for n in await AlertNotification.filter(alert_id=alert.id)}


async def test_an_alert_is_mailed_to_each_recipient(smtp: tuple[Mailbox, int],
                                                   smtp_settings: Settings, make_alert: Any,
                                                   make_customer: Any, gql: Any) -> None:
    box, _ = smtp
    customer_id = await make_customer()
    name = (await gql("query($id: ID!) { customer(id: $id) { name } }",
                      {"id": customer_id})).data["customer"]["name"]
    first, second = recipient(), recipient()
    alert = await make_alert(first, second, first, customer_id=uuid.UUID(customer_id))
    rows = await notifications(alert)
    assert set(rows) == {first, second}  # one each, the repeat dropped
    assert {r.status for r in rows.values()} == {NotificationStatus.PENDING}

    outcome = await notify.run(smtp_settings, now=soon())

    assert outcome.sent >= 2
    rows = await notifications(alert)
    for address, row in rows.items():
        assert row.status == NotificationStatus.SENT
        assert (row.attempts, row.last_error) == (1, None)
        assert row.sent_at is not None and row.next_attempt_at is None
        [message] = box.to(address)
        assert message["From"] == SENDER
        assert message["X-Envelope-From"] == "ccm-alerts@example.test"
        assert message["Subject"] == f"[WARNING] {alert.kind}: {name}"
        assert message["Message-ID"] == f"<{row.id}@example.test>"
        assert message["X-CCM-Alert-Id"] == str(alert.id)
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_content().replace("\r\n", "\n")
        assert body.startswith("Customer reached 80 % of its limit\n")
        for line in ("thresholdPercent: 80", "utilization: 0.8123", "exposure: 81230",
                     "limit: 100000", "siteId: (none)", f"Customer: {name} ({customer_id})",
                     f"Alert: {alert.id}"):
            assert line in body

    # Sent is settled: another run sends nothing again.
    await notify.run(smtp_settings, now=soon() + timedelta(hours=1))
    assert len(box.to(first)) == 1


async def test_a_refused_recipient_is_retried_on_schedule(
        smtp: tuple[Mailbox, int], smtp_settings: Settings, make_alert: Any) -> None:
    box, _ = smtp
    address = recipient()
    box.answers[address] = ["451 4.3.0 Mailbox busy, try later"]
    alert = await make_alert(address)
    t0 = soon()

    await notify.run(smtp_settings, now=t0)

    [row] = (await notifications(alert)).values()
    assert row.status == NotificationStatus.RETRYING
    assert row.attempts == 1
    assert row.last_error is not None and "451" in row.last_error
    assert row.next_attempt_at == t0 + timedelta(seconds=60)  # the schedule's first delay
    assert box.to(address) == []

    # Not yet due: left alone.
    await notify.run(smtp_settings, now=t0 + timedelta(seconds=59))
    assert (await AlertNotification.get(id=row.id)).attempts == 1

    await notify.run(smtp_settings, now=t0 + timedelta(seconds=60))
    row = await AlertNotification.get(id=row.id)
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.SENT, 2, None)
    [message] = box.to(address)
    assert message["Message-ID"] == f"<{row.id}@example.test>"


async def test_a_server_that_is_down_is_retried(settings: Settings, make_alert: Any,
                                                smtp: tuple[Mailbox, int]) -> None:

    down = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}", smtp_from=SENDER,
                   smtp_retry_schedule="5")
    alert = await make_alert(recipient())

    await notify.run(down, now=soon())

    [row] = (await notifications(alert)).values()
    assert (row.status, row.attempts) == (NotificationStatus.RETRYING, 1)
    assert row.last_error and "SMTPConnect" in row.last_error


async def test_failed_after_the_last_retry_raises_notification_failed(
        smtp: tuple[Mailbox, int], smtp_settings: Settings, make_alert: Any) -> None:
    box, _ = smtp
    address = recipient()
    box.always[address] = "452 4.2.2 Mailbox full"
    alert = await make_alert(address)
    at = soon()

    for expected in (NotificationStatus.RETRYING, NotificationStatus.RETRYING,
                     NotificationStatus.FAILED):
        await notify.run(smtp_settings, now=at)
        row = await AlertNotification.get(alert_id=alert.id)
        assert row.status == expected
        at = row.next_attempt_at or at

    assert row.attempts == 3  # the first attempt and the schedule's two retries
    assert row.next_attempt_at is None and row.last_error and "452" in row.last_error
    [failed] = [a for a in await Alert.filter(kind="notification.failed", customer_id=None)
                .order_by("-created_at").limit(50)
                if a.details.get("notificationId") == str(row.id)]
    assert failed.details["alertId"] == str(alert.id)
    assert failed.details["recipient"] == address
    assert failed.details["attempts"] == 3
    # Never by e-mail: it would fail the same way.
    assert await AlertNotification.filter(alert_id=failed.id).count() == 0
    assert box.to(address) == []


async def test_a_permanent_refusal_fails_at_once(smtp: tuple[Mailbox, int],
                                                 smtp_settings: Settings,
                                                 make_alert: Any) -> None:
    box, _ = smtp
    gone, fine = recipient(), recipient()
    box.always[gone] = "550 5.1.1 No such user"
    alert = await make_alert(gone, fine)
    queue = await open_queue(replace(smtp_settings, redis_url=None))
    metrics = Metrics(queue)

    outcome = await notify.run(smtp_settings, now=soon(), metrics=metrics)

    text = await metrics.render()
    await queue.aclose()
    for name, counted in (("sent", outcome.sent), ("failed", outcome.failed)):
        assert counted >= 1
        assert f'alert_emails_total{{outcome="{name}"}} {counted}\n' in text

    rows = await notifications(alert)
    assert (rows[gone].status, rows[gone].attempts) == (NotificationStatus.FAILED, 1)
    assert rows[gone].last_error and "550" in rows[gone].last_error
    assert rows[fine].status == NotificationStatus.SENT
    assert len(box.to(fine)) == 1


async def test_a_recipient_that_is_no_address_fails_at_once(
        smtp: tuple[Mailbox, int], smtp_settings: Settings, make_alert: Any) -> None:
    fine = recipient()
    alert = await make_alert("finance team", fine)

    await notify.run(smtp_settings, now=soon())

    rows = await notifications(alert)
    assert (rows["finance team"].status, rows["finance team"].attempts) \
        == (NotificationStatus.FAILED, 1)
    assert "bad recipient" in (rows["finance team"].last_error or "")
    assert rows[fine].status == NotificationStatus.SENT


async def test_unset_url_sends_nothing_and_keeps_the_notification(
        settings: Settings, make_alert: Any) -> None:
    assert settings.smtp_url is None
    alert = await make_alert(recipient())

    assert await notify.run(settings, now=soon()) == notify.Outcome()

    [row] = (await notifications(alert)).values()
    assert (row.status, row.attempts, row.sent_at) == (NotificationStatus.PENDING, 0, None)


async def test_concurrent_runs_send_each_notification_once(
        smtp: tuple[Mailbox, int], smtp_settings: Settings, make_alert: Any) -> None:
    box, _ = smtp
    addresses = [recipient() for _ in range(3 * notify.BATCH)]
    alerts = [await make_alert(*addresses[i:i + 10]) for i in range(0, len(addresses), 10)]
    at = soon()

    await asyncio.gather(*(notify.run(smtp_settings, now=at) for _ in range(4)))

    for address in addresses:
        assert len(box.to(address)) == 1, address
    ids = [a.id for a in alerts]
    assert await AlertNotification.filter(alert_id__in=ids).count() == len(addresses)
    assert await AlertNotification.filter(alert_id__in=ids,
                                          status=NotificationStatus.SENT).count() \
        == len(addresses)
    assert set(await AlertNotification.filter(alert_id__in=ids)
               .values_list("attempts", flat=True)) == {1}


async def test_a_claim_left_by_a_dead_worker_is_sent_after_its_lease(
        smtp: tuple[Mailbox, int], smtp_settings: Settings, make_alert: Any) -> None:
    box, _ = smtp
    address = recipient()
    alert = await make_alert(address)
    at = soon()
    # A run that claimed the row and died before sending or recording it.
    rows, lease_until = await notify._claim(at, notify._lease(smtp_settings))
    assert alert.id in {r.alert_id for r in rows}

    await notify.run(smtp_settings, now=lease_until - timedelta(seconds=1))
    assert box.to(address) == []

    await notify.run(smtp_settings, now=lease_until)
    row = await AlertNotification.get(alert_id=alert.id)
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    assert len(box.to(address)) == 1


async def test_login_with_the_urls_credentials(settings: Settings, make_alert: Any) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    box = Mailbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        box.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret/p@ss")

    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        mail = replace(settings, smtp_url=f"smtp://alerts:s3cret%2Fp%40ss@127.0.0.1:{port}",
                       smtp_from=SENDER)
        address = recipient()
        await make_alert(address)
        await notify.run(mail, now=soon())
    finally:
        controller.stop()
    assert ("alerts", "s3cret/p@ss") in box.logins
    assert len(box.to(address)) == 1


async def test_the_workers_cron_sends_the_mail(smtp: tuple[Mailbox, int],
                                              smtp_settings: Settings,
                                              make_alert: Any) -> None:
    """The arq cron as the worker (and the embedded worker) runs it, on a queue of its own
    and without the worker's other jobs."""
    box, _ = smtp
    [job] = [j for j in CRON_JOBS if j.name == notify.NOTIFY]
    assert job.run_at_startup and job.unique
    address = recipient()
    await make_alert(address)
    queue = await open_queue(replace(smtp_settings, redis_url=None))
    worker = build_worker(queue, smtp_settings, functions=[], cron_jobs=[job],
                          on_startup=None, on_shutdown=None)
    running = asyncio.create_task(worker.async_run())
    try:
        async def mailed() -> bool:
            return len(box.to(address)) == 1

        await eventually(mailed, timeout=30.0)  # a loaded machine starts arq slowly
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()
        await queue.aclose()
