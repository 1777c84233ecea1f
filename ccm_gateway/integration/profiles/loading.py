"""Loading profiles: YAML text, validated into a ``Profile``.

Every refusal is a ``ProfileError`` naming the profile's origin, the line and the dotted
field, so a vendor's file or an upload can be fixed without guessing. webhooks/README.md
documents the format field by field.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ccm_gateway.errors import BadInput
from ccm_gateway.integration.profiles import signatures
from ccm_gateway.integration.profiles.model import (
    CANONICAL_TYPES,
    COLLECT_ADAPTERS,
    COLLECT_CREDENTIALS,
    COLLECT_PLACEHOLDERS,
    FIELD_RULES,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    PULL_CREDENTIALS,
    CollectCall,
    CollectResult,
    CollectSpec,
    EventMapping,
    FieldSpec,
    Profile,
    PullAuth,
    PullSpec,
    SignatureSpec,
    TimeSpec,
    ValueSource,
)
from ccm_gateway.outbound.urls import parse_url

BODY_FORMATS = ("json", "form")
TIME_FORMATS = ("unix", "iso8601")
AMOUNT_FORMATS = ("minor", "decimal")
DEFAULT_CONTENT_TYPES = {"json": ("application/json",),
                         "form": ("application/x-www-form-urlencoded",)}
MAX_PROFILE_BYTES = 64 * 1024
PULL_METHODS = ("GET", "POST")
PULL_AUTH_SCHEMES = ("none", "bearer", "basic", "header")
# What each pull auth scheme needs besides its name.
PULL_AUTH_KEYS = {"none": (), "bearer": ("credential",), "basic": ("credential", "username"),
                  "header": ("credential", "header")}
MAX_PULL_PAGES = 1000
MAX_PULL_TIMEOUT_SECONDS = 60
# A real profile is six levels deep; the cap keeps hostile uploads off the recursion limit.
MAX_NESTING = 20

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$", re.ASCII)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$", re.ASCII)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", re.ASCII)
_JSON_PATH = re.compile(r"^[^.\s]+(?:\.[^.\s]+){0,15}$")
_FORM_KEY = re.compile(r"^\S{1,200}$")
_PLACEHOLDER = re.compile(r"(\{[^{}]*\})")
_QUERY_PARAM = re.compile(r"^[A-Za-z0-9_.~-]{1,64}$", re.ASCII)
# RFC 7617: the user name may not contain a colon; printable, no spaces at the ends.
_USERNAME = re.compile(r"^[!-9;-~](?:[ -9;-~]{0,198}[!-9;-~])?$", re.ASCII)


class ProfileError(BadInput):
    """A profile that does not validate; the message names origin, line and field."""

    def __init__(self, problem: str, *, origin: str, line: int | None = None,
                 field: str | None = None) -> None:
        where = origin + (f" line {line}" if line is not None else "")
        where += f", field {field}" if field else ""
        super().__init__(f"{where}: {problem}", field=field)
        self.origin = origin
        self.line = line


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
    if root is None:
        return None
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
                           optional=("content_types", "pull", "collect"))
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
            pull=self.pull(top["pull"]) if "pull" in top else None,
            collect=self.collect(top["collect"]) if "collect" in top else None,
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

    # -- pull --

    def pull(self, node: Node) -> PullSpec:
        spec = self.mapping(node, "pull", required=("url", "auth", "balances", "fields"),
                            optional=("method", "body", "timeout_seconds", "next", "next_param",
                                      "max_pages"))
        method = (self.choice(spec["method"], "pull.method", PULL_METHODS)
                  if "method" in spec else "GET")
        body = None
        if "body" in spec:
            if method != "POST":
                self.fail(spec["body"], "pull.body", "is sent only with method: POST")
            body = self.json_object_text(spec["body"], "pull.body")
        next_path = self.path(spec["next"], "pull.next", "json") if "next" in spec else None
        next_param = None
        if "next_param" in spec:
            if next_path is None:
                self.fail(spec["next_param"], "pull.next_param", "is given without pull.next")
            next_param = self.matching(spec["next_param"], "pull.next_param", _QUERY_PARAM,
                                       "a query parameter name (letters, digits, _.~-)")
        mapping, as_of = self.pull_fields(spec["fields"])
        return PullSpec(
            url=self.url(spec["url"], "pull.url"), method=method, body=body,
            auth=self.auth(spec["auth"], "pull.auth", PULL_CREDENTIALS),
            timeout_seconds=(self.integer(spec["timeout_seconds"], "pull.timeout_seconds", 1,
                                          MAX_PULL_TIMEOUT_SECONDS)
                             if "timeout_seconds" in spec else 10),
            balances=self.path(spec["balances"], "pull.balances", "json"),
            mapping=mapping, as_of=as_of, next=next_path, next_param=next_param,
            max_pages=(self.integer(spec["max_pages"], "pull.max_pages", 1, MAX_PULL_PAGES)
                       if "max_pages" in spec else 100),
        )

    def url(self, node: Node, field: str) -> str:
        text = self.string(node, field, max_chars=2000)
        try:
            # The form only: whether it may be called (https, public addresses) depends on
            # the environment, and is checked before each call.
            parse_url(text, field, prod=False)
        except BadInput as exc:
            self.fail(node, field, exc.message.removeprefix(f"{field} "))
        return text

    def json_object_text(self, node: Node, field: str) -> str:
        text = self.string(node, field, max_chars=MAX_TEXT_CHARS * 8)
        try:
            value = json.loads(text)
        except ValueError as exc:
            self.fail(node, field, f"is not valid JSON: {exc}")
        if not isinstance(value, dict):
            self.fail(node, field, "must be a JSON object")
        return text

    def auth(self, node: Node, field: str, credentials: Sequence[str]) -> PullAuth:
        head = self.mapping(node, field, required=("scheme",), optional=None)
        scheme = self.choice(head["scheme"], f"{field}.scheme", PULL_AUTH_SCHEMES)
        needed = PULL_AUTH_KEYS[scheme]
        spec = self.mapping(node, field, required=("scheme", *needed), optional=())
        credential = header = username = None
        if "credential" in spec:
            credential = self.string(spec["credential"], f"{field}.credential")
            if credential not in credentials:
                # Not echoed: what was written here may be the very secret that must not be.
                self.fail(spec["credential"], f"{field}.credential",
                          f"must be one of {', '.join(credentials)}: a profile names "
                          "where the credential comes from and never holds it")
        if "header" in spec:
            header = self.header(spec["header"], f"{field}.header")
        if "username" in spec:
            username = self.matching(spec["username"], f"{field}.username", _USERNAME,
                                     "a user name (printable, no colon, no spaces at the ends)")
        return PullAuth(scheme=scheme, credential=credential, header=header, username=username)

    def pull_fields(self, node: Node) -> tuple[EventMapping, TimeSpec | None]:
        canonical = "balance.reported"
        self._canonical = canonical
        required = FIELD_RULES[canonical][0]
        entries = self.mapping(node, "pull.fields", required=required,
                               optional=("as_of",))
        as_of = None
        if "as_of" in entries:
            spec = self.mapping(entries["as_of"], "pull.fields.as_of",
                                required=("path", "format"), optional=())
            as_of = TimeSpec(self.path(spec["path"], "pull.fields.as_of.path", "json"),
                             self.choice(spec["format"], "pull.fields.as_of.format",
                                         TIME_FORMATS))
        mapping = EventMapping("pull", canonical, tuple(
            self.field_spec(name, value, f"pull.fields.{name}", "json")
            for name, value in entries.items() if name != "as_of"))
        return mapping, as_of

    # -- collect --

    def collect(self, node: Node) -> CollectSpec:
        head = self.mapping(node, "collect", required=("adapter",), optional=None)
        adapter = self.choice(head["adapter"], "collect.adapter", COLLECT_ADAPTERS)
        common = ("timeout_seconds", "idempotency_header")
        if adapter == "stripe":
            spec = self.mapping(node, "collect", required=("adapter", "url", "auth"),
                                optional=common)
        else:
            spec = self.mapping(node, "collect",
                                required=("adapter", "auth", "charge", "status", "result"),
                                optional=common)
        timeout = (self.integer(spec["timeout_seconds"], "collect.timeout_seconds", 1,
                                MAX_PULL_TIMEOUT_SECONDS) if "timeout_seconds" in spec else 10)
        header = (self.header(spec["idempotency_header"], "collect.idempotency_header")
                  if "idempotency_header" in spec else "idempotency-key")
        auth = self.auth(spec["auth"], "collect.auth", COLLECT_CREDENTIALS)
        if adapter == "stripe":
            return CollectSpec(adapter=adapter, auth=auth, timeout_seconds=timeout,
                               url=self.url(spec["url"], "collect.url").rstrip("/"),
                               idempotency_header=header)
        return CollectSpec(adapter=adapter, auth=auth, timeout_seconds=timeout,
                           idempotency_header=header,
                           charge=self.collect_call(spec["charge"], "collect.charge",
                                                    body=True),
                           status=self.collect_call(spec["status"], "collect.status",
                                                    body=False),
                           result=self.collect_result(spec["result"]))

    def collect_call(self, node: Node, field: str, *, body: bool) -> CollectCall:
        spec = self.mapping(node, field, required=("url", *(("body",) if body else ())),
                            optional=("method",))
        url_node = spec["url"]
        url = self.url(url_node, f"{field}.url")
        self.templates(url_node, f"{field}.url", url)
        method = (self.choice(spec["method"], f"{field}.method", PULL_METHODS)
                  if "method" in spec else ("POST" if body else "GET"))
        fields: list[tuple[str, str]] = []
        if body:
            entries = self.mapping(spec["body"], f"{field}.body")
            if not entries:
                self.fail(spec["body"], f"{field}.body", "must name at least one field")
            for key, value in entries.items():
                text = self.string(value, f"{field}.body.{key}", max_chars=MAX_TEXT_CHARS)
                self.templates(value, f"{field}.body.{key}", text)
                fields.append((key, text))
        return CollectCall(url=url, method=method, body=tuple(fields))

    def templates(self, node: Node, field: str, text: str) -> None:
        for part in _PLACEHOLDER.split(text):
            if part.startswith("{") and part not in COLLECT_PLACEHOLDERS:
                self.fail(node, field, f"unknown placeholder {part}; use "
                                       f"{', '.join(COLLECT_PLACEHOLDERS)}")

    def collect_result(self, node: Node) -> CollectResult:
        field = "collect.result"
        spec = self.mapping(node, field, required=("status", "succeeded", "declined"),
                            optional=("payment_id", "decline_code", "pending", "cancelled"))

        def words(key: str) -> tuple[str, ...]:
            if key not in spec:
                return ()
            item = spec[key]
            if not isinstance(item, SequenceNode) or not item.value:
                self.fail(item, f"{field}.{key}", "must be a non-empty list of status values")
            return tuple(self.string(v, f"{field}.{key}.{i}") for i, v in enumerate(item.value))

        def where(key: str) -> tuple[str, ...] | None:
            return self.path(spec[key], f"{field}.{key}", "json") if key in spec else None

        return CollectResult(status=self.path(spec["status"], f"{field}.status", "json"),
                             payment_id=where("payment_id"),
                             decline_code=where("decline_code"), succeeded=words("succeeded"),
                             declined=words("declined"), pending=words("pending"),
                             cancelled=words("cancelled"))
