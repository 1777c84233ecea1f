"""Typed settings from ``CCM_`` environment variables, built once at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ccm_gateway.errors import ConfigError
from ccm_gateway.kit.ratelimit import MAX_RATE_PER_SECOND

DEV_SECRET_KEY = "ccm-dev-insecure-secret-key-change-me"
DEFAULT_DATABASE_URL = "sqlite://ccm_gateway.sqlite3"


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
        from ccm_gateway.principal import Role

        def bad(attribute: str, problem: str) -> InvalidIssuer:
            return InvalidIssuer(where, attribute, problem)

        if not isinstance(self.issuer, str) or not self.issuer:
            raise bad("issuer", "'issuer' is required")
        if not isinstance(self.audience, str) or not self.audience:
            raise bad("audience", "'audience' is required")
        if not self.issuer.startswith("https://") and not _is_loopback_http(self.issuer):
            raise bad("issuer", "issuer must be an https:// URL (http:// only on loopback), "
                                f"not {self.issuer!r}")
        for name in ("role_claim", "partner_claim"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise bad(name, f"{name!r} must be a non-empty string")
        if not isinstance(self.role_map, Mapping) or not self.role_map:
            raise bad("role_map", "'role_map' must map claim values to roles")
        roles = {r.value for r in Role}
        for value, role in self.role_map.items():
            if role not in roles:
                raise bad("role_map", f"role_map[{value!r}] = {role!r} is not a role; "
                                      f"roles are {', '.join(sorted(roles))}")
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
    for issuer in seen:
        if seen.count(issuer) > 1:
            raise ConfigError(f"{name}: issuer {issuer!r} is listed twice")
    return tuple(issuers)


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
    token_issuer: str = "ccm-gateway"
    token_audience: str = "ccm-gateway"
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
    # When set, GET /metrics needs "Authorization: Bearer <this>".
    metrics_token: str | None = field(default=None, repr=False)

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
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"CCM_{f.name.upper()}"
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            if f.name == "trusted_issuers":
                values[f.name] = parse_trusted_issuers(raw)
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
        for name in ("token_ttl_seconds", "hold_ttl_seconds", "db_pool_size", "port",
                     "max_body_bytes", "webhook_max_body_bytes", "webhook_retention_days",
                     "webhook_sweep_after_seconds", "max_query_cost"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"CCM_{name.upper()} must be positive")
        if self.port > 65535:
            raise ConfigError("CCM_PORT must be at most 65535")
        if not 0 <= self.rate_limit_per_second <= MAX_RATE_PER_SECOND:
            raise ConfigError("CCM_RATE_LIMIT_PER_SECOND must be between 0 (off) and "
                              f"{MAX_RATE_PER_SECOND}")
        if self.rate_limit_per_second > 0 and self.rate_limit_burst < 1:
            raise ConfigError("CCM_RATE_LIMIT_BURST must be at least 1 (set "
                              "CCM_RATE_LIMIT_PER_SECOND=0 to turn rate limiting off)")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("CCM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, "
                              f"CRITICAL, not {self.log_level!r}")
        self._validate_tls()
        try:
            delays = self.webhook_retry_delays
        except ValueError:
            delays = ()
        if not 1 <= len(delays) <= 20 or any(d < 0 or d > 7 * 86400 for d in delays):
            raise ConfigError("CCM_WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated "
                              "whole seconds between 0 and 604800, e.g. 5,300,1800, not "
                              f"{self.webhook_retry_schedule!r}")
        for i, issuer in enumerate(self.trusted_issuers, 1):
            issuer.check(f"CCM_TRUSTED_ISSUERS entry {i} ({issuer.issuer})")
        # Messages name the variable and the entry's position, never the secret.
        for i, old in enumerate(self.previous_secret_keys, 1):
            if old == self.secret_key:
                raise ConfigError(f"CCM_SECRET_KEY_PREVIOUS entry {i} repeats CCM_SECRET_KEY")
            if self.is_prod and (old == DEV_SECRET_KEY or len(old) < 32):
                raise ConfigError(f"CCM_SECRET_KEY_PREVIOUS entry {i} is the development "
                                  "default or shorter than 32 characters (CCM_ENV=prod)")
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
            if missing:
                raise ConfigError(
                    "CCM_ENV=prod refuses development defaults; set: " + "; ".join(missing)
                )

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


__all__ = ["Settings", "TrustedIssuer", "parse_trusted_issuers", "DEV_SECRET_KEY",
           "DEFAULT_DATABASE_URL"]
