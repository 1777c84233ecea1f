"""`ccm-gateway`: serve, worker, migrate, token, verify, clients, report, keys. Thin over the
services.

Exit codes: 0 done; 1 `verify` found a problem; 2 the command cannot run as configured (a
bad setting or flag, a database or Redis that cannot be reached, a schema behind the
code, a port in use), said in one line on stderr that names the setting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from ccm_gateway import __version__
from ccm_gateway.config import DEV_SECRET_KEY, SERVE_DEV_TOKEN_VARIABLE, Settings
from ccm_gateway.errors import CCMError, ConfigError, ServiceUnreachable
from ccm_gateway.kit.progress import Progress
from ccm_gateway.kit.text import check_text

T = TypeVar("T")


def _settings(*, database: bool = False, **overrides: Any) -> Settings:
    """Settings from CCM_ variables; with ``database``, also a SQLite file that opens."""
    try:
        settings = Settings.from_env(**overrides)
        if database:
            from ccm_gateway.db import check_database

            check_database(settings)
        return settings
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(main: Any, settings: Settings | None = None) -> Any:
    """``asyncio.run(main)``; a database or Redis that does not answer is one line naming
    its setting and where it points (``settings``, else the environment's), exit 2."""
    from ccm_gateway.db import UNAVAILABLE_ERRORS, unreachable

    try:
        return asyncio.run(main)
    except ServiceUnreachable as exc:
        error: Exception = exc
    except UNAVAILABLE_ERRORS as exc:
        error = unreachable(settings or _settings(), exc) or exc
        if error is exc:
            raise
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(2) from None


async def _prepare_database(settings: Settings, *, serving: bool = False) -> None:
    """Before a command uses the database: on the embedded default, apply pending
    migrations (as serve does); on PostgreSQL, refuse a database that is not at the code's
    newest migration in one line, exit 2 (only `ccm-gateway migrate` changes its schema).

    ``serving``: `serve` starts anyway, with a warning, and /readyz reports not ready until
    the schema is migrated (an API may start before its release's migration job ends); a
    database it cannot reach yet is left to the app, which answers 503 meanwhile."""
    from tortoise.context import TortoiseContext

    from ccm_gateway.config import redact_url
    from ccm_gateway.db import (
        UNAVAILABLE_ERRORS,
        migrate,
        schema_problem,
        tortoise_config,
        unreachable,
    )

    if settings.is_sqlite:
        applied = await migrate(settings)
        if applied:
            print(f"applied migrations: {', '.join(applied)}", file=sys.stderr)
        return
    try:
        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(settings, with_aerich=True))
            problem = await schema_problem(ctx.connections.get("default"), settings.dialect)
    except UNAVAILABLE_ERRORS as exc:
        if serving and unreachable(settings, exc) is not None:
            return
        raise
    if problem is None:
        return
    where = f"the database at {redact_url(settings.database_url)} (CCM_DATABASE_URL) is {problem}"
    if serving:
        print(f"warning: {where}; /readyz reports not ready until: ccm-gateway migrate",
              file=sys.stderr)
        return
    print(f"error: {where}; run: ccm-gateway migrate", file=sys.stderr)
    raise SystemExit(2)


_TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
# `serve` flags that override a CCM_ setting of the same name (host and port too: the
# default CCM_PUBLIC_URL is where serve listens).
_SERVE_FLAGS = ("host", "port", "ssl_certfile", "ssl_keyfile", "tls_min_version")


def _tls_context(config: Any, default_factory: Callable[[], ssl.SSLContext], *,
                 min_version: str) -> ssl.SSLContext:
    """uvicorn ``ssl_context_factory``: uvicorn's own context, with a protocol floor.

    uvicorn has no minimum-version option; its ``ssl_version`` is the context's
    protocol (PROTOCOL_TLS_SERVER, which negotiates the highest version both
    sides share), not a floor. So we let uvicorn build the context as usual
    (certificate, key, Python's default ciphers, the HTTP protocol's ALPN) and
    set ``minimum_version`` on it; OpenSSL then refuses older handshakes. A
    module-level function in a ``functools.partial`` pickles, so the factory
    also reaches the spawned processes of ``--workers N``.
    """
    context = default_factory()
    context.minimum_version = _TLS_VERSIONS[min_version]
    return context


def _listen(settings: Settings) -> socket.socket:
    """The listening socket, made before anything is printed, as uvicorn would make it: a
    port in use (or a host that is not ours) is one line and exit 2, never after a token."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
        sock.listen(2048)  # uvicorn's default backlog
    except OSError as exc:
        sock.close()
        print(f"error: cannot listen on {settings.host}:{settings.port} (--host / --port, "
              f"CCM_HOST / CCM_PORT): {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None
    sock.set_inheritable(True)  # for the processes of --workers N
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from ccm_gateway.auth.tokens import TokenService
    from ccm_gateway.db import migrate
    from ccm_gateway.observability import configure_logging

    overrides = {name: getattr(args, name) for name in _SERVE_FLAGS
                 if getattr(args, name) is not None}
    settings = _settings(database=True, **overrides)
    # The app is built by uvicorn's factory from CCM_ variables (in each worker
    # process too), so the flags go into the environment: the app then sees the
    # same TLS settings (HSTS) as the listener.
    for name, value in overrides.items():
        os.environ[f"CCM_{name.upper()}"] = str(value)
    tls: dict[str, Any] = {}
    certfile, keyfile = settings.ssl_certfile, settings.ssl_keyfile
    if certfile and keyfile:  # settings.tls_enabled
        tls = {"ssl_certfile": certfile, "ssl_keyfile": keyfile,
               "ssl_context_factory": functools.partial(
                   _tls_context, min_version=settings.tls_min_version)}
        try:  # an unreadable PEM or a key that does not match: refuse now, by name
            # (an empty passphrase: an encrypted key fails here rather than prompting)
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                certfile, keyfile, password=lambda: "")
        except (ssl.SSLError, OSError) as exc:
            print("configuration error: CCM_SSL_CERTFILE / CCM_SSL_KEYFILE (--ssl-certfile / "
                  f"--ssl-keyfile) do not load as a PEM certificate and its key: {exc}",
                  file=sys.stderr)
            return 2
    configure_logging(settings.log_level)
    if settings.redis_url:
        # Here, not in the app's start-up, whose failure uvicorn logs as a traceback.
        _run(_check_queue(settings))
    if args.migrate:
        applied = _run(migrate(settings), settings)
        if applied:
            print(f"applied migrations: {', '.join(applied)}", file=sys.stderr)
    _run(_prepare_database(settings, serving=True), settings)
    if args.workers > 1 and settings.run_worker_in_process:
        print("several API processes need CCM_REDIS_URL (the embedded queue is per process)",
              file=sys.stderr)
        return 2
    host, port = settings.host, settings.port
    sock = _listen(settings)
    os.environ.pop(SERVE_DEV_TOKEN_VARIABLE, None)
    if not settings.is_prod:
        token = TokenService(settings).issue("dev-admin", ["admin"], ttl_seconds=12 * 3600)
        os.environ[SERVE_DEV_TOKEN_VARIABLE] = token
        base = f"{'https' if settings.tls_enabled else 'http'}://{host}:{port}"
        print(
            f"\nCCM Gateway on {base}\n"
            f"  GraphQL (and GraphiQL in a browser, with this token filled in): {base}/graphql\n"
            f"  health: {base}/healthz   readiness: {base}/readyz\n"
            f"  a 12-hour development admin token (send as 'Authorization: Bearer <token>'):\n"
            f"  {token}\n"
            f"  more tokens: ccm-gateway token --subject NAME --role ROLE\n",
            file=sys.stderr, flush=True)
    # What uvicorn.run does, on the socket bound above.
    config = uvicorn.Config("ccm_gateway.app:app_from_env", factory=True, host=host,
                            port=port, workers=args.workers, access_log=False,
                            log_config=None, loop="uvloop", http="httptools", **tls)
    server = uvicorn.Server(config)
    try:
        if args.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    if args.workers == 1 and not server.started:
        return 3  # uvicorn's STARTUP_FAILURE: the app's start-up failed, as it logged
    return 0


async def _check_queue(settings: Settings) -> None:
    from ccm_gateway.worker import open_queue

    await (await open_queue(settings)).aclose()


def cmd_worker(args: argparse.Namespace) -> int:
    from ccm_gateway.observability import configure_logging
    from ccm_gateway.worker import run_worker

    settings = _settings(database=True)
    if settings.redis_url is None:
        print("ccm-gateway worker needs CCM_REDIS_URL; on the embedded default "
              "`ccm-gateway serve` runs the worker itself", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    _run(_prepare_database(settings), settings)
    import uvloop  # installed with uvicorn[standard]; the API runs on it too

    try:
        uvloop.run(run_worker(settings))
    except asyncio.CancelledError:
        pass  # SIGTERM / SIGINT: the worker cancelled its jobs and closed; a normal stop
    except ServiceUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from ccm_gateway.db import migrate

    applied = _run(migrate(_settings(database=True)))
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def _check_text(args: argparse.Namespace, **flags: str) -> None:
    """Text from argv that no database can store (bytes that are not UTF-8 arrive as
    lone surrogates) is refused here, naming the flag, before anything is opened."""
    for attribute, flag in flags.items():
        check_text(getattr(args, attribute), flag)


def cmd_token(args: argparse.Namespace) -> int:
    from ccm_gateway.auth.tokens import TokenService

    settings = _settings()
    try:
        _check_text(args, subject="--subject", partner="--partner")
        token = TokenService(settings).issue(
            args.subject, args.role, kind=args.kind, ttl_seconds=args.ttl,
            partner_id=args.partner)
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if settings.secret_key == DEV_SECRET_KEY:
        print("warning: signed with the development key (CCM_SECRET_KEY's default): every "
              "gateway left on that key accepts this token, and anyone can sign one",
              file=sys.stderr)
    print(token)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ccm_gateway.verify import verify_all

    settings = _settings(database=True)
    with _progress("verify") as progress:
        report = _run(_with_db(lambda: verify_all(progress)), settings)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


@contextlib.contextmanager
def _progress(title: str) -> Iterator[Progress]:
    """A progress bar (rich) on stderr when it is a terminal; otherwise nothing is shown,
    and stdout is the command's plain output either way."""
    if not sys.stderr.isatty():
        yield lambda done, total, step: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as ProgressBar

    bar = ProgressBar(TextColumn(f"{title}: {{task.description}}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True))
    task = bar.add_task("starting", total=None)

    def report(done: int, total: int, step: str) -> None:
        bar.update(task, completed=done, total=total, description=step)

    with bar:
        yield report


async def _with_db(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work()`` with Tortoise initialised on the configured database; a database
    that does not answer is ``ServiceUnreachable``."""
    from tortoise import Tortoise

    from ccm_gateway.db import UNAVAILABLE_ERRORS, tortoise_config, unreachable

    settings = _settings(database=True)
    try:
        await _prepare_database(settings)
        await Tortoise.init(config=tortoise_config(settings))
        try:
            return await work()
        finally:
            await Tortoise.close_connections()
    except UNAVAILABLE_ERRORS as exc:
        if (error := unreachable(settings, exc)) is not None:
            raise error from None
        raise


def cmd_clients_create(args: argparse.Namespace) -> int:
    from ccm_gateway.auth import clients

    scopes = [s for text in args.scope or [] for s in text.split()]
    try:
        _check_text(args, name="--name")
        created = _run(_with_db(lambda: clients.create_client(
            args.name, args.role, scopes or None, expires_in_days=args.expires_in_days)))
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"client_id:     {created.client_id}")
    print(f"client_secret: {created.client_secret}")
    print(f"scope:         {created.client.scopes}")
    print("The secret is shown only now; store it safely.", file=sys.stderr)
    return 0


def cmd_clients_list(args: argparse.Namespace) -> int:
    from ccm_gateway.auth import clients

    print(json.dumps(_run(_with_db(clients.list_clients)), indent=2))
    return 0


def cmd_clients_revoke(args: argparse.Namespace) -> int:
    from ccm_gateway.auth import clients

    try:
        _check_text(args, client_id="client_id")
        client = _run(_with_db(lambda: clients.revoke_client(args.client_id)))
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"revoked {client.client_id} at {client.revoked_at.isoformat()}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ccm_gateway.principal import Principal, Role
    from ccm_gateway.reports import export

    # The operator's view: every customer (narrow it with the filter flags).
    operator = Principal.from_roles("cli", "user", frozenset({Role.ADMIN}))
    params = {name: value for name, value in (
        ("asOf", args.as_of), ("from", args.from_), ("to", args.to),
        ("currency", args.currency), ("segment", args.segment), ("siteId", args.site_id),
        ("riskProfile", args.risk_profile), ("partnerId", args.partner_id),
        ("customerId", args.customer_id)) if value is not None}
    try:
        _check_text(args, as_of="--as-of", from_="--from", to="--to", currency="--currency",
                    segment="--segment", site_id="--site-id", risk_profile="--risk-profile",
                    partner_id="--partner-id", customer_id="--customer-id")
        text = _run(_with_db(lambda: export.render(operator, args.report, params)))
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from ccm_gateway.auth.keys import KeyRing

    settings = _settings()
    key = _run(_with_db(lambda: KeyRing(settings).rotate(args.algorithm)))
    print(f"new signing key {key.kid} ({key.algorithm}); older keys verify until retired")
    return 0


def cmd_keys_rotate_master(args: argparse.Namespace) -> int:
    from ccm_gateway.flows import rotate_master
    from ccm_gateway.kit.secrets import SecretDecryptError

    settings = _settings()
    try:
        with _progress("rotate-master") as progress:
            count = _run(_with_db(lambda: rotate_master(settings, progress)), settings)
    except SecretDecryptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"re-encrypted {count} stored secret(s) under the current CCM_SECRET_KEY")
    return 0


# --- billing and receivables: reconciliation and the ERP daily batch ------------------


def cmd_reconcile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tortoise.transactions import in_transaction

    from ccm_gateway.errors import BadInput
    from ccm_gateway.principal import Actor
    from ccm_gateway.reconciliation import service as reconciliation_service

    path = Path(args.file)
    actor = Actor(type="user", id=f"cli:{os.environ.get('USER') or 'operator'}")

    async def work() -> Any:
        integration = await reconciliation_service.integration_by_slug(args.integration)
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"--file {path}: {exc}", field="file") from None
        async with in_transaction():
            return await reconciliation_service.reconcile_csv(
                actor, integration, text, path.name, tolerance_ppm=args.tolerance_ppm,
                progress=progress)

    try:
        _check_text(args, integration="--integration")
        with _progress("reconcile") as progress:
            run = _run(_with_db(work))
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(json.dumps({"runId": str(run.id), "matched": run.matched, "broken": run.broken,
                      "missingInLedger": run.missing_in_ledger,
                      "missingExternally": run.missing_externally}, indent=2))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tortoise.transactions import in_transaction

    from ccm_gateway.export import service as export_service
    from ccm_gateway.principal import Actor

    settings = _settings()
    directory = args.dir or settings.export_dir
    if not directory and not args.deliver:
        print("error: say where to write: --dir DIR or CCM_EXPORT_DIR (or --deliver)",
              file=sys.stderr)
        return 2
    if directory and not os.path.isdir(directory):
        print(f"error: --dir {directory}: no such directory", file=sys.stderr)
        return 2
    actor = Actor(type="user", id=f"cli:{os.environ.get('USER') or 'operator'}")

    async def work() -> tuple[Any, int]:
        day = export_service.parse_day(args.date)
        export = await export_service.build(day)
        messages = 0
        if args.deliver:
            async with in_transaction():
                messages = await export_service.record_delivery(actor, export)
        return export, messages

    try:
        export, messages = _run(_with_db(work))
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    written = export_service.write_files(export, Path(directory)) if directory else []
    for path in written:
        print(path)
    print(f"{len(export.entries)} ledger entries, {len(export.invoices)} invoices"
          + (f"; {messages} ledger.daily_export message(s) queued" if args.deliver else ""),
          file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccm-gateway", description="Customer credit management gateway. Settings are "
        "CCM_ environment variables (CCM_DATABASE_URL, CCM_REDIS_URL, CCM_SECRET_KEY, ...).",
        epilog="Exit status: 0 done, 1 verify found a problem, 2 cannot run as configured "
               "(the message names the setting).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API (and, on the embedded default, the worker)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1); CCM_HOST")
    serve.add_argument("--port", type=_positive, help="port to listen on (default 8000); CCM_PORT")
    serve.add_argument("--workers", type=_positive, default=1,
                       help="API processes sharing the port (default 1; more need CCM_REDIS_URL)")
    serve.add_argument("--migrate", action="store_true",
                       help="apply migrations first (always done on SQLite)")
    serve.add_argument("--ssl-certfile", metavar="PATH",
                       help="serve HTTPS with this PEM certificate (chain); CCM_SSL_CERTFILE")
    serve.add_argument("--ssl-keyfile", metavar="PATH",
                       help="the certificate's PEM private key; CCM_SSL_KEYFILE")
    serve.add_argument("--tls-min-version", choices=sorted(_TLS_VERSIONS),
                       help="lowest TLS version accepted (default 1.2); CCM_TLS_MIN_VERSION")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run an arq worker against CCM_REDIS_URL")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="print a bearer token signed with CCM_SECRET_KEY")
    token.add_argument("--subject", required=True, help="who the token names (its sub claim)")
    token.add_argument("--role", required=True, action="append",
                       help="admin, finance, credit_manager, it_admin, auditor or viewer; "
                            "repeat for several")
    token.add_argument("--kind", choices=["user", "client"], default="user",
                       help="a person or a machine client (default user)")
    token.add_argument("--ttl", type=_positive,
                       help="lifetime in seconds (default CCM_TOKEN_TTL_SECONDS)")
    token.add_argument("--partner", help="scope the token to one partner's customers")
    token.set_defaults(func=cmd_token)

    verify = sub.add_parser("verify", help="check balances against entries, the ledger, the inbox "
                                           "and the audit chains; exit 1 on a problem")
    verify.set_defaults(func=cmd_verify)

    clients = sub.add_parser("clients", help="manage OAuth 2.0 API clients (client_credentials)")
    clients_sub = clients.add_subparsers(dest="clients_command", required=True)
    create = clients_sub.add_parser("create", help="create a client; prints its secret once")
    create.add_argument("--name", required=True, help="what the client is, for people")
    create.add_argument("--role", required=True, action="append",
                        help="admin, finance, credit_manager, it_admin, auditor or viewer; "
                             "repeat for several")
    create.add_argument("--scope", action="append",
                        help="allowed scopes (permission names, space separated or repeated); "
                             "default: every permission of the roles")
    create.add_argument("--expires-in-days", type=_positive,
                        help="the client stops working after this many days (default never)")
    create.set_defaults(func=cmd_clients_create)
    clients_sub.add_parser("list", help="list clients (never secrets)").set_defaults(
        func=cmd_clients_list)
    revoke = clients_sub.add_parser("revoke", help="revoke a client; its tokens stop working")
    revoke.add_argument("client_id", help="the client_id that `clients create` printed")
    revoke.set_defaults(func=cmd_clients_revoke)

    report = sub.add_parser("report", help="write a receivables report as CSV (README: "
                                           "Billing and receivables, CSV export)")
    report.add_argument("report", choices=["aging", "dso", "compliance"],
                        help="aging (as of --as-of), dso or compliance (--from, --to)")
    report.add_argument("--as-of", help="aging: the instant, ISO 8601 with offset or a date "
                                        "(00:00 UTC); default now")
    report.add_argument("--from", dest="from_", help="dso, compliance: the period's start")
    report.add_argument("--to", help="dso, compliance: the period's end, excluded")
    report.add_argument("--currency", help="dso: only this currency")
    report.add_argument("--segment", help="only customers of this segment")
    report.add_argument("--site-id", help="only invoices of this site")
    report.add_argument("--risk-profile", help="only customers of this risk profile")
    report.add_argument("--partner-id", help="only customers of this partner")
    report.add_argument("--customer-id", help="only this customer")
    report.add_argument("--output", help="the file to write (default: standard output)")
    report.set_defaults(func=cmd_report)

    keys = sub.add_parser("keys", help="manage the token signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="add a new current signing key")
    rotate.add_argument("--algorithm", choices=["ES256", "RS256"], default="ES256",
                        help="the new key's signature algorithm (default ES256)")
    rotate.set_defaults(func=cmd_keys_rotate)
    rotate_master = keys_sub.add_parser(
        "rotate-master", help="re-encrypt stored secrets under the current CCM_SECRET_KEY "
                              "(old ones read with CCM_SECRET_KEY_PREVIOUS)")
    rotate_master.set_defaults(func=cmd_keys_rotate_master)

    reconcile = sub.add_parser("reconcile", help="match a CSV batch of external balances "
                                                 "with the ledger (a reconciliation run)")
    reconcile.add_argument("--file", required=True, metavar="F",
                           help="the CSV: customer_ref or customer_id, balance, currency, "
                                "as_of (see README)")
    reconcile.add_argument("--integration", required=True, metavar="SLUG",
                           help="the integration whose figures they are")
    reconcile.add_argument("--tolerance-ppm", type=int,
                           help="parts per million of the larger balance (default 100)")
    reconcile.set_defaults(func=cmd_reconcile)

    export = sub.add_parser("export", help="write a day's ledger entries and invoices (the "
                                           "ERP daily batch) as CSV, JSON Lines and SHA-256 "
                                           "sums")
    export.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the UTC day")
    export.add_argument("--dir", help="where to write (default CCM_EXPORT_DIR)")
    export.add_argument("--deliver", action="store_true",
                        help="also queue ledger.daily_export deliveries to subscribed "
                             "endpoints")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    exit_code: int = args.func(args)  # each subcommand's cmd_* function
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
