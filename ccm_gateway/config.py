"""Typed settings from ``CCM_`` environment variables, built once at start-up."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from ccm_gateway.errors import ConfigError
from ccm_gateway.kit.ratelimit import MAX_RATE_PER_SECOND

# The longest hold the ledger places (authorizeCredit's expiresInSeconds, and so the
# default CCM_HOLD_TTL_SECONDS): here, below the ledger, so both read one value.
MAX_HOLD_TTL = timedelta(days=90)

# Public on purpose: the development default, which CCM_ENV=prod refuses to start with.
DEV_SECRET_KEY = "ccm-dev-insecure-secret-key-change-me"  # noqa: S105 - the public dev default
# Not a setting: how `ccm-gateway serve` hands the development token it printed to the app
# processes that uvicorn builds from the environment (app.app_from_env), whose GraphiQL
# fills it in (in dev only).
SERVE_DEV_TOKEN_VARIABLE = "CCM_SERVE_DEV_TOKEN"  # noqa: S105 - a variable name, not a token
DEFAULT_DATABASE_URL = "sqlite://ccm_gateway.sqlite3"
_INVOICE_ISSUER = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}", re.ASCII)


# Asymmetric algorithms a trusted issuer may sign with; HS* and none never.
ISSUER_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                               "ES256", "ES384", "ES512", "EdDSA", "Ed25519"})
DEFAULT_ISSUER_ALGORITHMS = ("RS256", "ES256", "EdDSA", "Ed25519")


@dataclass(frozen=True, kw_only=True)
class TrustedIssuer:
    """One entry of ``CCM_TRUSTED_ISSUERS``: an OIDC provider of a partner portal."""

    issuer: str
    audience: str
    role_claim: str = "roles"
    # Claim value -> our role; values not listed grant nothing.
    role_map: Mapping[str, str] = field(default_factory=dict)
    partner_claim: str = "partner"
    algorithms: tuple[str, ...] = DEFAULT_ISSUER_ALGORITHMS

    def check(self, where: str) -> None:
        """Raise ``InvalidIssuer`` (a ``ConfigError``) naming ``where`` (the variable and
        entry) and the offending attribute on a bad entry."""
        def bad(attribute: str, problem: str) -> InvalidIssuer:
            return InvalidIssuer(where, attribute, problem)

        if not isinstance(self.issuer, str) or not self.issuer:
            raise bad("issuer", "'issuer' is required")
        if not isinstance(self.audience, str) or not self.audience:
            raise bad("audience", "'audience' is required")
        problem = _issuer_problem(self.issuer)
        if problem:
            raise bad("issuer", problem)
        for name in ("role_claim", "partner_claim"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise bad(name, f"{name!r} must be a non-empty string")
        problem = _role_map_problem(self.role_map)
        if problem:
            raise bad("role_map", problem)
        if not self.algorithms:
            raise bad("algorithms", "'algorithms' must not be empty")
        for alg in self.algorithms:
            if alg not in ISSUER_ALGORITHMS:
                raise bad("algorithms", f"algorithm {alg!r} is not allowed (HS* and none never "
                                        f"are); use {', '.join(sorted(ISSUER_ALGORITHMS))}")


class InvalidIssuer(ConfigError):
    """A bad trusted issuer: ``attribute`` names the ``TrustedIssuer`` field, ``problem``
    says what is wrong without the ``where`` prefix (the API names its own field)."""

    def __init__(self, where: str, attribute: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.attribute = attribute
        self.problem = problem


def _issuer_problem(issuer: str) -> str | None:
    """What is wrong with an OIDC issuer URL we are to trust, or None."""
    if not issuer.startswith("https://") and not _is_loopback_http(issuer):
        return f"issuer must be an https:// URL (http:// only on loopback), not {issuer!r}"
    return None


def _role_map_problem(role_map: object) -> str | None:
    """What is wrong with a ``role_map`` (claim value -> our role), or None."""
    from ccm_gateway.principal import Role

    if not isinstance(role_map, Mapping) or not role_map:
        return "'role_map' must map claim values to roles"
    roles = {r.value for r in Role}
    for value, role in role_map.items():
        if role not in roles:
            return (f"role_map[{value!r}] = {role!r} is not a role; "
                    f"roles are {', '.join(sorted(roles))}")
    return None


def _is_loopback_http(url: str) -> bool:
    if not url.startswith("http://"):
        return False
    host = url[len("http://"):].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_trusted_issuers(raw: str) -> tuple[TrustedIssuer, ...]:
    """``CCM_TRUSTED_ISSUERS``: a JSON list of issuer objects, each checked."""
    name = "CCM_TRUSTED_ISSUERS"
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ConfigError(f"{name} must be a JSON list of issuer objects")
    known = {f.name for f in fields(TrustedIssuer)}
    issuers = []
    for i, entry in enumerate(entries, 1):
        label = (f"{name} entry {i}" + (f" ({entry.get('issuer')})"
                                        if isinstance(entry, dict) and entry.get("issuer")
                                        else ""))
        if not isinstance(entry, dict):
            raise ConfigError(f"{label}: must be a JSON object")
        for key in ("issuer", "audience"):
            if not entry.get(key):
                raise ConfigError(f"{label}: {key!r} is required")
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{label}: unknown keys {', '.join(sorted(unknown))}")
        values = dict(entry)
        if "algorithms" in values:
            if not isinstance(values["algorithms"], list):
                raise ConfigError(f"{label}: 'algorithms' must be a list")
            values["algorithms"] = tuple(values["algorithms"])
        if "role_map" in values and not isinstance(values["role_map"], dict):
            raise ConfigError(f"{label}: 'role_map' must be an object")
        issuer = TrustedIssuer(**values)
        issuer.check(label)
        issuers.append(issuer)
    seen = [i.issuer for i in issuers]
    for url in seen:
        if seen.count(url) > 1:
            raise ConfigError(f"{name}: issuer {url!r} is listed twice")
    return tuple(issuers)


@dataclass(frozen=True, kw_only=True)
class ConsoleOidc:
    """``CCM_CONSOLE_OIDC``: the OpenID Connect provider the ops console signs people in
    with (authorization code with PKCE, console/oidc.py). A person whose ID token carries
    ``partner_claim`` signs in as that partner's portal user; without it, as staff. Either
    way their roles are ``role_claim``'s values mapped through ``role_map``."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid profile"
    role_claim: str = "roles"
    # Claim value -> our role; values not listed grant nothing.
    role_map: Mapping[str, str] = field(default_factory=dict)
    partner_claim: str = "partner"

    def check(self, where: str) -> None:
        """Raise ``ConfigError`` naming ``where`` and the bad key (never the secret)."""
        for name in ("issuer", "client_id", "client_secret", "scope", "role_claim",
                     "partner_claim"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{where}: {name!r} must be a non-empty string")
        problem = _issuer_problem(self.issuer)
        if problem:
            raise ConfigError(f"{where}: {problem}")
        if "openid" not in self.scope.split():
            raise ConfigError(f"{where}: 'scope' must include openid (an OpenID Connect "
                              f"sign-in needs its ID token), not {self.scope!r}")
        problem = _role_map_problem(self.role_map)
        if problem:
            raise ConfigError(f"{where}: {problem}")


def parse_console_oidc(raw: str) -> ConsoleOidc:
    """``CCM_CONSOLE_OIDC``: one JSON object, checked as ``CCM_TRUSTED_ISSUERS``' entries."""
    name = "CCM_CONSOLE_OIDC"
    try:
        entry = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(entry, dict):
        raise ConfigError(f"{name} must be a JSON object with issuer, client_id, "
                          "client_secret and role_map")
    for key in ("issuer", "client_id", "client_secret", "role_map"):
        if not entry.get(key):
            raise ConfigError(f"{name}: {key!r} is required")
    unknown = set(entry) - {f.name for f in fields(ConsoleOidc)}
    if unknown:
        raise ConfigError(f"{name}: unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(entry["role_map"], dict):
        raise ConfigError(f"{name}: 'role_map' must be an object")
    config = ConsoleOidc(**entry)
    config.check(name)
    return config


@dataclass(frozen=True, kw_only=True)
class Settings:
    env: str = "dev"
    database_url: str = DEFAULT_DATABASE_URL
    # Unset means the embedded queue: an in-process Redis substitute and worker.
    redis_url: str | None = None
    secret_key: str = field(default=DEV_SECRET_KEY, repr=False)
    # Older master secrets, comma separated: their derived keys still decrypt
    # secrets at rest (kit/secrets.py) during a rotation; never used to encrypt.
    secret_key_previous: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl_seconds: int = 900
    token_audience: str = "ccm-gateway"  # noqa: S105 - a name in the tokens, not a secret
    hold_ttl_seconds: int = 7 * 24 * 3600
    max_page_size: int = 100
    default_page_size: int = 20
    db_pool_size: int = 10
    graphiql: bool | None = None
    # Schema introspection; off in prod unless enabled, like GraphiQL.
    introspection: bool | None = None
    max_body_bytes: int = 1024 * 1024
    # Per-principal GCRA limit on /graphql: a sustained rate and a burst.
    # CCM_RATE_LIMIT_PER_SECOND=0 turns rate limiting off.
    rate_limit_per_second: int = 50
    rate_limit_burst: int = 100
    # Most nodes one GraphQL operation may ask for, counted as page sizes multiplied
    # down the tree (graphql/cost.py). customers(first: 100) { ledger(first: 100) }
    # is 10,100 and fits with room for a few more pages; two such trees do not.
    max_query_cost: int = 15_000
    # A subscription's token is checked again this often (revoked API clients, retired
    # keys), besides before every push and at its expiry.
    live_recheck_seconds: int = 30
    log_level: str = "INFO"
    # Run the arq worker inside the API process. Defaults to on for the
    # embedded queue and off with Redis, where `ccm-gateway worker` runs it.
    embedded_worker: bool | None = None
    # TLS on `ccm-gateway serve`: a PEM certificate (chain) and its private key,
    # both or neither; the lowest protocol version accepted is 1.2 or 1.3.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    tls_min_version: str = "1.2"
    # Partner portals' OIDC providers whose access tokens /graphql accepts
    # (auth/issuers.py); CCM_TRUSTED_ISSUERS is a JSON list, see README.
    trusted_issuers: tuple[TrustedIssuer, ...] = ()
    # The ops console (console/): how long a sign-in lasts, and the /graphql access tokens
    # its page mints from it (short: the page asks for another before one expires).
    console_session_seconds: int = 8 * 3600
    console_token_seconds: int = 300
    # The console's OpenID Connect sign-in; unset: none (in dev the page's dev sign-in).
    console_oidc: ConsoleOidc | None = None
    # Webhook ingestion (POST /webhooks/{integration}): the largest body read.
    webhook_max_body_bytes: int = 1024 * 1024
    # Seconds to wait before each retry of an inbound event that failed
    # transiently (Svix-like); after the last retry fails it is dead-lettered.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    # Raw payloads of processed inbound events are deleted after this many days.
    webhook_retention_days: int = 30
    # The sweep re-enqueues inbox events left unprocessed (a lost queue message)
    # for longer than this.
    webhook_sweep_after_seconds: int = 60
    # Outbound deliveries: seconds before each attempt (the first is the delivery's own,
    # 0 = immediately), each +-20 %; after the last one fails the delivery is FAILED.
    outbound_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    # A delivery left SENDING this long past its endpoint's worst case (a worker killed
    # mid-send) is sent again.
    outbound_stuck_margin_seconds: int = 30
    # Settled outbound deliveries (and their attempts) are deleted after this many days;
    # more than recoverOutboundEndpoint's 14, so every delivery it may resend is still kept.
    outbound_retention_days: int = 30
    # When set, GET /metrics needs "Authorization: Bearer <this>".
    metrics_token: str | None = field(default=None, repr=False)
    # /metrics without a token: the default in dev; prod needs a token or this set to true.
    metrics_open: bool | None = None
    # Where callers reach the gateway (scheme, host, optional path prefix): the OAuth
    # metadata's URLs and the tokens' issuer. Required in prod; dev defaults to
    # http://<host>:<port>.
    public_url: str | None = None
    # Alert e-mail (alert/notify.py): smtp://[user:pass@]host[:port][?starttls=1|0] or
    # smtps://...; unset means no e-mail is sent. CCM_SMTP_FROM is required with it.
    smtp_url: str | None = field(default=None, repr=False)
    smtp_from: str | None = None
    smtp_timeout_seconds: int = 10
    # Seconds before each retry of an alert e-mail (its first attempt is at once); after
    # the last retry fails the notification is FAILED.
    smtp_retry_schedule: str = "60,300,1800,7200"
    # Billing: the issuer part of invoice numbers ("<issuer>-<year>-<sequence>"), whose
    # sequence runs without gaps per issuer and year.
    invoice_issuer: str = "CCM"
    # The ERP daily batch's directory (export/service.py): an existing writable directory;
    # unset: the ledger.daily_export cron writes no files.
    export_dir: str | None = None

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgres"

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_prod) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_prod) if self.introspection is None else self.introspection

    @property
    def metrics_served_open(self) -> bool:
        """/metrics answers without a token (``CCM_METRICS_OPEN``, by default in dev only)."""
        if self.metrics_token:
            return False
        return (not self.is_prod) if self.metrics_open is None else self.metrics_open

    @property
    def public_base_url(self) -> str:
        """``CCM_PUBLIC_URL`` without its trailing slash, else where `serve` listens."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        # Every interface: loopback is one of them.
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - compared with, never bound
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls_enabled else 'http'}://{host}:{self.port}"

    @property
    def token_issuer(self) -> str:
        """Our tokens' ``iss`` and the OAuth metadata's ``issuer``: the public URL. RFC 8414
        wants an https URL, the one whose /.well-known/ serves the metadata, so it is not
        a setting of its own."""
        return self.public_base_url

    @property
    def previous_secret_keys(self) -> tuple[str, ...]:
        """``CCM_SECRET_KEY_PREVIOUS`` split on commas; blank entries dropped."""
        if not self.secret_key_previous:
            return ()
        return tuple(s.strip() for s in self.secret_key_previous.split(",") if s.strip())

    @property
    def webhook_retry_delays(self) -> tuple[int, ...]:
        """``CCM_WEBHOOK_RETRY_SCHEDULE`` as seconds; checked by ``validate()``."""
        return tuple(int(part) for part in self.webhook_retry_schedule.split(","))

    @property
    def outbound_retry_delays(self) -> tuple[int, ...]:
        """``CCM_OUTBOUND_RETRY_SCHEDULE`` as seconds; checked by ``validate()``."""
        return tuple(int(part) for part in self.outbound_retry_schedule.split(","))

    @property
    def smtp_retry_delays(self) -> tuple[int, ...]:
        """``CCM_SMTP_RETRY_SCHEDULE`` as seconds; checked by ``validate()``."""
        return tuple(int(part) for part in self.smtp_retry_schedule.split(","))

    @property
    def smtp(self) -> SmtpTarget | None:
        """``CCM_SMTP_URL`` parsed; None when unset. Checked by ``validate()``."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def tls_enabled(self) -> bool:
        return bool(self.ssl_certfile and self.ssl_keyfile)

    @property
    def run_worker_in_process(self) -> bool:
        if self.embedded_worker is None:
            return self.redis_url is None
        return self.embedded_worker

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every ``CCM_<FIELD>`` variable; raise ``ConfigError`` naming a bad one."""
        environ = os.environ if environ is None else environ
        if environ.get("CCM_TOKEN_ISSUER"):
            # Refused, not ignored: tokens would name another issuer than the operator set.
            raise ConfigError("CCM_TOKEN_ISSUER is no longer read: tokens' iss and the OAuth "
                              "metadata's issuer are CCM_PUBLIC_URL (RFC 8414); unset it")
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"CCM_{f.name.upper()}"
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            if f.name == "trusted_issuers":
                values[f.name] = parse_trusted_issuers(raw)
                continue
            if f.name == "console_oidc":
                values[f.name] = parse_console_oidc(raw)
                continue
            values[f.name] = _parse(name, raw, f.type)
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.env not in ("dev", "prod"):
            raise ConfigError(f"CCM_ENV must be 'dev' or 'prod', not {self.env!r}")
        if not (
            self.database_url.startswith("sqlite://")
            or self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))
        ):
            raise ConfigError(
                "CCM_DATABASE_URL must start with sqlite:// or postgres://, "
                f"got {self.database_url.split('://')[0]!r}"
            )
        if not 1 <= self.max_page_size <= 1000:
            raise ConfigError("CCM_MAX_PAGE_SIZE must be between 1 and 1000")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ConfigError("CCM_DEFAULT_PAGE_SIZE must be between 1 and CCM_MAX_PAGE_SIZE")
        if not 0 <= self.rate_limit_per_second <= MAX_RATE_PER_SECOND:
            raise ConfigError("CCM_RATE_LIMIT_PER_SECOND must be between 0 (off) and "
                              f"{MAX_RATE_PER_SECOND}")
        self._validate_ranges()
        if not 1 <= self.live_recheck_seconds <= 3600:
            raise ConfigError("CCM_LIVE_RECHECK_SECONDS must be between 1 and 3600")
        if not _INVOICE_ISSUER.fullmatch(self.invoice_issuer):
            raise ConfigError("CCM_INVOICE_ISSUER must be 1 to 32 letters, digits or dashes "
                              f"(A-Z, 0-9, -), not {self.invoice_issuer!r}")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("CCM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, "
                              f"CRITICAL, not {self.log_level!r}")
        self._validate_tls()
        _check_schedule("CCM_WEBHOOK_RETRY_SCHEDULE", self.webhook_retry_schedule)
        _check_schedule("CCM_OUTBOUND_RETRY_SCHEDULE", self.outbound_retry_schedule)
        _check_schedule("CCM_SMTP_RETRY_SCHEDULE", self.smtp_retry_schedule)
        self._validate_smtp()
        if not 0 <= self.outbound_stuck_margin_seconds <= 86400:
            raise ConfigError("CCM_OUTBOUND_STUCK_MARGIN_SECONDS must be between 0 and 86400")
        for i, issuer in enumerate(self.trusted_issuers, 1):
            issuer.check(f"CCM_TRUSTED_ISSUERS entry {i} ({issuer.issuer})")
        if self.console_oidc is not None:
            self.console_oidc.check("CCM_CONSOLE_OIDC")
        # Messages name the variable and the entry's position, never the secret.
        for i, old in enumerate(self.previous_secret_keys, 1):
            if old == self.secret_key:
                raise ConfigError(f"CCM_SECRET_KEY_PREVIOUS entry {i} repeats CCM_SECRET_KEY")
            if self.is_prod and (old == DEV_SECRET_KEY or len(old) < 32):
                raise ConfigError(f"CCM_SECRET_KEY_PREVIOUS entry {i} is the development "
                                  "default or shorter than 32 characters (CCM_ENV=prod)")
        self._validate_public_url()
        self._validate_metrics()
        self._validate_export_dir()
        if self.is_prod:
            missing = []
            if self.secret_key == DEV_SECRET_KEY:
                missing.append("CCM_SECRET_KEY (still the development default)")
            elif len(self.secret_key) < 32:
                missing.append("CCM_SECRET_KEY (shorter than 32 characters)")
            if self.is_sqlite:
                missing.append("CCM_DATABASE_URL (SQLite is for development; use postgres://)")
            if self.redis_url is None:
                missing.append("CCM_REDIS_URL (the embedded queue is for development)")
            if not self.public_url:
                missing.append("CCM_PUBLIC_URL (the https:// URL callers reach the gateway at)")
            if not self.metrics_token and self.metrics_open is not True:
                missing.append("CCM_METRICS_TOKEN (or CCM_METRICS_OPEN=true to serve /metrics "
                               "without a token)")
            if missing:
                raise ConfigError(
                    "CCM_ENV=prod refuses development defaults; set: " + "; ".join(missing)
                )
        # After the prod checks, which name a short or default key first. Not applied to
        # CCM_SECRET_KEY_PREVIOUS: a weak old key must still decrypt to be rotated away.
        problem = secret_key_problem(self.secret_key)
        if problem:
            raise ConfigError(f"CCM_SECRET_KEY {problem}")

    def _validate_ranges(self) -> None:
        longest_hold = int(MAX_HOLD_TTL.total_seconds())
        # (setting, lowest, highest, why the highest): each one a value its consumer
        # accepts, so a setting refused later (a hold TTL every authorizeCredit refuses,
        # a retention whose date arithmetic overflows) is refused here, at start-up.
        ranges = (
            ("port", 1, 65535, None),
            ("token_ttl_seconds", 1, 86400, "a day"),
            ("hold_ttl_seconds", 1, longest_hold,
             f"{longest_hold // 86400} days, the longest hold"),
            ("db_pool_size", 1, 1000, None),
            ("max_body_bytes", 1, MAX_BODY_BYTES, "1 GiB"),
            ("webhook_max_body_bytes", 1, MAX_BODY_BYTES, "1 GiB, PostgreSQL's largest field"),
            ("webhook_retention_days", 1, 3650, "ten years"),
            ("outbound_retention_days", 15, 3650,
             "more than the 14 days recoverOutboundEndpoint reaches back, up to ten years"),
            ("webhook_sweep_after_seconds", 1, 86400, "a day"),
            ("max_query_cost", 1, 10_000_000, None),
            ("console_session_seconds", 60, 7 * 86400, "a week"),
            ("console_token_seconds", 10, 3600, "an hour"),
            # GCRA keeps burst x interval in microseconds exact in Lua's doubles.
            ("rate_limit_burst", 0 if self.rate_limit_per_second == 0 else 1, 1_000_000, None),
        )
        for name, lowest, highest, why in ranges:
            value = getattr(self, name)
            if not lowest <= value <= highest:
                reason = f" ({why})" if why else ""
                hint = (" (set CCM_RATE_LIMIT_PER_SECOND=0 to turn rate limiting off)"
                        if name == "rate_limit_burst" and value < lowest else "")
                raise ConfigError(f"CCM_{name.upper()} must be between {lowest} and "
                                  f"{highest}{reason}, not {value}{hint}")

    def _validate_smtp(self) -> None:
        if not 1 <= self.smtp_timeout_seconds <= 300:
            raise ConfigError("CCM_SMTP_TIMEOUT_SECONDS must be between 1 and 300, "
                              f"not {self.smtp_timeout_seconds}")
        if self.smtp_from is not None and not _is_address(self.smtp_from):
            raise ConfigError("CCM_SMTP_FROM must be one e-mail address, e.g. "
                              f"ccm@example.com, not {self.smtp_from!r}")
        if not self.smtp_url:
            return
        target = parse_smtp_url(self.smtp_url)
        if self.smtp_from is None:
            raise ConfigError("CCM_SMTP_FROM is required with CCM_SMTP_URL: the address alert "
                              "e-mails are sent from")
        # A password must not cross the network in clear text in production.
        if (self.is_prod and target.username is not None and not target.use_tls
                and target.start_tls is not True and not _is_loopback_host(target.host)):
            raise ConfigError("CCM_SMTP_URL sends a password without TLS (CCM_ENV=prod): use "
                              "smtps:// or ?starttls=1")

    def _validate_public_url(self) -> None:
        if self.public_url is None:
            return
        name = "CCM_PUBLIC_URL"
        try:
            parts = urlsplit(self.public_url)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            parts = None
        if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
                or parts.username is not None or parts.query or parts.fragment
                or any(c.isspace() for c in self.public_url)):
            raise ConfigError(f"{name} must be an absolute http:// or https:// URL without "
                              "user, query or fragment, e.g. https://ccm.example.com, not "
                              f"{redact_url(self.public_url)!r}")
        if self.is_prod and parts.scheme != "https" and not _is_loopback_http(self.public_url):
            raise ConfigError(f"{name} must be an https:// URL with CCM_ENV=prod (http:// "
                              "only on loopback): callers send client secrets to it")

    def _validate_metrics(self) -> None:
        if self.metrics_open is True and self.metrics_token:
            raise ConfigError("CCM_METRICS_OPEN=true and CCM_METRICS_TOKEN contradict each "
                              "other; set one")
        if self.metrics_open is False and not self.metrics_token:
            raise ConfigError("CCM_METRICS_OPEN=false needs CCM_METRICS_TOKEN, the bearer "
                              "token /metrics then requires")

    def _validate_export_dir(self) -> None:
        if self.export_dir is None:
            return
        if not os.path.isdir(self.export_dir):
            raise ConfigError(f"CCM_EXPORT_DIR: no such directory: {self.export_dir}")
        if not os.access(self.export_dir, os.W_OK | os.X_OK):
            raise ConfigError(f"CCM_EXPORT_DIR: directory is not writable: {self.export_dir}")

    def _validate_tls(self) -> None:
        # Each message names the variable and the `serve` flag that sets it.
        if self.tls_min_version not in TLS_MIN_VERSIONS:
            raise ConfigError("CCM_TLS_MIN_VERSION (--tls-min-version) must be 1.2 or 1.3, "
                              f"not {self.tls_min_version!r}")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            missing = ("CCM_SSL_KEYFILE (--ssl-keyfile)" if self.ssl_certfile
                       else "CCM_SSL_CERTFILE (--ssl-certfile)")
            raise ConfigError(f"TLS needs both CCM_SSL_CERTFILE and CCM_SSL_KEYFILE (or "
                              f"neither); set {missing}")
        for name, flag, path in (("CCM_SSL_CERTFILE", "--ssl-certfile", self.ssl_certfile),
                                 ("CCM_SSL_KEYFILE", "--ssl-keyfile", self.ssl_keyfile)):
            if not path:
                continue
            if not os.path.isfile(path):
                raise ConfigError(f"{name} ({flag}): no such file: {path}")
            if not os.access(path, os.R_OK):
                raise ConfigError(f"{name} ({flag}): file is not readable: {path}")


# Accepted CCM_TLS_MIN_VERSION values.
TLS_MIN_VERSIONS = ("1.2", "1.3")
MAX_BODY_BYTES = 2**30

# CCM_SECRET_KEY signs tokens and derives the key of secrets at rest, so a guessable one
# gives both away. "Low entropy" is measured as: the Shannon entropy of the key's own
# character frequencies times its length, taken over the shortest prefix the key repeats
# ("abcabcabc" counts as "abc"). Over characters rather than decoded bytes: a 32-byte
# key in hex or base64 has 44-64 characters from a small alphabet, where the estimate
# comes close to the true 256 bits; over its 32 bytes it could not exceed 32 x 5 bits.
# 16 random bytes in hex (128 bits) estimate at 91 or more; the default is far below
# what a guessable key reaches ("password1234" 41 bits, "0123456789" repeated 33).
MIN_SECRET_KEY_BITS = 64
MIN_SECRET_KEY_DISTINCT = 8


def secret_key_problem(key: str) -> str | None:
    """What is wrong with a master secret (blank, too little entropy), or None."""
    if not key.strip():
        return "is blank"
    distinct = len(set(key))
    bits = _entropy_bits(key[:_period(key)])
    if bits < MIN_SECRET_KEY_BITS or distinct < MIN_SECRET_KEY_DISTINCT:
        return (f"has too little entropy: about {bits:.0f} bits with {distinct} distinct "
                f"characters (at least {MIN_SECRET_KEY_BITS} bits, a Shannon estimate over "
                f"its characters and any repeats, and {MIN_SECRET_KEY_DISTINCT} distinct "
                "characters are needed); generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'")
    return None


def _entropy_bits(text: str) -> float:
    n = len(text)
    return -n * sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _period(text: str) -> int:
    """The shortest p with text[i] == text[i - p] for every i >= p (KMP's failure function,
    linear in the key's length)."""
    border = [0] * len(text)
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + (text[i] == text[k])
    return len(text) - border[-1] if text else 0


def redact_url(url: str) -> str:
    """``url`` without its password, to show in messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}{'@' if user else ''}{host}{port}"))
    except ValueError:
        return url.split("://", 1)[0] + "://..."


@dataclass(frozen=True, kw_only=True)
class SmtpTarget:
    """Where alert e-mail goes: ``CCM_SMTP_URL`` taken apart."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False  # smtps://: TLS from the first byte
    # smtp:// only: True requires STARTTLS, False never tries it, None uses it when the
    # server offers it (aiosmtplib's default).
    start_tls: bool | None = None


SMTP_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


def parse_smtp_url(url: str) -> SmtpTarget:
    """Raise ``ConfigError`` naming CCM_SMTP_URL (without its password) on a bad URL."""
    name = "CCM_SMTP_URL"
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} has a bad host or port: {shown!r}") from None
    if parts.scheme not in SMTP_DEFAULT_PORTS:
        raise ConfigError(f"{name} must start with smtp:// or smtps://, not {shown!r}")
    if not parts.hostname:
        raise ConfigError(f"{name} needs a host, e.g. smtp://mail.example.com:587, "
                          f"not {shown!r}")
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigError(f"{name} takes no path or fragment: {shown!r}")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ConfigError(f"{name}: unknown parameters {', '.join(sorted(unknown))} "
                          "(only starttls=1 or starttls=0)")
    start_tls: bool | None = None
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in ("0", "1", "true", "false"):
            raise ConfigError(f"{name}: starttls must be 1 or 0, not {value!r}")
        if parts.scheme == "smtps":
            raise ConfigError(f"{name}: starttls is for smtp://; smtps:// is TLS already")
        start_tls = value in ("1", "true")
    return SmtpTarget(host=parts.hostname, port=port or SMTP_DEFAULT_PORTS[parts.scheme],
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None,
                      use_tls=parts.scheme == "smtps", start_tls=start_tls)


def _is_address(value: str) -> bool:
    _, address = parseaddr(value)
    local, _, domain = address.partition("@")
    return bool(local and domain) and not any(c.isspace() for c in address)


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_schedule(name: str, schedule: str) -> None:
    try:
        delays = tuple(int(part) for part in schedule.split(","))
    except ValueError:
        delays = ()
    if not 1 <= len(delays) <= 20 or any(d < 0 or d > 7 * 86400 for d in delays):
        raise ConfigError(f"{name} must be 1 to 20 comma-separated whole seconds between 0 "
                          f"and 604800, e.g. 5,300,1800, not {schedule!r}")


def _parse(name: str, raw: str, type_: Any) -> Any:
    t = str(type_)
    try:
        if t.startswith("int"):
            return int(raw)
        if t.startswith("bool"):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {t.split(' ')[0]}") from None
    return raw


__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEV_SECRET_KEY",
    "ConsoleOidc",
    "Settings",
    "SmtpTarget",
    "TrustedIssuer",
    "parse_console_oidc",
    "parse_smtp_url",
    "parse_trusted_issuers",
    "redact_url",
    "secret_key_problem",
]
