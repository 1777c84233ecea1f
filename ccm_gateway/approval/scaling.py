"""Segment scaling: a periodic job that proposes limit increases from each customer's own
behaviour over the last 90 days (peak exposure, the share of debts paid on time), within
the segment's hard cap, through the approval workflow.

Only increases are proposed: a decrease needs no approval, so a "proposal" would apply at
once, and lowering someone's limit automatically is a decision this job leaves to people.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.customer.models import Customer, CustomerStatus
from ccm_gateway.kit.money import currency_exponent, format_minor
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, LedgerEntry
from ccm_gateway.policy import caps
from ccm_gateway.policy import requests as limit_requests
from ccm_gateway.policy.models import (
    LimitChangeRequest,
    LimitChangeSource,
    LimitChangeStatus,
    SegmentPolicy,
)
from ccm_gateway.principal import SYSTEM_ACTOR

log = logging.getLogger("ccm_gateway.approval")

WINDOW = timedelta(days=90)
# Propose when the customer used at least this share of its limit at its peak and paid at
# least this share of its debts due in the window on time; propose this much more.
MIN_PEAK_UTILIZATION = Decimal("0.80")
MIN_ON_TIME_SHARE = Decimal("0.90")
INCREASE = Decimal("0.20")


@dataclass(frozen=True)
class Behaviour:
    peak_exposure_minor: int
    debts_due: int
    debts_on_time: int

    @property
    def on_time_share(self) -> Decimal | None:
        if not self.debts_due:
            return None
        return Decimal(self.debts_on_time) / Decimal(self.debts_due)


def behaviour(account: CreditAccount, entries: list[LedgerEntry], now: datetime) -> Behaviour:
    """Peak exposure: the highest posted balance in the window (replayed from its entries,
    backwards from today's balance), or today's exposure with its holds if higher. On
    time: debts (positive entries) paid off, first in first out, by their due date
    (occurred + the account's net days); only debts due by now count."""
    start = now - WINDOW
    balance = account.posted_balance_minor - sum(e.amount_minor for e in entries)
    peak = balance
    # What the customer owed before the window is paid first; its due dates are unknown,
    # so it is not counted either way.
    queue: list[list[Any]] = [[max(balance, 0), None]]
    for entry in entries:
        balance += entry.amount_minor
        peak = max(peak, balance)
        if entry.amount_minor > 0:
            queue.append([entry.amount_minor, entry.occurred_at + timedelta(
                days=account.net_days)])
    paid_at: list[datetime | None] = [None] * len(queue)
    head = 0
    for entry in entries:
        credit = -entry.amount_minor
        while credit > 0 and head < len(queue):
            take = min(credit, queue[head][0])
            queue[head][0] -= take
            credit -= take
            if queue[head][0] == 0:
                paid_at[head] = entry.occurred_at
                head += 1
        while head < len(queue) and queue[head][0] == 0:  # zero debts (nothing owed)
            head += 1
    due = on_time = 0
    for i, (_, due_at) in enumerate(queue):
        if due_at is None or due_at > now or due_at < start:
            continue
        due += 1
        settled = paid_at[i]
        if settled is not None and settled <= due_at:
            on_time += 1
    return Behaviour(max(peak, account.posted_balance_minor + account.held_minor), due,
                     on_time)


async def recent_behaviour(accounts: list[CreditAccount], now: datetime) -> list[Behaviour]:
    """Each account's ``behaviour`` over the WINDOW before ``now``, in the order given; the
    entries of them all are read in one query."""
    # Keyed by the id's text: SQLite hands foreign keys back as text, PostgreSQL as UUIDs.
    entries: dict[str, list[LedgerEntry]] = {str(a.id): [] for a in accounts}
    if accounts:
        for entry in await LedgerEntry.filter(account_id__in=[a.id for a in accounts],
                                              occurred_at__gte=now - WINDOW) \
                .order_by("occurred_at", "recorded_at"):
            entries[str(entry.account_id)].append(entry)
    return [behaviour(a, entries[str(a.id)], now) for a in accounts]


def proposal(account: CreditAccount, seen: Behaviour,
             cap_minor: int | None) -> tuple[int, dict[str, Any]] | None:
    """The limit to propose and why, or None."""
    limit = account.credit_limit_minor
    share = seen.on_time_share
    if limit <= 0 or share is None or share < MIN_ON_TIME_SHARE:
        return None
    peak = Decimal(seen.peak_exposure_minor) / Decimal(limit)
    if peak < MIN_PEAK_UTILIZATION:
        return None
    # Whole major units: a proposal a person reads.
    unit = 10 ** currency_exponent(account.currency)
    target = int((Decimal(limit) * (1 + INCREASE) / unit).to_integral_value(ROUND_FLOOR)) * unit
    if cap_minor is not None:
        target = min(target, cap_minor)
    if target <= limit:
        return None
    currency = account.currency
    reasoning = {
        "windowDays": WINDOW.days,
        "peakExposure": {"amount": format_minor(seen.peak_exposure_minor, currency),
                         "currency": currency},
        "peakUtilization": float(round(peak, 4)),
        "debtsDue": seen.debts_due, "debtsPaidOnTime": seen.debts_on_time,
        "onTimeShare": float(round(share, 4)),
        "rule": (f"peak utilisation >= {MIN_PEAK_UTILIZATION:.0%} and on-time share >= "
                 f"{MIN_ON_TIME_SHARE:.0%}: propose {INCREASE:.0%} more"),
        "hardCap": None if cap_minor is None else {"amount": format_minor(cap_minor, currency),
                                                   "currency": currency},
    }
    return target, reasoning


async def _propose_for(customer_id: Any, policy_id: Any, now: datetime) -> bool:
    async with in_transaction():
        account = await ledger_service.lock_account(customer_id=customer_id)
        # Under the lock: two runs never open two proposals for one customer.
        if await LimitChangeRequest.exists(customer_id=customer_id,
                                           status=LimitChangeStatus.PENDING):
            return False
        policy = await caps.segment_policy_for(account.customer, account.currency)
        if policy is None or policy.id != policy_id or not policy.scaling_enabled:
            return False
        [seen] = await recent_behaviour([account], now)
        found = proposal(account, seen, policy.hard_cap_minor)
        if found is None:
            return False
        limit, reasoning = found
        request = await limit_requests.open_request(
            SYSTEM_ACTOR, account, limit, reason="proposed by segment scaling",
            source=LimitChangeSource.SCALING, reasoning=reasoning)
        if request.required_approvals == 0:  # a band of none: nothing to wait for
            await ledger_service.apply_request(SYSTEM_ACTOR, request, account)
        return True


async def propose_changes(now: datetime | None = None) -> int:
    """One pass over the customers of every segment policy with scaling on; the number of
    proposals opened."""
    now = now or datetime.now(UTC)
    opened = 0
    for policy in await SegmentPolicy.filter(scaling_enabled=True):
        customers = Customer.filter(segment=policy.segment, currency=policy.currency,
                                    status=CustomerStatus.ACTIVE)
        if policy.risk_profile is not None:
            customers = customers.filter(risk_profile=policy.risk_profile)
        for customer_id in await customers.values_list("id", flat=True):
            if await _propose_for(customer_id, policy.id, now):
                opened += 1
    return opened
