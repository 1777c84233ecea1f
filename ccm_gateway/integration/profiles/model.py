"""What a loaded profile is, and what reading a callback through it yields."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

CANONICAL_TYPES = ("payment.succeeded", "payment.failed", "payment.refunded",
                   "charge.posted", "balance.reported", "access.attempted")
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 500

# (required fields, optional fields) of each canonical type's mapping.
FIELD_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "payment.succeeded": (("customer", "amount", "currency"),
                          ("reference", "site", "description", "invoice")),
    "payment.failed": (("customer", "amount", "currency"),
                       ("reference", "reason", "site", "description")),
    "payment.refunded": (("customer", "amount", "currency", "reference"),
                         ("reason", "site", "description")),
    "charge.posted": (("customer", "amount", "currency"), ("site", "reference", "description")),
    "balance.reported": (("customer", "amount", "currency"),
                         ("site", "reference", "description")),
    "access.attempted": (("customer", "granted", "gate"),
                         ("site", "reason", "reference", "description")),
}


@dataclass(frozen=True)
class SignatureSpec:
    scheme: str
    tolerance_seconds: int = 300
    # hmac only: header names (lower case), digest and how the signature is written.
    header: str | None = None
    timestamp_header: str | None = None
    id_header: str | None = None  # where {id} comes from, when the payload uses it
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    secret_encoding: str = "utf8"  # noqa: S105 - an encoding name, not a secret
    # The signed content: literal text and the placeholders "{timestamp}", "{body}", "{id}".
    payload: tuple[str, ...] = ("{timestamp}", ".", "{body}")


@dataclass(frozen=True)
class ValueSource:
    """Where an envelope value is: a request header, or a path into the body."""

    header: str | None = None
    path: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"header {self.header}" if self.header else ".".join(self.path)


@dataclass(frozen=True)
class FieldSpec:
    # customer, amount, currency, site, reference, reason, granted, gate, description, invoice
    name: str
    path: tuple[str, ...] = ()  # empty when the value is a constant
    value: str | bool | None = None
    amount_format: str | None = None  # amount only: minor | decimal
    upper: bool = False
    # amount of payment.refunded only: the running total refunded so far for the
    # reference (Stripe's amount_refunded), not this refund's own amount.
    total: bool = False

    def describe(self) -> str:
        return ".".join(self.path) if self.path else f"{self.name} (constant)"


@dataclass(frozen=True)
class EventMapping:
    vendor_type: str
    canonical: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)

    @functools.cached_property
    def _by_name(self) -> dict[str, FieldSpec]:
        # normalise() asks for each field once per callback, at the edge and in the worker.
        return {f.name: f for f in self.fields}


PULL_CREDENTIALS = ("integration_secret",)


@dataclass(frozen=True)
class PullAuth:
    """How a pull authenticates. The profile names the scheme, never the secret: the
    credential is the integration's own stored signing secret (``integration_secret``)."""

    scheme: str  # none | bearer | basic | header
    credential: str | None = None  # one of PULL_CREDENTIALS; None for scheme none
    header: str | None = None  # scheme header: the header (lower case) that carries it
    username: str | None = None  # scheme basic: the user name; the password is the credential


@dataclass(frozen=True)
class TimeSpec:
    path: tuple[str, ...]
    time_format: str  # unix | iso8601


@dataclass(frozen=True)
class PullSpec:
    """Where the scheduled sync reads the vendor's balances (webhooks/README.md, ``pull``)."""

    url: str
    method: str  # GET | POST
    body: str | None  # POST only: the JSON text sent
    auth: PullAuth
    timeout_seconds: int
    balances: tuple[str, ...]  # path to the list of balances in each page
    # Read from each balance as a balance.reported mapping: customer, amount, currency.
    mapping: EventMapping
    as_of: TimeSpec | None  # in each balance; None: when the page was fetched
    next: tuple[str, ...] | None  # path to the next page's URL (or cursor); None: one page
    next_param: str | None  # set: ``next`` is a cursor sent in this query parameter
    max_pages: int


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    body_format: str
    content_types: tuple[str, ...]
    tolerance_seconds: int
    scheme: str
    signature: SignatureSpec
    event_id: ValueSource
    event_type: ValueSource
    event_time: ValueSource | None
    time_format: str | None
    events: tuple[EventMapping, ...]
    origin: str
    pull: PullSpec | None = None

    def mapped_types(self) -> tuple[str, ...]:
        return tuple(m.vendor_type for m in self.events)

    def mapping_for(self, vendor_type: str) -> EventMapping | None:
        return next((m for m in self.events if m.vendor_type == vendor_type), None)


@dataclass(frozen=True)
class Envelope:
    external_id: str
    event_type: str | None
    occurred_at: datetime | None


@dataclass(frozen=True)
class CanonicalEvent:
    type: str
    customer_ref: str
    amount_minor: int | None
    currency: str | None
    site_code: str | None
    reference: str | None
    reason: str | None
    granted: bool | None
    gate: str | None
    occurred_at: datetime | None
    description: str | None
    # The amount is the running total refunded for ``reference``; processing applies
    # the difference from what it has refunded already.
    amount_is_total: bool = False
    # The number of our invoice a payment pays (payment.succeeded), as the vendor carries it.
    invoice_number: str | None = None
