"""The rules the ledger evaluates on every write, cached per process.

The cache is keyed by ``PolicyRevision.revision``: every change to alert rules, velocity
rules, segment policies or the approval policy calls ``bump_revision`` in its own
transaction, and a write reloads the rules only when the revision it reads (on PostgreSQL
in the same statement as the account lock, so at no extra round trip) differs from the
cached one. A write by a customer no rule concerns costs no query beyond that.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F

from ccm_gateway.customer.models import Customer
from ccm_gateway.policy.models import AlertRule, PolicyRevision, VelocityRule

# The revision the account lock read with the row (PostgreSQL), for the evaluation of the
# same write: (account id, revision), taken once, so no other write uses a stale hint.
_REVISION_HINT: ContextVar[tuple[Any, int] | None] = ContextVar("policy_revision_hint",
                                                                default=None)


async def bump_revision() -> int:
    """Raise the policy revision; call in the transaction of every rule or policy change,
    so every process reloads its rules at its next write. Returns the new revision."""
    await PolicyRevision.filter(id=1).update(revision=F("revision") + 1,
                                             updated_at=datetime.now(UTC))
    return await current_revision()


async def current_revision() -> int:
    row = await PolicyRevision.filter(id=1).only("revision").first()
    return row.revision if row is not None else 0


def hint_revision(account_id: Any, revision: int) -> None:
    """The revision read with the account's lock, for the evaluation of this write."""
    _REVISION_HINT.set((account_id, revision))


def _take_hint(account_id: Any) -> int | None:
    hint = _REVISION_HINT.get()
    if hint is None:
        return None
    _REVISION_HINT.set(None)
    return hint[1] if hint[0] == account_id else None


def _most_specific(rules: Iterable[Any], key: Any, customer: Customer) -> dict[Any, Any]:
    """Per ``key(rule)``: the customer's own rule, else its segment's, else the global one;
    a disabled winner switches the key off (dropped)."""
    ranked: dict[Any, tuple[int, Any]] = {}
    for rule in rules:
        if rule.customer_id is not None:
            if rule.customer_id != customer.id:
                continue
            rank = 2
        elif rule.segment is not None:
            if rule.segment != customer.segment:
                continue
            rank = 1
        else:
            rank = 0
        k = key(rule)
        if k not in ranked or ranked[k][0] < rank:
            ranked[k] = (rank, rule)
    return {k: rule for k, (_, rule) in ranked.items() if rule.enabled}


@dataclass(slots=True)
class Rules:
    """Every alert and velocity rule of one revision, indexed by scope so a write finds the
    few that apply to its customer with dictionary lookups; what applies is worked out once
    per segment (and per customer with rules of its own), then kept with the revision."""

    revision: int
    alert_rules: list[AlertRule]
    velocity_rules: list[VelocityRule]
    _alert_scopes: dict[tuple[str, Any], list[AlertRule]] = field(default_factory=dict)
    _velocity_scopes: dict[tuple[str, Any], list[VelocityRule]] = field(default_factory=dict)
    _alert_found: dict[tuple[Any, Any], dict[tuple[Any, int], AlertRule]] = field(
        default_factory=dict)
    _velocity_found: dict[tuple[Any, Any], list[VelocityRule]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rules, scopes in ((self.alert_rules, self._alert_scopes),
                              (self.velocity_rules, self._velocity_scopes)):
            for rule in rules:
                scopes.setdefault(_scope(rule), []).append(rule)  # type: ignore[arg-type]

    def _candidates(self, scopes: dict[tuple[str, Any], list[Any]],
                    customer: Customer) -> list[Any]:
        return [*scopes.get(("global", None), ()),
                *scopes.get(("segment", customer.segment), ()),
                *scopes.get(("customer", customer.id), ())]

    @staticmethod
    def _key(scopes: dict[tuple[str, Any], list[Any]], customer: Customer) -> tuple[Any, Any]:
        """Customers of one segment without rules of their own have the same rules."""
        own = customer.id if ("customer", customer.id) in scopes else None
        return customer.segment, own

    def alert_rules_for(self, customer: Customer) -> dict[tuple[Any, int], AlertRule]:
        """The thresholds in force for the customer, keyed by (site id or None, threshold);
        shared, not to be changed."""
        key = self._key(self._alert_scopes, customer)
        found = self._alert_found.get(key)
        if found is None:
            found = self._alert_found[key] = _most_specific(
                self._candidates(self._alert_scopes, customer),
                lambda r: (r.site_id, r.threshold_bp), customer)
        return found

    def velocity_rules_for(self, customer: Customer) -> list[VelocityRule]:
        """The velocity rules in force: per (metric, window), the most specific one;
        shared, not to be changed."""
        key = self._key(self._velocity_scopes, customer)
        found = self._velocity_found.get(key)
        if found is None:
            found = self._velocity_found[key] = list(_most_specific(
                self._candidates(self._velocity_scopes, customer),
                lambda r: (str(r.metric), r.window_seconds), customer).values())
        return found


def _scope(rule: AlertRule | VelocityRule) -> tuple[str, Any]:
    if rule.customer_id is not None:
        return ("customer", rule.customer_id)
    if rule.segment is not None:
        return ("segment", rule.segment)
    return ("global", None)


_cache: Rules | None = None


async def load(*, account_id: Any = None) -> Rules:
    """The rules in force: the cached copy, or reloaded when the revision moved. The
    revision is the one read with ``account_id``'s lock, if any, else read here."""
    global _cache
    revision = _take_hint(account_id) if account_id is not None else None
    if revision is None:
        revision = await current_revision()
    cached = _cache
    if cached is not None and cached.revision == revision:
        return cached
    # Read after the revision, so the copy is at least as new as the revision it carries;
    # a newer one only means one reload too many.
    fresh = Rules(revision, list(await AlertRule.all().order_by("created_at", "id")),
                  list(await VelocityRule.all().order_by("created_at", "id")))
    _cache = fresh
    return fresh


def forget() -> None:
    """Drop the cached rules (tests that change rules behind the revision's back)."""
    global _cache
    _cache = None
