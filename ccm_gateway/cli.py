"""`ccm-gateway`: serve, worker, migrate, token, verify. Thin over the services."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from ccm_gateway.config import Settings
from ccm_gateway.errors import CCMError, ConfigError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ccm_gateway.auth.tokens import TokenService
    from ccm_gateway.db import migrate
    from ccm_gateway.observability import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    if settings.is_sqlite or args.migrate:
        applied = asyncio.run(migrate(settings))
        if applied:
            print(f"applied migrations: {', '.join(applied)}", file=sys.stderr)
    host, port = args.host or settings.host, args.port or settings.port
    if not settings.is_prod:
        token = TokenService(settings).issue("dev-admin", ["admin"], ttl_seconds=12 * 3600)
        print(
            f"\nCCM Gateway on http://{host}:{port}\n"
            f"  GraphQL (and GraphiQL in a browser): http://{host}:{port}/graphql\n"
            f"  health: http://{host}:{port}/healthz   readiness: http://{host}:{port}/readyz\n"
            f"  a 12-hour development admin token (send as 'Authorization: Bearer <token>'):\n"
            f"  {token}\n"
            f"  more tokens: ccm-gateway token --subject NAME --role ROLE\n",
            file=sys.stderr, flush=True)
    if args.workers > 1 and settings.run_worker_in_process:
        print("several API processes need CCM_REDIS_URL (the embedded queue is per process)",
              file=sys.stderr)
        return 2
    uvicorn.run("ccm_gateway.app:app_from_env", factory=True, host=host, port=port,
                workers=args.workers, access_log=False, log_config=None,
                loop="uvloop", http="httptools")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from ccm_gateway.observability import configure_logging
    from ccm_gateway.worker import run_worker

    settings = _settings()
    if settings.redis_url is None:
        print("ccm-gateway worker needs CCM_REDIS_URL; on the embedded default "
              "`ccm-gateway serve` runs the worker itself", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from ccm_gateway.db import migrate

    applied = asyncio.run(migrate(_settings()))
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from ccm_gateway.auth.tokens import TokenService

    try:
        print(TokenService(_settings()).issue(
            args.subject, args.role, kind=args.kind, ttl_seconds=args.ttl,
            partner_id=args.partner))
    except CCMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ccm_gateway.verify import run_verify

    report = asyncio.run(run_verify(_settings()))
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccm-gateway",
                                     description="Customer credit management gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (and, on the embedded default, the worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=_positive)
    serve.add_argument("--workers", type=_positive, default=1, help="API processes")
    serve.add_argument("--migrate", action="store_true",
                       help="apply migrations first (always done on SQLite)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run an arq worker against CCM_REDIS_URL")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="print a bearer token signed with the local key")
    token.add_argument("--subject", required=True)
    token.add_argument("--role", required=True, action="append",
                       help="admin, finance, credit_manager, it_admin, auditor or viewer; "
                            "repeat for several")
    token.add_argument("--kind", choices=["user", "client"], default="user")
    token.add_argument("--ttl", type=_positive, help="lifetime in seconds")
    token.add_argument("--partner", help="scope the token to one partner's customers")
    token.set_defaults(func=cmd_token)

    verify = sub.add_parser("verify", help="check balances against entries and the audit chain")
    verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
