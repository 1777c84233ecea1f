"""Protocol profiles: each vendor's webhook format as a declarative YAML file, no code.

A profile says how a callback is signed, where its event id, type and time are, and how
each vendor event type maps onto a canonical event. webhooks/README.md documents the
format field by field. The flow of one callback through this module::

    verify(profile, headers, body, secrets, now=...)   -> None or SignatureRefused
    document = parse_body(profile, body)               -> dict or MalformedBody
    env = envelope(profile, headers, document)         -> Envelope or MalformedBody
    normalise(profile, env.event_type, document, env.occurred_at)
                                                       -> CanonicalEvent, None, MalformedBody

Errors: ``ProfileError`` (a ``BadInput``) for a profile that does not validate, naming
its origin, line and dotted field; ``SignatureRefused`` with a fixed reason code;
``MalformedBody`` for a verified callback we cannot read.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ccm_gateway.errors import BadInput
from ccm_gateway.integration import signatures
from ccm_gateway.integration.signatures import SignatureRefused, SignatureSpec
from ccm_gateway.kit.money import MAX_MINOR, currency_exponent, parse_amount
from ccm_gateway.kit.text import text_problem

__all__ = [
    "CANONICAL_TYPES", "CanonicalEvent", "Envelope", "MalformedBody", "Profile", "ProfileError",
    "SignatureRefused", "check_secret", "envelope", "generate_secret", "load_profile",
    "load_profile_file", "normalise", "parse_body", "shipped_profiles", "verify",
]

CANONICAL_TYPES = ("payment.succeeded", "payment.failed", "payment.refunded",
                   "charge.posted", "balance.reported", "access.attempted")
BODY_FORMATS = ("json", "form")
TIME_FORMATS = ("unix", "iso8601")
AMOUNT_FORMATS = ("minor", "decimal")
DEFAULT_CONTENT_TYPES = {"json": ("application/json",),
                         "form": ("application/x-www-form-urlencoded",)}
MAX_PROFILE_BYTES = 64 * 1024
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 500
# The longest value of a canonical text field, where the column it is stored in or looked
# up against is shorter than MAX_ID_CHARS (Site.code); no site can have a longer code.
FIELD_MAX_CHARS = {"site": 64}
MAX_FORM_FIELDS = 1000
# A real profile is six levels deep; the cap keeps hostile uploads off the recursion limit.
MAX_NESTING = 20

# (required fields, optional fields) of each canonical type's mapping.
FIELD_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "payment.succeeded": (("customer", "amount", "currency"),
                          ("reference", "site", "description")),
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
# A reported balance may be zero or in credit; every other amount is a positive sum.
SIGNED_AMOUNT_TYPES = ("balance.reported",)
TRUE_WORDS = ("true", "1", "granted")
FALSE_WORDS = ("false", "0", "denied")

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$", re.ASCII)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$", re.ASCII)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", re.ASCII)
_JSON_PATH = re.compile(r"^[^.\s]+(?:\.[^.\s]+){0,15}$")
_FORM_KEY = re.compile(r"^\S{1,200}$")
_PLACEHOLDER = re.compile(r"(\{[^{}]*\})")
_MINOR = re.compile(r"-?(\d+)", re.ASCII)  # fullmatch: "12\n" is not 12
_UNIX = re.compile(r"^\d{1,12}$", re.ASCII)
_CURRENCY = re.compile(r"^[A-Z]{3}$", re.ASCII)


# --- errors -----------------------------------------------------------------------


class ProfileError(BadInput):
    """A profile that does not validate; the message names origin, line and field."""

    def __init__(self, problem: str, *, origin: str, line: int | None = None,
                 field: str | None = None) -> None:
        where = origin + (f" line {line}" if line is not None else "")
        where += f", field {field}" if field else ""
        super().__init__(f"{where}: {problem}", field=field)
        self.origin = origin
        self.line = line


class MalformedBody(Exception):
    """A verified callback we cannot read: bad syntax, or a field missing or of a wrong type."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the model --------------------------------------------------------------------


@dataclass(frozen=True)
class ValueSource:
    """Where an envelope value is: a request header, or a path into the body."""

    header: str | None = None
    path: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"header {self.header}" if self.header else ".".join(self.path)


@dataclass(frozen=True)
class FieldSpec:
    name: str  # customer, amount, currency, site, reference, reason, granted, gate, description
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


# --- loading ----------------------------------------------------------------------


def load_profile(source: str, origin: str) -> Profile:
    """Parse and validate a profile's YAML text; ProfileError names what is wrong where."""
    if not isinstance(source, str):
        raise ProfileError("a profile must be text", origin=origin)
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_PROFILE_BYTES:
        raise ProfileError(f"profile is {size} bytes; the limit is {MAX_PROFILE_BYTES}",
                           origin=origin)
    return _Reader(origin).profile(_compose(source, origin))


def load_profile_file(path: Path) -> Profile:
    origin = f"webhooks/{path.name}"
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read the file: {exc}", origin=origin) from None
    return load_profile(source, origin)


def shipped_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """Every webhooks/*.yaml by name; the default folder is read once per process."""
    if directory is None:
        return _default_profiles()
    return _load_directory(directory)


@functools.cache
def _default_profiles() -> dict[str, Profile]:
    from ccm_gateway.db import webhooks_dir

    return _load_directory(webhooks_dir())


def _load_directory(directory: Path) -> dict[str, Profile]:
    found: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = load_profile_file(path)
        if profile.name in found:
            raise ProfileError(
                f"name {profile.name!r} is already used by {found[profile.name].origin}",
                origin=profile.origin, line=_key_line(path, "name"), field="name")
        found[profile.name] = profile
    return found


def _key_line(path: Path, key: str) -> int | None:
    root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    for key_node, _ in root.value:
        if key_node.value == key:
            return int(key_node.start_mark.line) + 1
    return None


def _compose(source: str, origin: str) -> Node:
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"invalid YAML: {problem}", origin=origin,
                           line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise ProfileError("invalid YAML: nested too deeply", origin=origin) from None
    if root is None:
        raise ProfileError("profile is empty", origin=origin)
    return root


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


class _Reader:
    """Validates the composed YAML tree, so every error can name the node's line."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.constructor = SafeConstructor()

    def fail(self, node: Node, field: str, problem: str) -> NoReturn:
        raise ProfileError(problem, origin=self.origin, line=node.start_mark.line + 1,
                           field=field or None)

    # -- generic shapes --

    def refuse_aliases(self, node: Node, seen: set[int], depth: int = 0) -> None:
        # A shared node is an alias; walking aliases of aliases is the "billion laughs".
        if id(node) in seen:
            self.fail(node, "", "YAML anchors and aliases are not supported")
        if depth > MAX_NESTING:
            self.fail(node, "", f"nested more than {MAX_NESTING} levels deep")
        seen.add(id(node))
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        for child in children:
            self.refuse_aliases(child, seen, depth + 1)

    def mapping(self, node: Node, field: str, *, required: Sequence[str] = (),
                optional: Sequence[str] | None = None) -> dict[str, Node]:
        """Keys to value nodes; ``optional=None`` allows any key (the caller checks them)."""
        if not isinstance(node, MappingNode):
            self.fail(node, field, "must be a mapping")
        found: dict[str, Node] = {}
        allowed = None if optional is None else (*required, *optional)
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                self.fail(key_node, field, "keys must be strings (quote them)")
            key = key_node.value
            if key in found:
                self.fail(key_node, _join(field, key), "is given twice")
            if allowed is not None and key not in allowed:
                self.fail(key_node, _join(field, key),
                          f"unknown key; expected one of {', '.join(allowed)}")
            found[key] = value_node
        for key in required:
            if key not in found:
                self.fail(node, _join(field, key), "is required")
        return found

    def string(self, node: Node, field: str, *, max_chars: int = MAX_ID_CHARS) -> str:
        if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            self.fail(node, field, "must be a string")
        if not 1 <= len(node.value) <= max_chars:
            self.fail(node, field, f"must be 1 to {max_chars} characters")
        return str(node.value)

    def matching(self, node: Node, field: str, pattern: re.Pattern[str], hint: str) -> str:
        value = self.string(node, field)
        if not pattern.match(value):
            self.fail(node, field, f"{value!r} is not {hint}")
        return value

    def choice(self, node: Node, field: str, choices: Sequence[str]) -> str:
        value = self.string(node, field)
        if value not in choices:
            self.fail(node, field, f"{value!r} must be one of {', '.join(choices)}")
        return value

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            self.fail(node, field, "must be a whole number")
        value = self.constructor.construct_yaml_int(node)
        if not low <= value <= high:
            self.fail(node, field, f"{value} must be between {low} and {high}")
        return int(value)

    def boolean(self, node: Node, field: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.fail(node, field, "must be true or false")
        return bool(self.constructor.construct_yaml_bool(node))

    # -- the profile --

    def profile(self, root: Node) -> Profile:
        self.refuse_aliases(root, set())
        top = self.mapping(root, "", required=("name", "description", "body", "signature",
                                               "event", "events"),
                           optional=("content_types",))
        name = self.matching(top["name"], "name", _NAME,
                             "1 to 64 lower-case letters, digits and '-', starting with a "
                             "letter or digit")
        body_format = self.choice(top["body"], "body", BODY_FORMATS)
        event = self.mapping(top["event"], "event", required=("id", "type"),
                             optional=("time", "time_format"))
        event_id = self.source(event["id"], "event.id", body_format)
        signature = self.signature(top["signature"], event_id)
        time, time_format = self.event_time(top["event"], event, body_format)
        return Profile(
            name=name,
            description=self.string(top["description"], "description", max_chars=MAX_TEXT_CHARS),
            body_format=body_format,
            content_types=self.content_types(top.get("content_types"), body_format),
            tolerance_seconds=signature.tolerance_seconds,
            scheme=signature.scheme,
            signature=signature,
            event_id=event_id,
            event_type=self.source(event["type"], "event.type", body_format),
            event_time=time,
            time_format=time_format,
            events=self.events(top["events"], body_format),
            origin=self.origin,
        )

    def content_types(self, node: Node | None, body_format: str) -> tuple[str, ...]:
        if node is None:
            return DEFAULT_CONTENT_TYPES[body_format]
        if not isinstance(node, SequenceNode) or not node.value:
            self.fail(node, "content_types", "must be a non-empty list of media types")
        found = []
        for index, item in enumerate(node.value):
            value = self.string(item, f"content_types.{index}").lower()
            if not _MEDIA_TYPE.match(value):
                self.fail(item, f"content_types.{index}",
                          f"{value!r} is not a media type such as application/json "
                          "(no parameters)")
            found.append(value)
        return tuple(found)

    def source(self, node: Node, field: str, body_format: str) -> ValueSource:
        text = self.string(node, field)
        if text.startswith("header:"):
            header = text.removeprefix("header:")
            if not _HEADER_NAME.match(header):
                self.fail(node, field, f"{header!r} is not a header name")
            return ValueSource(header=header.lower())
        return ValueSource(path=self.path(node, field, body_format))

    def path(self, node: Node, field: str, body_format: str) -> tuple[str, ...]:
        text = self.string(node, field)
        if body_format == "form":
            # Form bodies are flat: the path is the field name, dots and all.
            if not _FORM_KEY.match(text):
                self.fail(node, field, f"{text!r} is not a form field name")
            return (text,)
        if not _JSON_PATH.match(text):
            self.fail(node, field, f"{text!r} is not a dotted path such as data.object.id "
                                   "(at most 16 segments, no spaces)")
        return tuple(text.split("."))

    def event_time(self, node: Node, event: dict[str, Node],
                   body_format: str) -> tuple[ValueSource | None, str | None]:
        if "time" not in event:
            if "time_format" in event:
                self.fail(event["time_format"], "event.time_format", "is given without time")
            return None, None
        if "time_format" not in event:
            self.fail(node, "event.time_format", "is required with event.time")
        return (self.source(event["time"], "event.time", body_format),
                self.choice(event["time_format"], "event.time_format", TIME_FORMATS))

    # -- signature --

    def signature(self, node: Node, event_id: ValueSource) -> SignatureSpec:
        head = self.mapping(node, "signature", required=("scheme",), optional=None)
        scheme = self.choice(head["scheme"], "signature.scheme", signatures.SCHEMES)
        hmac_keys = ("header", "timestamp_header", "algorithm", "encoding", "payload",
                     "prefix", "secret_encoding")
        if scheme != "hmac":
            spec = self.mapping(node, "signature", required=("scheme",),
                                optional=("tolerance_seconds",))
            return SignatureSpec(scheme=scheme, tolerance_seconds=self.tolerance(spec))
        spec = self.mapping(node, "signature", required=("scheme", "header", "timestamp_header"),
                            optional=("tolerance_seconds", *hmac_keys[2:]))
        payload = self.payload(spec.get("payload"))
        id_header = None
        if "{id}" in payload:
            if event_id.header is None:
                self.fail(spec["payload"], "signature.payload",
                          "{id} needs event.id to come from a header (header:<name>)")
            id_header = event_id.header
        return SignatureSpec(
            scheme=scheme,
            tolerance_seconds=self.tolerance(spec),
            header=self.header(spec["header"], "signature.header"),
            timestamp_header=self.header(spec["timestamp_header"], "signature.timestamp_header"),
            id_header=id_header,
            algorithm=self.option(spec, "algorithm", signatures.ALGORITHMS, "sha256"),
            encoding=self.option(spec, "encoding", signatures.ENCODINGS, "hex"),
            prefix=self.string(spec["prefix"], "signature.prefix") if "prefix" in spec else "",
            secret_encoding=self.option(spec, "secret_encoding", signatures.SECRET_ENCODINGS,
                                        "utf8"),
            payload=payload,
        )

    def tolerance(self, spec: dict[str, Node]) -> int:
        if "tolerance_seconds" not in spec:
            return 300
        return self.integer(spec["tolerance_seconds"], "signature.tolerance_seconds", 1, 3600)

    def header(self, node: Node, field: str) -> str:
        return self.matching(node, field, _HEADER_NAME, "a header name").lower()

    def option(self, spec: dict[str, Node], key: str, choices: Sequence[str],
               default: str) -> str:
        return self.choice(spec[key], f"signature.{key}", choices) if key in spec else default

    def payload(self, node: Node | None) -> tuple[str, ...]:
        if node is None:
            return SignatureSpec.payload
        text = self.string(node, "signature.payload")
        parts = tuple(p for p in _PLACEHOLDER.split(text) if p)
        for part in parts:
            if part.startswith("{") and part not in signatures.PLACEHOLDERS:
                self.fail(node, "signature.payload", f"unknown placeholder {part}; use "
                                                     f"{', '.join(signatures.PLACEHOLDERS)}")
            if ("{" in part or "}" in part) and part not in signatures.PLACEHOLDERS:
                self.fail(node, "signature.payload", "stray brace")
        # Without both, a captured body could be replayed under a fresh timestamp, or the
        # signature would not cover the body at all.
        for needed in ("{body}", "{timestamp}"):
            if parts.count(needed) != 1:
                self.fail(node, "signature.payload", f"must contain {needed} exactly once")
        return parts

    # -- event mappings --

    def events(self, node: Node, body_format: str) -> tuple[EventMapping, ...]:
        entries = self.mapping(node, "events")
        if not entries:
            self.fail(node, "events", "must map at least one vendor event type")
        return tuple(self.event_mapping(vendor_type, value, body_format)
                     for vendor_type, value in entries.items())

    def event_mapping(self, vendor_type: str, node: Node, body_format: str) -> EventMapping:
        field = f"events.{vendor_type}"
        if not 1 <= len(vendor_type) <= MAX_ID_CHARS:
            self.fail(node, field, f"a vendor event type must be 1 to {MAX_ID_CHARS} characters")
        spec = self.mapping(node, field, required=("canonical", "fields"), optional=())
        canonical = self.choice(spec["canonical"], f"{field}.canonical", CANONICAL_TYPES)
        self._canonical = canonical  # field_spec checks options that only some types allow
        required, optional = FIELD_RULES[canonical]
        fields_field = f"{field}.fields"
        entries = self.mapping(spec["fields"], fields_field, required=required,
                               optional=optional)
        return EventMapping(vendor_type, canonical, tuple(
            self.field_spec(name, value, f"{fields_field}.{name}", body_format)
            for name, value in entries.items()))

    def field_spec(self, name: str, node: Node, field: str, body_format: str) -> FieldSpec:
        if isinstance(node, ScalarNode):
            if name == "amount":
                self.fail(node, field, "an amount needs {path: ..., format: minor | decimal}, "
                                       "so that 1250 is never read the wrong way")
            return FieldSpec(name, path=self.path(node, field, body_format))
        if name == "amount":
            spec = self.mapping(node, field, required=("path", "format"), optional=("total",))
            total = self.boolean(spec["total"], f"{field}.total") if "total" in spec else False
            if total and self._canonical != "payment.refunded":
                self.fail(spec["total"], f"{field}.total",
                          "only a payment.refunded amount can be a running total")
            return FieldSpec(name, path=self.path(spec["path"], f"{field}.path", body_format),
                             amount_format=self.choice(spec["format"], f"{field}.format",
                                                       AMOUNT_FORMATS), total=total)
        options = () if name == "granted" else ("upper",)
        spec = self.mapping(node, field, optional=("path", "value", *options))
        if ("path" in spec) == ("value" in spec):
            self.fail(node, field, "needs exactly one of path or value")
        upper = self.boolean(spec["upper"], f"{field}.upper") if "upper" in spec else False
        if "path" in spec:
            return FieldSpec(name, path=self.path(spec["path"], f"{field}.path", body_format),
                             upper=upper)
        if name == "granted":
            return FieldSpec(name, value=self.boolean(spec["value"], f"{field}.value"))
        value = self.string(spec["value"], f"{field}.value", max_chars=MAX_TEXT_CHARS)
        return FieldSpec(name, value=value.upper() if upper else value)


# --- signatures -------------------------------------------------------------------


def generate_secret(profile: Profile) -> str:
    """A fresh signing secret in the format the profile's scheme expects."""
    return signatures.generate_secret(profile.signature)


def check_secret(profile: Profile, secret: str) -> None:
    """BadInput(field="secret") when the secret cannot sign under the profile's scheme."""
    signatures.secret_key(profile.signature, secret)


def verify(profile: Profile, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
           *, now: float) -> None:
    """Accept when any secret signs the callback within tolerance; else SignatureRefused.

    ``headers`` has lower-case names; ``now`` is Unix time in seconds."""
    signatures.verify_signature(profile.signature, headers, body, secrets, now=now)


# --- reading a callback -----------------------------------------------------------


def parse_body(profile: Profile, body: bytes) -> dict[str, Any]:
    """The body as a dict; JSON numbers with a fraction become Decimal, never float.

    A form field given more than once is refused: which copy counts would be a guess, and
    parameter pollution lives in such guesses."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not valid UTF-8") from None
    if profile.body_format == "form":
        return _parse_form(text)
    return _parse_json(text)


def _parse_json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant,
                              object_pairs_hook=_unique_keys)
    except MalformedBody:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedBody("body must be a JSON object")
    return document


def _refuse_constant(name: str) -> NoReturn:
    raise MalformedBody(f"body is not valid JSON: {name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise MalformedBody("body has a JSON object with a key given twice")
    return document


def _parse_form(text: str) -> dict[str, Any]:
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                                       encoding="utf-8", errors="strict",
                                       max_num_fields=MAX_FORM_FIELDS)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not valid form data: {exc}") from None
    document = dict(pairs)
    if len(document) != len(pairs):
        repeated = next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        raise MalformedBody(f"form field {repeated} is given more than once")
    return document


def envelope(profile: Profile, headers: Mapping[str, str], document: dict[str, Any]) -> Envelope:
    """The vendor's event id, type and time; MalformedBody when the id is unusable."""
    return Envelope(
        external_id=_event_id(profile.event_id, headers, document),
        event_type=_event_type(profile.event_type, headers, document),
        occurred_at=_event_time(profile, headers, document),
    )


def _lookup(source: ValueSource, headers: Mapping[str, str], document: dict[str, Any]) -> Any:
    if source.header:
        return headers.get(source.header) or None
    return _at_path(document, source.path)


def _at_path(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for segment in path:
        if isinstance(value, dict):
            value = value.get(segment)
        elif isinstance(value, list) and segment.isascii() and segment.isdigit():
            index = int(segment)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def _event_id(source: ValueSource, headers: Mapping[str, str], document: dict[str, Any]) -> str:
    value = _lookup(source, headers, document)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise MalformedBody(f"event id ({source.describe()}) is missing or not a string")
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise MalformedBody(f"event id ({source.describe()}) must be 1 to {MAX_ID_CHARS} "
                            "printable characters")
    return value


def _event_type(source: ValueSource, headers: Mapping[str, str],
                document: dict[str, Any]) -> str | None:
    # A callback without a type is stored and ignored, like a type the profile does not map.
    value = _lookup(source, headers, document)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_CHARS:
        raise MalformedBody(f"event type ({source.describe()}) must be a string of 1 to "
                            f"{MAX_ID_CHARS} characters")
    problem = text_problem(value)
    if problem is not None:
        raise MalformedBody(f"event type ({source.describe()}) {problem}")
    return value


def _event_time(profile: Profile, headers: Mapping[str, str],
                document: dict[str, Any]) -> datetime | None:
    if profile.event_time is None:
        return None
    value = _lookup(profile.event_time, headers, document)
    if value is None:
        return None
    where = f"event time ({profile.event_time.describe()})"
    if profile.time_format == "unix":
        return _unix_time(value, where)
    return _iso_time(value, where)


def _unix_time(value: Any, where: str) -> datetime:
    if isinstance(value, str) and _UNIX.match(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise MalformedBody(f"{where} must be Unix seconds, got {value!r}")
    if isinstance(value, Decimal) and not _modest(value):
        raise MalformedBody(f"{where} {value!r} is out of range")
    try:
        seconds = int(value)
        fraction = timedelta(microseconds=int((Decimal(value) - seconds) * 1_000_000))
        return datetime.fromtimestamp(seconds, tz=UTC) + fraction
    except (ArithmeticError, ValueError, OverflowError, OSError):
        raise MalformedBody(f"{where} {value!r} is out of range") from None


def _iso_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedBody(f"{where} must be an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedBody(f"{where} {value!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        # A naive time could be any zone; guessing would shift events by hours.
        raise MalformedBody(f"{where} {value!r} has no time zone offset")
    return parsed.astimezone(UTC)


# --- normalisation ----------------------------------------------------------------


def normalise(profile: Profile, event_type: str | None, document: dict[str, Any],
              occurred_at: datetime | None) -> CanonicalEvent | None:
    """The canonical event, or None when the profile does not map the vendor type."""
    mapping = profile.mapping_for(event_type) if event_type is not None else None
    if mapping is None:
        return None
    read = _FieldReader(mapping, document)
    currency = read.currency()
    customer = read.text("customer")
    assert customer is not None  # every canonical type requires it; text() enforces it
    return CanonicalEvent(
        type=mapping.canonical,
        customer_ref=customer,
        amount_minor=read.amount(currency),
        currency=currency,
        site_code=read.text("site"),
        reference=read.text("reference"),
        reason=read.text("reason", free_text=True),
        granted=read.granted(),
        gate=read.text("gate"),
        occurred_at=occurred_at,
        description=read.text("description", free_text=True),
        amount_is_total=bool((spec := mapping.field("amount")) and spec.total),
    )


class _FieldReader:
    """Reads one mapping's fields out of a document, refusing missing required ones."""

    def __init__(self, mapping: EventMapping, document: dict[str, Any]) -> None:
        self.mapping = mapping
        self.document = document
        self.required = FIELD_RULES[mapping.canonical][0]

    def raw(self, name: str) -> tuple[Any, FieldSpec | None]:
        spec = self.mapping.field(name)
        if spec is None:
            return None, None
        value = spec.value if not spec.path else _at_path(self.document, spec.path)
        if value == "":
            # Form bodies send optional fields blank ("memo="); blank means absent.
            value = None
        if value is None and name in self.required:
            raise MalformedBody(f"{spec.describe()} is missing; {self.mapping.canonical} "
                                f"needs its {name}")
        if isinstance(value, dict | list):
            raise MalformedBody(f"{spec.describe()} ({name}) must be a single value, not "
                                f"{'an object' if isinstance(value, dict) else 'a list'}")
        return value, spec

    def text(self, name: str, *, free_text: bool = False) -> str | None:
        value, spec = self.raw(name)
        if value is None or spec is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise MalformedBody(f"{spec.describe()} ({name}) must be a string, got {value!r}")
        problem = text_problem(value)
        if problem is not None:
            raise MalformedBody(f"{spec.describe()} ({name}) {problem}")
        if free_text:
            # Vendors' free text (failure messages) may run long; losing its tail beats
            # refusing the payment event that carries it.
            return value[:MAX_TEXT_CHARS]
        if spec.upper:
            value = value.upper()
        longest = FIELD_MAX_CHARS.get(name, MAX_ID_CHARS)
        if not 1 <= len(value) <= longest:
            raise MalformedBody(f"{spec.describe()} ({name}) must be 1 to {longest} "
                                "characters")
        return value

    def currency(self) -> str | None:
        code = self.text("currency")
        spec = self.mapping.field("currency")
        if code is None or spec is None:
            return None
        if not _CURRENCY.match(code):
            raise MalformedBody(f"{spec.describe()} (currency) {code!r} is not an ISO 4217 "
                                "code such as USD")
        try:
            currency_exponent(code)
        except BadInput as exc:
            raise MalformedBody(f"{spec.describe()} (currency): {exc.message}") from None
        return code

    def amount(self, currency: str | None) -> int | None:
        value, spec = self.raw("amount")
        if value is None or spec is None or currency is None:
            return None
        signed = self.mapping.canonical in SIGNED_AMOUNT_TYPES
        try:
            if spec.amount_format == "minor":
                return _minor_amount(value, signed)
            return _decimal_amount(value, currency, signed)
        except BadInput as exc:
            raise MalformedBody(f"{spec.describe()} (amount): {exc.message}") from None

    def granted(self) -> bool | None:
        value, spec = self.raw("granted")
        if value is None or spec is None:
            return None
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower() if isinstance(value, str | int) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise MalformedBody(f"{spec.describe()} (granted) {value!r} is not one of "
                            f"{', '.join(TRUE_WORDS + FALSE_WORDS)} or a JSON boolean")


def _minor_amount(value: Any, signed: bool) -> int:
    digits = None
    if isinstance(value, str) and (match := _MINOR.fullmatch(value)):
        digits = match.group(1).lstrip("0")
    elif isinstance(value, int) and not isinstance(value, bool):
        digits = str(abs(value))
    if digits is None:
        raise BadInput(f"{value!r} is not a whole number of minor units")
    # Counted before int() reads them, which it refuses past 4300 digits.
    if len(digits) > len(str(MAX_MINOR)):
        raise BadInput(f"too large ({len(digits)} digits): at most {MAX_MINOR} minor units")
    value = int(value)
    if value <= 0 and not signed:
        raise BadInput(f"{value} must be positive")
    return value


def _modest(value: Decimal) -> bool:
    # JSON allows 1e999999999; writing it out in full would take gigabytes and minutes.
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and -30 <= exponent <= 30 and value.adjusted() <= 30


def _decimal_amount(value: Any, currency: str, signed: bool) -> int:
    if isinstance(value, Decimal):
        if not _modest(value):
            raise BadInput(f"{value} is not an amount we can read")
        # Positional notation, so 1.25E+3 reads as 1250 and the decimals are counted right.
        value = format(value, "f")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif not isinstance(value, str):
        raise BadInput(f"{value!r} is not a decimal amount such as \"12.50\"")
    return parse_amount(value, currency, allow_negative=signed, allow_zero=signed)
