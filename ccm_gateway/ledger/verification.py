"""What `ccm-gateway verify` checks in the ledger, recomputed from the rows themselves.

- cached balances equal their entries and pending holds (invariant 2)
- refunds and reversals of a payment never exceed it (invariant 10)
- a hold's capture never exceeds its amount, and the charges made from it equal it
- each entry is reversed at most once, by exactly its opposite, and no reversal is reversed
- every idempotency record points at what it produced (invariant 4)

Each check reads in bulk and reports every problem it finds, not just the first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from ccm_gateway.customer.models import Customer
from ccm_gateway.kit.idempotency import IdempotencyRecord
from ccm_gateway.ledger.models import (
    CreditAccount,
    EntryKind,
    Hold,
    HoldStatus,
    LedgerEntry,
    SiteLimit,
)

# Ids per IN (...) list: well under SQLite's and asyncpg's parameter limits.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    customer_id: str
    what: str
    cached_minor: int
    computed_minor: int


@dataclass(frozen=True, slots=True)
class Problem:
    """One inconsistency: which check found it, on which object, and what is wrong."""

    check: str
    object_id: str
    problem: str


async def verify_balances() -> tuple[int, list[BalanceMismatch]]:
    """Recompute every cached balance from entries and pending holds."""
    async with in_transaction():
        posted = await _grouped(LedgerEntry.all(), "account_id", "amount_minor")
        held = await _grouped(Hold.filter(status=HoldStatus.PENDING), "account_id", "amount_minor")
        site_posted = await _grouped(LedgerEntry.filter(site_id__isnull=False),
                                     ("account_id", "site_id"), "amount_minor")
        site_held = await _grouped(Hold.filter(status=HoldStatus.PENDING, site_id__isnull=False),
                                   ("account_id", "site_id"), "amount_minor")
        accounts = await CreditAccount.all().values(
            "id", "customer_id", "posted_balance_minor", "held_minor")
        site_limits = await SiteLimit.all().values(
            "account_id", "site_id", "posted_minor", "held_minor")
    by_account = {a["id"]: str(a["customer_id"]) for a in accounts}
    problems = []
    for a in accounts:
        for what, cached, computed in (
            ("posted balance", a["posted_balance_minor"], posted.get(a["id"], 0)),
            ("held", a["held_minor"], held.get(a["id"], 0)),
        ):
            if cached != computed:
                problems.append(BalanceMismatch(str(a["customer_id"]), what, cached, computed))
    for s in site_limits:
        key = (s["account_id"], s["site_id"])
        for what, cached, computed in (
            (f"site {s['site_id']} posted", s["posted_minor"], site_posted.get(key, 0)),
            (f"site {s['site_id']} held", s["held_minor"], site_held.get(key, 0)),
        ):
            if cached != computed:
                problems.append(BalanceMismatch(by_account[s["account_id"]], what, cached,
                                                computed))
    return len(accounts), problems


async def _grouped(query: Any, key: str | tuple[str, ...], field: str) -> dict[Any, int]:
    keys = (key,) if isinstance(key, str) else key
    rows = await query.annotate(total=Sum(field)).group_by(*keys).values(*keys, "total")
    return {
        (row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)): int(row["total"] or 0)
        for row in rows
    }


async def verify_ledger() -> list[Problem]:
    """Every check below but the balances, in one read-only transaction."""
    async with in_transaction():
        return [*await _reversals(), *await _refunds(), *await _holds(),
                *await _idempotency_records()]


async def _reversals() -> list[Problem]:
    reversals = await LedgerEntry.filter(reverses_id__isnull=False).values(
        "id", "reverses_id", "amount_minor")
    originals = {e["id"]: e for e in await _entries_by_id({r["reverses_id"] for r in reversals})}
    problems = []
    count: dict[Any, int] = defaultdict(int)
    for r in reversals:
        count[r["reverses_id"]] += 1
        original = originals.get(r["reverses_id"])
        if original is None:
            continue  # the foreign key makes this impossible
        if original["kind"] == EntryKind.REVERSAL:
            problems.append(Problem("reversals", str(original["id"]),
                                    f"reversal {r['id']} reverses a reversal"))
        if r["amount_minor"] != -original["amount_minor"]:
            problems.append(Problem("reversals", str(original["id"]),
                                    f"reversal {r['id']} moves {r['amount_minor']}, not "
                                    f"{-original['amount_minor']}"))
    problems += [Problem("reversals", str(entry_id), f"reversed {n} times")
                 for entry_id, n in count.items() if n > 1]
    return problems


async def _refunds() -> list[Problem]:
    refunds = await LedgerEntry.filter(refunds_id__isnull=False).values(
        "id", "refunds_id", "amount_minor")
    back: dict[Any, int] = defaultdict(int)
    payment_of = {}
    for r in refunds:
        back[r["refunds_id"]] += r["amount_minor"]
        payment_of[r["id"]] = r["refunds_id"]
    # A reversed refund is money owed again; a reversed payment went back whole.
    reversals = await LedgerEntry.filter(reverses_id__isnull=False).values(
        "reverses_id", "amount_minor")
    for r in reversals:
        if r["reverses_id"] in payment_of:
            back[payment_of[r["reverses_id"]]] += r["amount_minor"]
    payments = {e["id"]: e for e in await _entries_by_id(
        set(back) | {r["reverses_id"] for r in reversals})}
    for r in reversals:
        payment = payments.get(r["reverses_id"])
        if payment is not None and payment["kind"] == EntryKind.PAYMENT:
            back[payment["id"]] += r["amount_minor"]
    problems = []
    for payment_id, total in back.items():
        payment = payments.get(payment_id)
        if payment is None:
            continue
        if payment["kind"] != EntryKind.PAYMENT:
            problems.append(Problem("refunds", str(payment_id),
                                    f"refunded, but it is a {payment['kind']}, not a payment"))
        elif total > -payment["amount_minor"]:
            problems.append(Problem("refunds", str(payment_id),
                                    f"refunds and reversals give back {total} of a payment of "
                                    f"{-payment['amount_minor']}"))
    return problems


async def _holds() -> list[Problem]:
    charged = await _grouped(LedgerEntry.filter(hold_id__isnull=False), "hold_id",
                             "amount_minor")
    holds = await Hold.filter(captured_minor__gt=0).values(
        "id", "amount_minor", "captured_minor")
    by_id = {h["id"]: h for h in holds}
    missing = set(charged) - set(by_id)
    for chunk in _chunks(missing):
        for h in await Hold.filter(id__in=chunk).values("id", "amount_minor", "captured_minor"):
            by_id[h["id"]] = h
    problems = []
    for hold_id, h in by_id.items():
        total = charged.get(hold_id, 0)
        if h["captured_minor"] > h["amount_minor"]:
            problems.append(Problem("holds", str(hold_id), f"captured {h['captured_minor']} of "
                                    f"a hold of {h['amount_minor']}"))
        if total > h["amount_minor"]:
            problems.append(Problem("holds", str(hold_id), f"charges of {total} from a hold of "
                                    f"{h['amount_minor']}"))
        if total != h["captured_minor"]:
            problems.append(Problem("holds", str(hold_id), f"captured {h['captured_minor']} "
                                    f"but charged {total}"))
    return problems


async def _idempotency_records() -> list[Problem]:
    records = await IdempotencyRecord.all().values("id", "scope", "key", "response")
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for name in ("entry_id", "hold_id", "customer_id", "payment_id"):
            if r["response"].get(name):
                wanted[name].add(r["response"][name])
    entry_keys = {str(e["id"]): e["idempotency_key"] for e in await _entries_by_id(
        wanted["entry_id"] | wanted["payment_id"])}
    found = {"entry_id": set(entry_keys), "payment_id": set(entry_keys),
             "hold_id": await _existing(Hold, wanted["hold_id"]),
             "customer_id": await _existing(Customer, wanted["customer_id"])}
    problems = []
    for r in records:
        response, where = r["response"], f"{r['scope']} {r['key']!r}"
        if not response:
            problems.append(Problem("idempotency", str(r["id"]),
                                    f"{where}: no outcome recorded"))
            continue
        for name, ids in found.items():
            target = response.get(name)
            if target and target not in ids:
                problems.append(Problem("idempotency", str(r["id"]),
                                        f"{where}: {name} {target} does not exist"))
        entry_id = response.get("entry_id")
        if entry_id in entry_keys and entry_keys[entry_id] != r["key"]:
            problems.append(Problem("idempotency", str(r["id"]),
                                    f"{where}: entry {entry_id} carries another key"))
    return problems


async def _entries_by_id(ids: set[Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(ids):
        rows += await LedgerEntry.filter(id__in=chunk).values(
            "id", "kind", "amount_minor", "idempotency_key")
    return rows


async def _existing(model: Any, ids: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        found |= {str(i) for i in await model.filter(id__in=chunk).values_list("id", flat=True)}
    return found


def _chunks(ids: set[Any]) -> list[list[Any]]:
    items = sorted(ids, key=str)
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]
