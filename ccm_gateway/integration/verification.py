"""What `ccm-gateway verify` checks in the inbox: every APPLIED event has exactly one effect.

An applied event's ledger effect is the entry carrying its idempotency key in
its integration's name: exactly one, and it is the entry the event's result
names (none for a running-total refund that held nothing new). A payment that
settled one of our collections is the collection's: its entry carries the collection's
key, whichever of the event and the status answer settled it, and the event's result
names that collection and its entry. A ledger entry
an integration wrote must belong to an applied event. Balance reports and
access events point back at the event that made them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.collection.models import Collection
from ccm_gateway.integration.models import AccessEvent, BalanceReport, InboundEvent, InboundStatus
from ccm_gateway.integration.processing import idempotency_key
from ccm_gateway.ledger.models import LedgerEntry, SourceType
from ccm_gateway.ledger.verification import Problem

_RECORDS = {"balance_report_id": BalanceReport, "access_event_id": AccessEvent}


async def verify_inbox() -> tuple[int, list[Problem]]:
    """How many applied events were checked, and what is wrong with them."""
    async with in_transaction():
        events = await InboundEvent.filter(status=InboundStatus.APPLIED).values(
            "id", "external_id", "result", slug="integration__slug")
        entries = await LedgerEntry.filter(source_type=SourceType.INTEGRATION).values(
            "id", "source_id", "idempotency_key")
        records = {name: {str(r["id"]): str(r["inbound_event_id"])
                          for r in await model.all().values("id", "inbound_event_id")}
                   for name, model in _RECORDS.items()}
        collections = {str(c["id"]): str(c["payment_entry_id"])
                       for c in await Collection.filter(payment_entry_id__not_isnull=True)
                       .values("id", "payment_entry_id")}
    by_key: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for e in entries:
        by_key[(e["source_id"], e["idempotency_key"])].append(str(e["id"]))
    claimed: set[tuple[str, str | None]] = set()
    problems = []
    for event in events:
        key = (event["slug"], idempotency_key(event["slug"], event["external_id"]))
        claimed.add(key)
        problems += _check_event(event, by_key.get(key, []), records, collections)
    problems += [Problem("inbox", entry_id, f"entry written by integration {slug} under key "
                         f"{k!r} belongs to no applied event")
                 for (slug, k), ids in by_key.items() if (slug, k) not in claimed
                 for entry_id in ids]
    return len(events), problems


def _check_event(event: dict[str, Any], effects: list[str],
                 records: dict[str, dict[str, str]],
                 collections: dict[str, str]) -> list[Problem]:
    result, event_id = event["result"] or {}, str(event["id"])
    if "collection_id" in result:
        settled = collections.get(str(result["collection_id"]))
        if effects or settled is None or settled != str(result.get("entry_id")):
            return [Problem("inbox", event_id, f"settled collection {result['collection_id']} "
                            f"with payment {result.get('entry_id')}, but the collection's "
                            f"payment is {settled or 'none'} and {len(effects)} entries "
                            "carry the event's own key")]
        return []
    named = result.get("entry_id")
    if named is not None or result.get("nothing_new"):
        expected = [named] if named else []
        if sorted(effects) != expected:
            return [Problem("inbox", event_id, f"applied with {len(effects)} ledger entries "
                            f"({', '.join(sorted(effects)) or 'none'}); its result names "
                            f"{named or 'none'}")]
        return []
    if effects:
        return [Problem("inbox", event_id, f"applied without a ledger effect in its result, "
                        f"yet {len(effects)} entries carry its key")]
    for name, made_by in records.items():
        if name in result and made_by.get(str(result[name])) != event_id:
            return [Problem("inbox", event_id, f"its {name} {result[name]} does not exist or "
                            "belongs to another event")]
    return []
