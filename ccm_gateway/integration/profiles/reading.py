"""Reading a callback at the edge: its body, and the vendor's event id, type and time.

Nothing here trusts the body: it has been verified, not validated. Every problem is a
``MalformedBody`` naming the field, which the edge answers with 400 and processing
dead-letters.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn

from ccm_gateway.errors import BadInput
from ccm_gateway.integration.profiles.model import MAX_ID_CHARS, Envelope, Profile, ValueSource
from ccm_gateway.kit.text import text_problem

MAX_FORM_FIELDS = 1000
_UNIX = re.compile(r"^\d{1,12}$", re.ASCII)


class MalformedBody(BadInput):
    """A verified callback we cannot read: bad syntax, or a field missing or of a wrong type."""


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
    return parse_json(text)


def parse_json(text: str) -> dict[str, Any]:
    """One JSON object, read as a callback body is (Decimal numbers, no NaN, no key twice)."""
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
    return at_path(document, source.path)


def at_path(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` (a digit segment indexes a list); None where it leads nowhere."""
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
    return read_time(value, profile.time_format or "iso8601",
                     f"event time ({profile.event_time.describe()})")


def read_time(value: Any, time_format: str, where: str) -> datetime:
    """A ``unix`` or ``iso8601`` time in UTC; MalformedBody naming ``where`` otherwise."""
    if time_format == "unix":
        return _unix_time(value, where)
    return _iso_time(value, where)


def _unix_time(value: Any, where: str) -> datetime:
    if isinstance(value, str) and _UNIX.match(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise MalformedBody(f"{where} must be Unix seconds, got {value!r}")
    if isinstance(value, Decimal) and not modest(value):
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


def modest(value: Decimal) -> bool:
    """A number small enough to write out in full (an amount, Unix seconds)."""
    # JSON allows 1e999999999; writing it out in full would take gigabytes and minutes.
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and -30 <= exponent <= 30 and value.adjusted() <= 30

