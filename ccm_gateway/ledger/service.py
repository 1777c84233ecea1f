"""The credit ledger: entries, holds, limits and the checks that keep exposure within them.

Every function here runs inside the caller's transaction (``in_transaction()``)
and never commits on its own. Balance changes happen under a row lock taken in
one fixed order, hold -> credit account -> site limit, with ``F()`` updates.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise import connections
from tortoise.expressions import F
from tortoise.functions import Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit
from ccm_gateway.billing import allocation as billing
from ccm_gateway.config import MAX_HOLD_TTL
from ccm_gateway.customer.models import Customer, CustomerStatus
from ccm_gateway.errors import BadInput, Conflict, Forbidden, NotFound
from ccm_gateway.kit import idempotency, outbox
from ccm_gateway.kit.batch import many_per_key, one_per_key
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.money import currency_exponent, format_minor
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.ledger.models import (
    CreditAccount,
    EntryKind,
    Hold,
    HoldStatus,
    InvoicingCycle,
    LedgerEntry,
    SiteLimit,
    SourceType,
)
from ccm_gateway.policy import caps
from ccm_gateway.policy import evaluate as policy
from ccm_gateway.policy import requests as limit_requests
from ccm_gateway.policy import rules as policy_rules
from ccm_gateway.policy.models import LimitChangeRequest, LimitChangeStatus
from ccm_gateway.principal import SYSTEM_ACTOR, Actor, Principal, readable_by
from ccm_gateway.site import service as site_service

MAX_NET_DAYS = 365
# The audit action of a change of terms (net days, invoicing cycle); insights read it back.
SET_TERMS_ACTION = "credit.set_terms"
# Far below 2**63 so sums of many entries cannot overflow a BIGINT.
MAX_AMOUNT_MINOR = 10**15

# The sign each kind puts on what the customer owes; adjustments carry their own.
_ENTRY_SIGN = {
    EntryKind.CHARGE: 1,
    EntryKind.INVOICE: 1,
    EntryKind.REFUND: 1,
    EntryKind.PAYMENT: -1,
    EntryKind.CREDIT_NOTE: -1,
}
_LIMIT_CHECKED_KINDS = {EntryKind.CHARGE, EntryKind.INVOICE}


class DeclineReason(StrEnum):
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    SITE_LIMIT_EXCEEDED = "SITE_LIMIT_EXCEEDED"
    ACCOUNT_BLOCKED = "ACCOUNT_BLOCKED"
    ACCOUNT_ON_HOLD = "ACCOUNT_ON_HOLD"


@dataclass(frozen=True, slots=True)
class Declined:
    reason: DeclineReason
    message: str
    available_minor: int
    currency: str

    def to_json(self) -> dict[str, Any]:
        return {"declined": {"reason": self.reason.value, "message": self.message,
                             "available_minor": self.available_minor, "currency": self.currency}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Declined:
        d = data["declined"]
        return cls(DeclineReason(d["reason"]), d["message"], d["available_minor"], d["currency"])


@dataclass(frozen=True, slots=True)
class Original:
    """The amount an entry was converted from, and the rate (a decimal string) applied."""

    amount_minor: int
    currency: str
    fx_rate: str

    def to_json(self) -> dict[str, Any]:
        return {"amount_minor": self.amount_minor, "currency": self.currency,
                "fx_rate": self.fx_rate}


@dataclass(frozen=True, slots=True)
class CreditDecision:
    approved: bool
    reason: DeclineReason | None
    message: str
    available_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class GateDecision:
    allowed: bool
    reason: str
    message: str


customer_stream = audit.customer_stream


# --- PostgreSQL: a write in few round trips ---------------------------------
# On PostgreSQL a hold, a capture or an entry runs in about five round trips instead of a
# dozen: BEGIN; the account row lock, which also takes the customer's audit stream lock;
# one statement with every update and insert of the change (balances, hold, entry,
# outbox message) that also reads the audit chain's head, now that the stream is locked;
# the audit insert; COMMIT. Decisions stay in Python (``_status_decline``,
# ``_limit_decline``), on the locked row, for both dialects; only the persistence
# differs. SQLite runs the same steps through the ORM (one writer at a time, no locks).

def _on_postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def _fetch(sql: str, args: list[Any]) -> list[Any]:
    """Rows of one hand-written statement, on the current transaction's connection."""
    _, rows = await connections.get("default").execute_query(sql, args)
    return list(rows)


def _columns(model: Any, alias: str, prefix: str) -> str:
    return ", ".join(f'{alias}."{c}" AS "{prefix}{c}"' for c in sorted(model._meta.db_fields))


def _split(model: Any, row: Any, prefix: str) -> Any:
    """The model instance of the ``prefix``ed columns of ``row``."""
    return model._init_from_db(**{c: row[prefix + c] for c in model._meta.db_fields})


# The account (and its customer) locked, then its audit stream's lock: in that order
# (the row lock first, as every other writer takes them), in one round trip.
# MATERIALIZED keeps the row lock in the inner query, evaluated before the outer one.
# The policy revision comes along, so the write's rule evaluation knows whether its
# cached rules are current without a round trip of its own.
_LOCK_ACCOUNT_SQL = ""


def _lock_account_sql() -> str:
    global _LOCK_ACCOUNT_SQL
    if not _LOCK_ACCOUNT_SQL:
        # Names from the models' own metadata; every value is a parameter.
        _LOCK_ACCOUNT_SQL = (
            f"WITH a AS MATERIALIZED (SELECT {_columns(CreditAccount, 'ca', 'a_')}, "  # noqa: S608
            f"{_columns(Customer, 'cu', 'c_')} FROM \"credit_account\" ca "
            'JOIN "customer" cu ON cu."id" = ca."customer_id" '
            "WHERE ca.{key} = $1 FOR UPDATE OF ca) "
            'SELECT a.*, (SELECT "revision" FROM "policy_revision" WHERE "id" = 1) '
            'AS "policy_revision", pg_advisory_xact_lock($2) FROM a')
    return _LOCK_ACCOUNT_SQL


async def _lock_account_pg(*, customer_id: Any = None, account_id: Any = None) -> CreditAccount:
    key, value = ("customer_id", customer_id) if account_id is None else ("id", account_id)
    sql = _lock_account_sql().replace("{key}", f'"{key}"')
    if customer_id is not None:
        stream_key = audit.stream_lock_key(customer_stream(customer_id))
        rows = await _fetch(sql, [value, stream_key])
    else:
        # By account id the stream is not known before the row: lock the row, then the
        # stream, in two statements.
        rows = await _fetch(sql.replace(", pg_advisory_xact_lock($2)", ""), [value])
        if rows:
            await _fetch("SELECT pg_advisory_xact_lock($1)", [audit.stream_lock_key(
                customer_stream(rows[0]["a_customer_id"]))])
    if not rows:
        raise NotFound(f"customer {customer_id} not found", field="customerId")
    account: CreditAccount = _split(CreditAccount, rows[0], "a_")
    account.customer = _split(Customer, rows[0], "c_")
    if rows[0]["policy_revision"] is not None:
        policy_rules.hint_revision(account.id, int(rows[0]["policy_revision"]))
    return account


_PARAM = re.compile(r"\$(\d+)")


def _renumber(sql: str, offset: int) -> str:
    """``sql`` with its parameters $1, $2, ... moved to $1+offset, $2+offset, ..."""
    def shifted(m: re.Match[str]) -> str:
        return f"${int(m.group(1)) + offset}"
    return _PARAM.sub(shifted, sql)


_READ_SQL = ""


async def _read_for_decision(customer_id: Any,
                             site_id: Any) -> tuple[CreditAccount, SiteLimit | None]:
    """What a credit check or a gate decides on, not locked: the account with its customer,
    and the site's sub-limit; NotFound for a missing customer, then for a missing site. On
    PostgreSQL in one statement."""
    global _READ_SQL
    if not _on_postgres():
        found = await get_account(customer_id)
        await site_service.require_site(site_id)
        return found, await _site_limit(found, site_id, lock=False)
    if not _READ_SQL:
        _READ_SQL = (
            f"SELECT {_columns(CreditAccount, 'ca', 'a_')}, {_columns(Customer, 'cu', 'c_')}, "  # noqa: S608
            f"{_columns(SiteLimit, 'sl', 's_')}, "
            '(SELECT true FROM "site" WHERE "id" = $2) AS "site_found" '
            'FROM "credit_account" ca JOIN "customer" cu ON cu."id" = ca."customer_id" '
            'LEFT JOIN "site_limit" sl ON sl."account_id" = ca."id" AND sl."site_id" = $2 '
            'WHERE ca."customer_id" = $1')
    rows = await _fetch(_READ_SQL, [customer_id, site_id])
    if not rows:
        raise NotFound(f"customer {customer_id} not found", field="customerId")
    row = rows[0]
    if site_id is not None and not row["site_found"]:
        raise NotFound(f"site {site_id} not found", field="siteId")
    account: CreditAccount = _split(CreditAccount, row, "a_")
    account.customer = _split(Customer, row, "c_")
    site_limit = None if row["s_id"] is None else _split(SiteLimit, row, "s_")
    return account, site_limit


def _head_sql(param: int) -> str:
    return audit.LAST_LINK_SQL.format(f"${param}")


async def _write_and_head(writes: list[tuple[str, list[Any]]], stream: str) -> audit.Head:
    """Run ``writes`` (statements with ``$n`` numbered from 1 each) as data-modifying CTEs of
    one statement that also reads ``stream``'s head (locked by ``_lock_account_pg``)."""
    parts: list[str] = []
    args: list[Any] = []
    for n, (sql, values) in enumerate(writes):
        sql = _renumber(sql, len(args))
        parts.append(f"w{n} AS ({sql})")
        args.extend(values)
    args.append(stream)
    rows = await _fetch(f"WITH {', '.join(parts)} {_head_sql(len(args))}", args)
    return audit.Head.of(rows[0] if rows else None)


_ACCOUNT_MOVE_SQL = ('UPDATE "credit_account" SET "held_minor" = "held_minor" + $1, '
                     '"posted_balance_minor" = "posted_balance_minor" + $2 WHERE "id" = $3')
_SITE_MOVE_SQL = ('UPDATE "site_limit" SET "held_minor" = "held_minor" + $1, '
                  '"posted_minor" = "posted_minor" + $2 WHERE "id" = $3')
_OUTBOX_SQL = outbox.INSERT_SQL.format("$1", "$2", "$3", "$4")


@dataclass(frozen=True, slots=True)
class _Write:
    """One write of a change, in both forms: a statement for PostgreSQL's one round trip
    (``sql`` with ``$n`` numbered from 1, ``args``), and the same write through the ORM for
    SQLite (``orm``). ``_finish`` runs one form or the other, never both."""

    sql: str
    args: list[Any]
    orm: Callable[[], Awaitable[Any]]


def _moves(account: CreditAccount, site_limit: SiteLimit | None, held: int,
           posted: int) -> list[_Write]:
    """The cached balances moved by ``held`` and ``posted`` (the account row locked)."""
    def account_orm() -> Awaitable[Any]:
        return CreditAccount.filter(id=account.id).update(
            held_minor=F("held_minor") + held, posted_balance_minor=F("posted_balance_minor")
            + posted)

    writes = [_Write(_ACCOUNT_MOVE_SQL, [held, posted, account.id], account_orm)]
    if site_limit is not None:
        def site_orm() -> Awaitable[Any]:
            return SiteLimit.filter(id=site_limit.id).update(
                held_minor=F("held_minor") + held, posted_minor=F("posted_minor") + posted)

        writes.append(_Write(_SITE_MOVE_SQL, [held, posted, site_limit.id], site_orm))
    return writes


def _tell(customer_id: Any, event_type: str | None = None,
          data: dict[str, Any] | None = None) -> _Write:
    """The outbox message of a change to the customer's credit state (and its event)."""
    def orm() -> Awaitable[None]:
        return outbox.record(customer_id=customer_id, state_changed=True,
                             event_type=event_type, data=data)

    return _Write(_OUTBOX_SQL, outbox.insert_args(customer_id, event_type, data), orm)


@functools.cache
def _insert_sql(model: Any) -> tuple[str, tuple[str, ...]]:
    """Built once per model, not on every write."""
    columns = tuple(sorted(model._meta.db_fields))
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    # Names from the model's own metadata; every value is a parameter.
    return f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({values})', columns  # noqa: S608


def _insert(instance: Any) -> _Write:
    """An insert of every column of a model instance built in Python (``_new``)."""
    sql, columns = _insert_sql(type(instance))  # type: ignore[arg-type]
    meta = instance._meta
    values = []
    for column in columns:
        field = meta.fields_map[meta.fields_db_projection_reverse[column]]
        values.append(field.to_db_value(getattr(instance, field.model_field_name), instance))
    return _Write(sql, values, lambda: instance.save(force_create=True))


async def lock_account(*, customer_id: Any = None, account_id: Any = None) -> CreditAccount:
    """The account row locked (with ``account.customer``), by customer or account id; on
    PostgreSQL its audit stream's lock too, so ``_finish`` may read the chain's head."""
    if _on_postgres():
        return await _lock_account_pg(customer_id=customer_id, account_id=account_id)
    if customer_id is not None:
        return await get_account(customer_id, lock=True)
    return await CreditAccount.filter(id=account_id).select_for_update() \
        .select_related("customer").get()


async def _finish(writes: list[_Write], stream: str) -> audit.Head | None:
    """Run the change's ``writes`` (the account locked by ``lock_account``). PostgreSQL: in
    one round trip that also reads the audit head, for ``audit.record``. SQLite: one by one
    through the ORM, and None (``audit.record`` reads the head itself)."""
    if not _on_postgres():
        for write in writes:
            await write.orm()
        return None
    if not writes:
        return audit.Head.of((await _fetch(_head_sql(1), [stream]) or [None])[0])
    return await _write_and_head([(w.sql, w.args) for w in writes], stream)


_HOLD_DONE_SQL = ('UPDATE "hold" SET "status" = $1, "captured_minor" = $2, "updated_at" = $3 '
                  'WHERE "id" = $4')


def _new(model: Any, **values: Any) -> Any:
    """A model instance as ``create`` would save it: defaults and auto timestamps set."""
    instance = model(**values)
    now = datetime.now(UTC)
    for field in instance._meta.fields_map.values():
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            setattr(instance, field.model_field_name, now)
    instance._saved_in_db = True
    return instance


def available_minor(account: CreditAccount) -> int:
    return account.credit_limit_minor - account.posted_balance_minor - account.held_minor


def utilization(account: CreditAccount) -> float | None:
    """Exposure / limit (1.0 = at the limit); None when the limit is zero and something
    is owed or held."""
    exposure = account.posted_balance_minor + account.held_minor
    if account.credit_limit_minor == 0:
        return 0.0 if exposure <= 0 else None
    return round(exposure / account.credit_limit_minor, 6)


def site_available_minor(site_limit: SiteLimit) -> int:
    return site_limit.limit_minor - site_limit.posted_minor - site_limit.held_minor


def account_snapshot(account: CreditAccount) -> dict[str, Any]:
    return {
        "currency": account.currency,
        "credit_limit_minor": account.credit_limit_minor,
        "posted_balance_minor": account.posted_balance_minor,
        "held_minor": account.held_minor,
        "net_days": account.net_days,
        "invoicing_cycle": str(account.invoicing_cycle),
        "version": account.version,
    }


def hold_snapshot(hold: Hold) -> dict[str, Any]:
    return {
        "amount_minor": hold.amount_minor,
        "captured_minor": hold.captured_minor,
        "currency": hold.currency,
        "status": str(hold.status),
        "site_id": str(hold.site_id) if hold.site_id else None,
        "expires_at": hold.expires_at.isoformat(),
        "reference": hold.reference,
    }


def entry_snapshot(entry: LedgerEntry) -> dict[str, Any]:
    refund = {"refunds_id": str(entry.refunds_id)} if entry.refunds_id else {}
    return refund | {
        "kind": str(entry.kind),
        "amount_minor": entry.amount_minor,
        "currency": entry.currency,
        "site_id": str(entry.site_id) if entry.site_id else None,
        "reverses_id": str(entry.reverses_id) if entry.reverses_id else None,
        "hold_id": str(entry.hold_id) if entry.hold_id else None,
        "over_limit": entry.over_limit,
        "external_ref": entry.external_ref,
        "occurred_at": entry.occurred_at.isoformat(),
    }


def entry_event(entry: LedgerEntry, customer_id: Any) -> dict[str, Any]:
    """``ledger.entry.posted``'s data: the entry as GraphQL shows it."""
    def money(minor: int | None, currency: str | None) -> dict[str, str] | None:
        if minor is None or currency is None:
            return None
        return {"amount": format_minor(minor, currency), "currency": currency}

    def ident(value: Any) -> str | None:
        return str(value) if value else None

    return {
        "entryId": str(entry.id), "customerId": str(customer_id),
        "kind": EntryKind(entry.kind).name, "amount": money(entry.amount_minor, entry.currency),
        "originalAmount": money(entry.original_amount_minor, entry.original_currency),
        "fxRate": entry.fx_rate, "siteId": ident(entry.site_id),
        "reversesId": ident(entry.reverses_id), "refundsId": ident(entry.refunds_id),
        "holdId": ident(entry.hold_id), "overLimit": entry.over_limit,
        "externalRef": entry.external_ref, "description": entry.description,
        "occurredAt": entry.occurred_at.isoformat(),
    }


def _source_type(actor: Actor) -> SourceType:
    try:
        return SourceType(actor.type)
    except ValueError:
        return SourceType.SYSTEM


def _check_amount(amount_minor: int, field: str = "amount") -> None:
    if amount_minor <= 0:
        raise BadInput(f"{field} must be greater than zero", field=field)
    if amount_minor > MAX_AMOUNT_MINOR:
        raise BadInput(f"{field} is larger than the ledger accepts", field=field)


def _check_currency(account: CreditAccount, currency: str, field: str = "currency") -> None:
    currency_exponent(currency, field=field)
    if currency != account.currency:
        raise BadInput(
            f"currency {currency} differs from the account's currency {account.currency}",
            field=field,
        )


# --- accounts -------------------------------------------------------------


async def open_account(
    customer: Customer, *, credit_limit_minor: int, net_days: int, invoicing_cycle: InvoicingCycle
) -> CreditAccount:
    _check_limit(credit_limit_minor)
    _check_net_days(net_days)
    account = await CreditAccount.create(
        customer=customer,
        currency=customer.currency,
        credit_limit_minor=credit_limit_minor,
        net_days=net_days,
        invoicing_cycle=invoicing_cycle,
    )
    await outbox.record(customer_id=customer.id, state_changed=True)
    return account


async def get_account(customer_id: Any, *, lock: bool = False) -> CreditAccount:
    """The customer's account with ``account.customer`` loaded in the same query;
    ``lock`` takes the account row (not the customer's) until the transaction ends."""
    query = CreditAccount.filter(customer_id=customer_id).select_related("customer")
    if lock:
        query = query.select_for_update(of=("credit_account",))
    account = await query.first()
    if account is None:
        raise NotFound(f"customer {customer_id} not found", field="customerId")
    return account


def _check_limit(limit_minor: int, field: str = "limit") -> None:
    if limit_minor < 0:
        raise BadInput(f"{field} must not be negative", field=field)
    if limit_minor > MAX_AMOUNT_MINOR:
        raise BadInput(f"{field} is larger than the ledger accepts", field=field)


def _check_net_days(net_days: int) -> None:
    if not 0 <= net_days <= MAX_NET_DAYS:
        raise BadInput(f"netDays must be between 0 and {MAX_NET_DAYS}", field="netDays")


async def _change_account(
    actor: Actor, action: str, account: CreditAccount, **changes: Any
) -> CreditAccount:
    """Change credit parameters (locked account), bump the version and audit it."""
    before = account_snapshot(account)
    for name, value in changes.items():
        setattr(account, name, value)
    account.version += 1
    await CreditAccount.filter(id=account.id).update(**changes, version=F("version") + 1)
    await outbox.record(customer_id=account.customer_id, state_changed=True)
    await audit.record(actor, action, object_type="credit_account", object_id=account.customer_id,
                       before=before, after=account_snapshot(account),
                       stream=customer_stream(account.customer_id))
    if "credit_limit_minor" in changes:
        await policy.limit_changed(account, before["credit_limit_minor"])
    return account


async def set_credit_limit(
    actor: Actor, customer_id: Any, limit_minor: int, currency: str,
    expected_version: int | None = None,
) -> CreditAccount:
    """A change that needs no approval (a decrease, or an increase in a band of none);
    FORBIDDEN for one that does, which goes through requestCreditLimitChange."""
    account = await get_account(customer_id, lock=True)
    _check_currency(account, currency, field="limit.currency")
    _check_limit(limit_minor)
    _check_version(account, expected_version)
    policy = await limit_requests.approval_policy()
    band = limit_requests.band_for(policy.bands, account.credit_limit_minor, limit_minor,
                                   account.currency)
    if band["approvals"]:
        raise Forbidden(
            f"raising the limit from {format_minor(account.credit_limit_minor, currency)} to "
            f"{format_minor(limit_minor, currency)} {currency} needs {band['approvals']} "
            "approval(s): use requestCreditLimitChange", field="limit.amount")
    return await apply_credit_limit(actor, account, limit_minor)


async def apply_request(actor: Actor, request: LimitChangeRequest,
                        account: CreditAccount) -> None:
    """Apply ``request`` (its account locked, figures current) if the limit is still the
    one it was made against; SUPERSEDED otherwise. Its approvals, if any, are in."""
    now = datetime.now(UTC)
    if account.credit_limit_minor != request.current_limit_minor:
        was = format_minor(request.current_limit_minor, request.currency)
        now_at = format_minor(account.credit_limit_minor, account.currency)
        moved = f"the limit moved from {was} to {now_at} {account.currency} since the request"
        await limit_requests.decide(actor, request, LimitChangeStatus.SUPERSEDED, moved, now)
        return
    await apply_credit_limit(actor, account, request.requested_limit_minor)
    await limit_requests.decide(actor, request, LimitChangeStatus.APPLIED, None, now)


async def apply_credit_limit(actor: Actor, account: CreditAccount,
                             limit_minor: int) -> CreditAccount:
    """Move the limit of ``account`` (locked by the caller) once its approvals, if any,
    are in; the segment's hard cap still holds."""
    _check_limit(limit_minor)
    await caps.check_cap(account.customer, account.currency, limit_minor, field="limit.amount")
    return await _change_account(actor, "credit.set_limit", account,
                                 credit_limit_minor=limit_minor)


async def set_credit_terms(
    actor: Actor, customer_id: Any, net_days: int, invoicing_cycle: InvoicingCycle,
    expected_version: int | None = None,
) -> CreditAccount:
    _check_net_days(net_days)
    account = await get_account(customer_id, lock=True)
    _check_version(account, expected_version)
    return await _change_account(actor, SET_TERMS_ACTION, account, net_days=net_days,
                                 invoicing_cycle=invoicing_cycle)


def _check_version(account: CreditAccount, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != account.version:
        raise Conflict(
            f"credit account is at version {account.version}, not {expected_version}; "
            "reload and retry",
            field="expectedVersion",
        )


async def set_site_limit(
    actor: Actor, customer_id: Any, site_id: Any, limit_minor: int, currency: str
) -> SiteLimit:
    account = await get_account(customer_id, lock=True)
    _check_currency(account, currency, field="limit.currency")
    _check_limit(limit_minor)
    site = await site_service.get_site(site_id)
    site_limit = await SiteLimit.filter(account_id=account.id, site_id=site.id).first()
    before = None
    if site_limit is None:
        # Entries and holds at this site before the sub-limit existed count against it.
        posted = await _sum(LedgerEntry.filter(account_id=account.id, site_id=site.id),
                            "amount_minor")
        held = await _sum(Hold.filter(account_id=account.id, site_id=site.id,
                                      status=HoldStatus.PENDING), "amount_minor")
        site_limit = await SiteLimit.create(account=account, site=site, limit_minor=limit_minor,
                                            posted_minor=posted, held_minor=held)
    else:
        before = {"limit_minor": site_limit.limit_minor}
        site_limit.limit_minor = limit_minor
        await SiteLimit.filter(id=site_limit.id).update(limit_minor=limit_minor)
    await outbox.record(customer_id=customer_id, state_changed=True)
    await audit.record(actor, "credit.set_site_limit", object_type="site_limit",
                       object_id=site_limit.id, before=before,
                       after={"limit_minor": limit_minor, "site_id": str(site.id)},
                       stream=customer_stream(customer_id))
    await policy.site_limit_changed(account, site_limit,
                                    before["limit_minor"] if before else None)
    return site_limit


async def _sum(query: Any, field: str) -> int:
    rows = await query.annotate(total=Sum(field)).values("total")
    return int(rows[0]["total"] or 0) if rows else 0


async def _site_limit(account: CreditAccount, site_id: Any, *, lock: bool) -> SiteLimit | None:
    if site_id is None:
        return None
    query = SiteLimit.filter(account_id=account.id, site_id=site_id)
    if lock:
        query = query.select_for_update()
    return await query.first()


# --- decisions ------------------------------------------------------------


def _status_decline(customer: Customer, account: CreditAccount) -> Declined | None:
    if customer.status == CustomerStatus.BLOCKED:
        return Declined(DeclineReason.ACCOUNT_BLOCKED, "the customer is blocked", 0,
                        account.currency)
    if customer.status == CustomerStatus.ON_HOLD:
        return Declined(DeclineReason.ACCOUNT_ON_HOLD,
                        "the customer is on hold: no new credit", 0, account.currency)
    return None


def _limit_decline(
    account: CreditAccount, site_limit: SiteLimit | None, amount_minor: int
) -> Declined | None:
    available = available_minor(account)
    if amount_minor > available:
        return Declined(
            DeclineReason.LIMIT_EXCEEDED,
            f"{format_minor(amount_minor, account.currency)} {account.currency} exceeds the "
            f"available {format_minor(available, account.currency)} {account.currency}",
            max(available, 0), account.currency,
        )
    if site_limit is not None:
        site_available = site_available_minor(site_limit)
        if amount_minor > site_available:
            return Declined(
                DeclineReason.SITE_LIMIT_EXCEEDED,
                f"{format_minor(amount_minor, account.currency)} {account.currency} exceeds the "
                f"site's available {format_minor(site_available, account.currency)} "
                f"{account.currency}",
                max(site_available, 0), account.currency,
            )
    return None


async def credit_check(
    customer_id: Any, amount_minor: int, currency: str, site_id: Any = None
) -> CreditDecision:
    """Would this amount be approved now? Reads only."""
    _check_amount(amount_minor)
    account, site_limit = await _read_for_decision(customer_id, site_id)
    _check_currency(account, currency)
    customer = account.customer
    decline = _status_decline(customer, account) or _limit_decline(account, site_limit,
                                                                    amount_minor)
    if decline:
        return CreditDecision(False, decline.reason, decline.message, decline.available_minor,
                              account.currency)
    available = available_minor(account)
    if site_limit is not None:
        available = min(available, site_available_minor(site_limit))
    return CreditDecision(True, None, "approved", available, account.currency)


async def gate_access(site_id: Any, customer_id: Any) -> GateDecision:
    """May this customer's truck enter this site now? Allowed while any credit is available."""
    account, site_limit = await _read_for_decision(customer_id, site_id)
    return gate_decision(account.customer, account, site_limit)


def gate_decision(customer: Customer, account: CreditAccount,
                  site_limit: SiteLimit | None) -> GateDecision:
    """The gate rule, on what is loaded: open while the status allows credit and any is
    available (at the site, given its sub-limit)."""
    # One minor unit of headroom is the smallest purchase that could be approved.
    decline = _status_decline(customer, account) or _limit_decline(account, site_limit, 1)
    if decline:
        return GateDecision(False, decline.reason.value, decline.message)
    return GateDecision(True, "APPROVED", "credit available")


# --- holds ----------------------------------------------------------------


async def authorize(
    actor: Actor,
    customer_id: Any,
    amount_minor: int,
    currency: str,
    *,
    site_id: Any = None,
    reference: str | None = None,
    expires_in: timedelta,
    idempotency_key: str | None = None,
) -> Hold | Declined:
    """Place a hold, or decline it atomically with a reason."""
    _check_amount(amount_minor)
    currency_exponent(currency)
    if not timedelta(seconds=1) <= expires_in <= MAX_HOLD_TTL:
        longest = int(MAX_HOLD_TTL.total_seconds())
        raise BadInput(f"expiresInSeconds must be between 1 and {longest}",
                       field="expiresInSeconds")
    request = {"customer_id": str(customer_id), "amount_minor": amount_minor,
               "currency": currency, "site_id": str(site_id) if site_id else None,
               "reference": reference, "expires_in": int(expires_in.total_seconds())}

    async def place() -> dict[str, Any]:
        stream = customer_stream(customer_id)
        account = await lock_account(customer_id=customer_id)
        _check_currency(account, currency)
        await site_service.require_site(site_id)
        customer = account.customer
        site_limit = await _site_limit(account, site_id, lock=True)
        decline = _status_decline(customer, account) or _limit_decline(
            account, site_limit, amount_minor)
        if decline:
            await audit.record(actor, "hold.declined", object_type="credit_account",
                               object_id=customer_id, after={
                                   "amount_minor": amount_minor, "currency": currency,
                                   "reason": decline.reason.value},
                               stream=stream, head=await _finish([], stream))
            return decline.to_json()
        values: dict[str, Any] = {
            "account_id": account.id, "site_id": site_id, "amount_minor": amount_minor,
            "currency": currency, "reference": reference, "source_type": _source_type(actor),
            "source_id": actor.id, "expires_at": datetime.now(UTC) + expires_in}
        hold = _new(Hold, id=uuid.uuid4(), **values)
        writes = [*_moves(account, site_limit, amount_minor, 0), _insert(hold),
                  _tell(customer_id)]
        await audit.record(actor, "hold.authorize", object_type="hold", object_id=hold.id,
                           after=hold_snapshot(hold), stream=stream,
                           head=await _finish(writes, stream))
        await _evaluate_policy(account, site_limit, held=amount_minor, posted=0,
                               authorizations=1)
        placed.append(hold)
        return {"hold_id": str(hold.id)}

    placed: list[Hold] = []
    outcome = await idempotency.run_once(actor, "hold.authorize", idempotency_key, request, place)
    if "declined" in outcome:
        return Declined.from_json(outcome)
    # A replay loads the first hold as it is now; a fresh one is already in hand.
    return placed[0] if placed else await Hold.get(id=outcome["hold_id"])


async def _evaluate_policy(account: CreditAccount, site_limit: SiteLimit | None, *, held: int,
                           posted: int, spend_minor: int = 0, authorizations: int = 0) -> None:
    """The credit policy after a change that moved exposure by ``held`` + ``posted`` (the
    writes done; ``account`` and ``site_limit`` with their figures from before them), then
    the limit changes it proposed that need no approval, applied at once."""
    proposals = await policy.exposure_changed(account, site_limit, held=held, posted=posted,
                                              spend_minor=spend_minor,
                                              authorizations=authorizations)
    if not proposals:
        return
    # Applying audits the account and evaluates the new limit: with the change included.
    account.held_minor += held
    account.posted_balance_minor += posted
    for request in proposals:
        await apply_request(SYSTEM_ACTOR, request, account)


async def _locked_pending_hold(hold_id: Any) -> Hold:
    hold = await Hold.filter(id=hold_id).select_for_update().first()
    if hold is None:
        raise NotFound(f"hold {hold_id} not found", field="holdId")
    if hold.status != HoldStatus.PENDING:
        raise Conflict(f"hold {hold_id} is {hold.status}, not pending", field="holdId")
    if hold.expires_at <= datetime.now(UTC):
        raise Conflict(f"hold {hold_id} expired at {hold.expires_at.isoformat()}",
                       field="holdId")
    return hold


@dataclass(frozen=True, slots=True)
class _Release:
    """A hold's release: its account and site limit (locked, figures from before) and the
    writes, for ``_finish`` with the caller's own."""

    account: CreditAccount
    site_limit: SiteLimit | None
    writes: list[_Write]

    async def evaluate(self, hold: Hold) -> None:
        """The credit policy, once the writes are done."""
        captured = hold.captured_minor
        await _evaluate_policy(self.account, self.site_limit, held=-hold.amount_minor,
                               posted=captured, spend_minor=captured)


async def _release(hold: Hold, captured_minor: int, status: HoldStatus, *,
                   tell: bool = True) -> _Release:
    """Move a pending hold to its final status and its captured part into the balance.
    ``tell``: the outbox message too (a capture writes its own, with the entry)."""
    account = await lock_account(account_id=hold.account_id)
    site_limit = await _site_limit(account, hold.site_id, lock=True)
    hold.status = status
    hold.captured_minor = captured_minor
    hold.updated_at = datetime.now(UTC)

    def hold_orm() -> Awaitable[None]:
        return hold.save(update_fields=["status", "captured_minor", "updated_at"])

    writes = [*_moves(account, site_limit, -hold.amount_minor, captured_minor),
              _Write(_HOLD_DONE_SQL, [str(status), captured_minor, hold.updated_at, hold.id],
                     hold_orm)]
    if tell:
        writes.append(_tell(account.customer_id))
    return _Release(account, site_limit, writes)


async def capture(
    actor: Actor, hold_id: Any, amount_minor: int | None = None, currency: str | None = None,
    *, idempotency_key: str | None = None,
) -> Hold:
    """Capture all or part of a pending hold as a charge; the rest is released."""
    request = {"hold_id": str(hold_id), "amount_minor": amount_minor, "currency": currency}

    async def run() -> dict[str, Any]:
        hold = await _locked_pending_hold(hold_id)
        amount = hold.amount_minor if amount_minor is None else amount_minor
        if currency is not None and currency != hold.currency:
            currency_exponent(currency)
            raise BadInput(f"currency {currency} differs from the hold's {hold.currency}",
                           field="amount.currency")
        _check_amount(amount)
        if amount > hold.amount_minor:
            raise BadInput(
                f"capture of {format_minor(amount, hold.currency)} exceeds the held "
                f"{format_minor(hold.amount_minor, hold.currency)} {hold.currency}",
                field="amount",
            )
        before = hold_snapshot(hold)
        release = await _release(hold, amount, HoldStatus.CAPTURED, tell=False)
        account, writes = release.account, release.writes
        values: dict[str, Any] = {
            "account_id": account.id, "site_id": hold.site_id, "kind": EntryKind.CHARGE,
            "amount_minor": amount, "currency": hold.currency,
            "source_type": _source_type(actor), "source_id": actor.id,
            "idempotency_key": idempotency_key, "hold_id": hold.id,
            "external_ref": hold.reference, "occurred_at": datetime.now(UTC),
            "description": "capture of hold"}
        stream = customer_stream(account.customer_id)
        event = "ledger.entry.posted"
        entry = _new(LedgerEntry, id=uuid.uuid4(), **values)
        writes += [_insert(entry), _tell(account.customer_id, event,
                                         entry_event(entry, account.customer_id))]
        await audit.record(actor, "hold.capture", object_type="hold", object_id=hold.id,
                           before=before, after=hold_snapshot(hold) | {"entry_id": str(entry.id)},
                           stream=stream, head=await _finish(writes, stream))
        await release.evaluate(hold)
        captured.append(hold)
        return {"hold_id": str(hold.id)}

    captured: list[Hold] = []
    outcome = await idempotency.run_once(actor, "hold.capture", idempotency_key, request, run)
    # A replay loads the hold as it is now; a fresh capture has it in hand.
    return captured[0] if captured else await Hold.get(id=outcome["hold_id"])


async def void(actor: Actor, hold_id: Any) -> Hold:
    hold = await _locked_pending_hold(hold_id)
    before = hold_snapshot(hold)
    release = await _release(hold, 0, HoldStatus.VOIDED)
    stream = customer_stream(release.account.customer_id)
    await audit.record(actor, "hold.void", object_type="hold", object_id=hold.id, before=before,
                       after=hold_snapshot(hold), stream=stream,
                       head=await _finish(release.writes, stream))
    await release.evaluate(hold)
    return hold


async def expire_holds(now: datetime | None = None, batch: int = 500) -> int:
    """Release pending holds past their deadline, one transaction each; return how many."""
    now = now or datetime.now(UTC)
    due = await Hold.filter(status=HoldStatus.PENDING, expires_at__lte=now).limit(batch) \
        .values_list("id", flat=True)
    expired = 0
    for hold_id in due:
        async with in_transaction():
            hold = await Hold.filter(id=hold_id).select_for_update().first()
            if hold is None or hold.status != HoldStatus.PENDING:
                continue  # captured or voided since we looked
            before = hold_snapshot(hold)
            release = await _release(hold, 0, HoldStatus.EXPIRED)
            stream = customer_stream(release.account.customer_id)
            await audit.record(SYSTEM_ACTOR, "hold.expire", object_type="hold",
                               object_id=hold.id, before=before, after=hold_snapshot(hold),
                               stream=stream, head=await _finish(release.writes, stream))
            await release.evaluate(hold)
            expired += 1
    return expired


# --- entries --------------------------------------------------------------


async def post_entry(
    actor: Actor,
    customer_id: Any,
    kind: EntryKind,
    amount_minor: int,
    currency: str,
    *,
    site_id: Any = None,
    occurred_at: datetime | None = None,
    external_ref: str | None = None,
    description: str | None = None,
    idempotency_key: str | None = None,
    enforce_limit: bool = True,
    original: Original | None = None,
    invoice_number: str | None = None,
) -> LedgerEntry | Declined:
    """Post a movement. ``amount_minor`` is a magnitude except for adjustments, which are signed.

    Charges and invoices are declined over the limit unless ``enforce_limit`` is
    off (a charge that already happened): then they post and are flagged.
    ``original`` records the amount, currency and FX rate a converted amount came from.
    A payment is applied to the invoice ``invoice_number`` names first, then to the
    customer's open invoices oldest first (billing/allocation.py).
    """
    if kind == EntryKind.REVERSAL:
        raise BadInput("reversals are made with reverseLedgerEntry", field="kind")
    if kind == EntryKind.ADJUSTMENT:
        if amount_minor == 0:
            raise BadInput("amount must not be zero", field="amount")
        _check_amount(abs(amount_minor))
        signed = amount_minor
    else:
        _check_amount(amount_minor)
        signed = _ENTRY_SIGN[kind] * amount_minor
    currency_exponent(currency)
    check_aware(occurred_at, "occurredAt")
    now = datetime.now(UTC)
    if occurred_at is not None and occurred_at > now + timedelta(minutes=5):
        raise BadInput("occurredAt must not be in the future", field="occurredAt")
    request = {"customer_id": str(customer_id), "kind": str(kind), "amount_minor": amount_minor,
               "currency": currency, "site_id": str(site_id) if site_id else None,
               "external_ref": external_ref, "description": description,
               "occurred_at": occurred_at.isoformat() if occurred_at else None}
    if original is not None:  # keeps hashes of records made before FX conversion existed
        request["original"] = original.to_json()
    if invoice_number is not None:  # likewise for records made before invoices existed
        if kind != EntryKind.PAYMENT:
            raise BadInput("only a payment names an invoice", field="invoiceNumber")
        billing.check_number(invoice_number)
        request["invoice_number"] = invoice_number

    async def run() -> dict[str, Any]:
        account = await lock_account(customer_id=customer_id)
        _check_currency(account, currency)
        await site_service.require_site(site_id)
        invoice = None if invoice_number is None else \
            await billing.payable_invoice(account, invoice_number)
        site_limit = await _site_limit(account, site_id, lock=True)
        over_limit = False
        if kind in _LIMIT_CHECKED_KINDS:
            customer = account.customer
            decline = _status_decline(customer, account) or _limit_decline(
                account, site_limit, signed)
            if decline and enforce_limit:
                stream = customer_stream(customer_id)
                await audit.record(actor, "entry.declined", object_type="credit_account",
                                   object_id=customer_id, after={
                                       "kind": str(kind), "amount_minor": signed,
                                       "reason": decline.reason.value},
                                   stream=stream, head=await _finish([], stream))
                return decline.to_json()
            over_limit = decline is not None
        entry = await _append(actor, account, site_limit, kind=kind, amount_minor=signed,
                              site_id=site_id, occurred_at=occurred_at or now,
                              external_ref=external_ref,
                              description=description, idempotency_key=idempotency_key,
                              over_limit=over_limit, original=original, invoice=invoice)
        posted.append(entry)
        return {"entry_id": str(entry.id)}

    posted: list[LedgerEntry] = []
    outcome = await idempotency.run_once(actor, "entry.post", idempotency_key, request, run)
    if "declined" in outcome:
        return Declined.from_json(outcome)
    # A replay loads the first entry; a fresh one is in hand.
    return posted[0] if posted else await LedgerEntry.get(id=outcome["entry_id"])


async def _append(
    actor: Actor, account: CreditAccount, site_limit: SiteLimit | None, *, kind: EntryKind,
    amount_minor: int, site_id: Any, occurred_at: datetime, external_ref: str | None,
    description: str | None, idempotency_key: str | None, over_limit: bool = False,
    reverses: LedgerEntry | None = None, original: Original | None = None,
    refunds: LedgerEntry | None = None, invoice: Any = None,
) -> LedgerEntry:
    """Append one entry and move the cached balances with it (account row already locked,
    by ``lock_account``), and allocate what it moves to invoices (``invoice``: the one a
    payment names)."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(), "account_id": account.id, "site_id": site_id, "kind": kind,
        "amount_minor": amount_minor, "currency": account.currency,
        "source_type": _source_type(actor), "source_id": actor.id,
        "idempotency_key": idempotency_key, "external_ref": external_ref,
        "description": description, "occurred_at": occurred_at, "over_limit": over_limit,
        "reverses_id": reverses.id if reverses else None,
        "refunds_id": refunds.id if refunds else None,
        "original_amount_minor": original.amount_minor if original else None,
        "original_currency": original.currency if original else None,
        "fx_rate": original.fx_rate if original else None,
    }
    stream = customer_stream(account.customer_id)
    event = "ledger.entry.posted"
    entry: LedgerEntry = _new(LedgerEntry, **values)
    writes = [*_moves(account, site_limit, 0, amount_minor), _insert(entry),
              _tell(account.customer_id, event, entry_event(entry, account.customer_id))]
    action = "entry.reverse" if reverses else "entry.post"
    await audit.record(actor, action, object_type="ledger_entry", object_id=entry.id,
                       after=entry_snapshot(entry), stream=stream,
                       head=await _finish(writes, stream))
    await billing.entry_appended(actor, account, entry, invoice=invoice)
    spend = amount_minor if kind == EntryKind.CHARGE else 0
    await _evaluate_policy(account, site_limit, held=0, posted=amount_minor,
                           spend_minor=spend)
    return entry


async def reverse_entry(
    actor: Actor, entry_id: Any, *, reason: str | None = None, idempotency_key: str | None = None
) -> LedgerEntry:
    """Append the exact opposite of an entry; each entry can be reversed once."""
    request = {"entry_id": str(entry_id), "reason": reason}

    async def run() -> dict[str, Any]:
        original = await LedgerEntry.get_or_none(id=entry_id)
        if original is None:
            raise NotFound(f"ledger entry {entry_id} not found", field="entryId")
        account = await lock_account(account_id=original.account_id)
        if original.kind == EntryKind.PAYMENT and await refunded_minor(original) > 0:
            # A reversal gives back the whole payment; with refunds on top, more than
            # was paid would go back.
            raise Conflict(f"ledger entry {entry_id} is a payment with refunds; reverse the "
                           "refunds first", field="entryId")
        entry = await _reverse(actor, account, original, reason=reason,
                               idempotency_key=idempotency_key)
        return {"entry_id": str(entry.id)}

    outcome = await idempotency.run_once(actor, "entry.reverse", idempotency_key, request, run)
    return await LedgerEntry.get(id=outcome["entry_id"])


async def _reverse(actor: Actor, account: CreditAccount, original: LedgerEntry, *,
                   reason: str | None, idempotency_key: str | None) -> LedgerEntry:
    """The reversal of ``original`` (its account row locked by the caller)."""
    if original.kind == EntryKind.REVERSAL:
        raise Conflict("a reversal cannot be reversed; post a new entry instead",
                       field="entryId")
    if await LedgerEntry.exists(reverses_id=original.id):
        raise Conflict(f"ledger entry {original.id} is already reversed", field="entryId")
    site_limit = await _site_limit(account, original.site_id, lock=True)
    return await _append(
        actor, account, site_limit, kind=EntryKind.REVERSAL,
        amount_minor=-original.amount_minor, site_id=original.site_id,
        occurred_at=datetime.now(UTC), external_ref=original.external_ref,
        description=reason or f"reversal of {original.id}", idempotency_key=idempotency_key,
        reverses=original,
    )


async def refunded_minor(payment: LedgerEntry) -> int:
    """How much of a payment has gone back: all of it once reversed, else its refunds
    less the refunds that were themselves reversed. Exact only under the account lock."""
    if await LedgerEntry.exists(reverses_id=payment.id):
        return -payment.amount_minor
    refunds = await LedgerEntry.filter(refunds_id=payment.id).values_list("id", "amount_minor")
    if not refunds:
        return 0
    undone = await _sum(LedgerEntry.filter(reverses_id__in=[r[0] for r in refunds]),
                        "amount_minor")
    refunds_minor: int = sum(r[1] for r in refunds)
    return refunds_minor + undone


class PaymentNotFound(NotFound):
    """The payment a refund names is not in the ledger (yet)."""


class RefundExceedsPayment(Conflict):
    """Refunds of a payment may not give back more than it paid."""


@dataclass(frozen=True, slots=True)
class Refund:
    payment: LedgerEntry
    entry: LedgerEntry | None  # None: a running total that held nothing new


async def refund_payment(
    actor: Actor,
    customer_id: Any,
    *,
    payment_ref: str,
    amount_minor: int,
    running_total: bool = False,
    occurred_at: datetime | None = None,
    description: str | None = None,
    idempotency_key: str | None = None,
    original: Original | None = None,
) -> Refund:
    """Give money back from the payment this actor posted under ``payment_ref``.

    Refunds of one payment are serialised on the customer's account row, so the
    amount already refunded is read under the lock and refunds never exceed the
    payment, however many arrive at once. A ``running_total`` (Stripe's
    ``amount_refunded``) applies only the part not yet applied; a lower total
    arriving late applies nothing. A refund of the whole payment at once is
    its reversal.
    """
    _check_amount(amount_minor)
    check_aware(occurred_at, "occurredAt")
    request = {"customer_id": str(customer_id), "payment_ref": payment_ref,
               "amount_minor": amount_minor, "running_total": running_total,
               "occurred_at": occurred_at.isoformat() if occurred_at else None,
               "description": description,
               "original": original.to_json() if original else None}

    async def run() -> dict[str, Any]:
        account = await lock_account(customer_id=customer_id)
        payment = await LedgerEntry.filter(
            account_id=account.id, kind=EntryKind.PAYMENT, external_ref=payment_ref,
            source_id=actor.id).order_by("recorded_at").first()
        if payment is None:
            raise PaymentNotFound(f"payment {payment_ref!r} is not in the ledger",
                                  field="reference")
        paid = -payment.amount_minor
        refunded = await refunded_minor(payment)
        amount = amount_minor - refunded if running_total else amount_minor
        if amount <= 0:
            return {"payment_id": str(payment.id), "entry_id": None}
        if refunded + amount > paid:
            raise RefundExceedsPayment(
                f"refunds of payment {payment_ref!r} would exceed its amount: "
                f"{format_minor(refunded, account.currency)} refunded already of "
                f"{format_minor(paid, account.currency)} {account.currency}",
                field="amount")
        if refunded == 0 and amount == paid and original is None:
            entry = await _reverse(actor, account, payment,
                                   reason=description or "refunded in full",
                                   idempotency_key=idempotency_key)
        else:
            entry = await _append(
                actor, account, await _site_limit(account, payment.site_id, lock=True),
                kind=EntryKind.REFUND, amount_minor=amount, site_id=payment.site_id,
                occurred_at=occurred_at or datetime.now(UTC), external_ref=payment_ref,
                description=description, idempotency_key=idempotency_key, original=original,
                refunds=payment)
        return {"payment_id": str(payment.id), "entry_id": str(entry.id)}

    outcome = await idempotency.run_once(actor, "entry.refund", idempotency_key, request, run)
    payment = await LedgerEntry.get(id=outcome["payment_id"])
    entry = await LedgerEntry.get(id=outcome["entry_id"]) if outcome["entry_id"] else None
    return Refund(payment, entry)


# --- reading --------------------------------------------------------------


async def accounts_by_customer(customer_ids: list[Any]) -> list[CreditAccount | None]:
    """Batch function (DataLoader): each customer's account, in key order."""
    return one_per_key(await CreditAccount.filter(customer_id__in=customer_ids), customer_ids,
                       "customer_id")


async def accounts_by_id(account_ids: list[Any]) -> list[CreditAccount | None]:
    """Batch function (DataLoader): each account, in key order."""
    return one_per_key(await CreditAccount.filter(id__in=account_ids), account_ids, "id")


async def site_limits_by_account(account_ids: list[Any]) -> list[list[SiteLimit]]:
    rows = await SiteLimit.filter(account_id__in=account_ids).order_by("id")
    return many_per_key(rows, account_ids, "account_id")


async def pending_holds_by_account(account_ids: list[Any]) -> list[list[Hold]]:
    rows = await Hold.filter(account_id__in=account_ids, status=HoldStatus.PENDING) \
        .order_by("created_at")
    return many_per_key(rows, account_ids, "account_id")


@dataclass(frozen=True, slots=True)
class EntryFilter:
    kinds: list[EntryKind] | None = None
    site_id: Any = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_entries(
    customer_id: Any, flt: EntryFilter, *, window: Window, max_page_size: int
) -> Page:
    """A customer's entries, newest recorded first."""
    window.check(max_page_size)
    account = await get_account(customer_id)
    query = LedgerEntry.filter(account_id=account.id)
    if flt.kinds:
        query = query.filter(kind__in=list(flt.kinds))
    if flt.site_id is not None:
        query = query.filter(site_id=flt.site_id)
    check_aware(flt.occurred_from, "occurredFrom")
    check_aware(flt.occurred_to, "occurredTo")
    if flt.occurred_from and flt.occurred_to and flt.occurred_from > flt.occurred_to:
        raise BadInput("occurredFrom is after occurredTo", field="occurredFrom")
    if flt.occurred_from:
        query = query.filter(occurred_at__gte=flt.occurred_from)
    if flt.occurred_to:
        query = query.filter(occurred_at__lt=flt.occurred_to)
    return await page_newest_first(query, time_field="recorded_at", window=window,
                                   id_type=uuid.UUID)


# --- reading for a principal ------------------------------------------------
# As in customer/service.py: a hold or an entry the caller may not see answers
# exactly as one that does not exist.

_OWNER_PARTNER = "account__customer__partner_id"


def readable_accounts(principal: Principal) -> QuerySet[CreditAccount]:
    return readable_by(principal, CreditAccount.all(), "customer__partner_id")


def readable_holds(principal: Principal) -> QuerySet[Hold]:
    return readable_by(principal, Hold.all(), _OWNER_PARTNER)


def readable_entries(principal: Principal) -> QuerySet[LedgerEntry]:
    return readable_by(principal, LedgerEntry.all(), _OWNER_PARTNER)


async def get_readable_account(
    principal: Principal, account_id: Any, field: str = "id"
) -> CreditAccount:
    account = await readable_accounts(principal).get_or_none(id=parse_uuid(account_id, field))
    if account is None:
        raise NotFound(f"credit account {account_id} not found", field=field)
    return account


async def get_readable_hold(principal: Principal, hold_id: Any, field: str = "holdId") -> Hold:
    hold = await readable_holds(principal).get_or_none(id=parse_uuid(hold_id, field))
    if hold is None:
        raise NotFound(f"hold {hold_id} not found", field=field)
    return hold


async def get_readable_entry(
    principal: Principal, entry_id: Any, field: str = "entryId"
) -> LedgerEntry:
    entry = await readable_entries(principal).get_or_none(id=parse_uuid(entry_id, field))
    if entry is None:
        raise NotFound(f"ledger entry {entry_id} not found", field=field)
    return entry
