"""A/B runs only: serve the unchanged service with one candidate change patched in at start-up.

This changes nothing in ``ccm_gateway``; it lets ``bench/run.py --service-cmd`` measure
what a proposed change would buy before anyone makes it. ``BENCH_VARIANT`` picks it:

* ``schema-caches``: ``build_schema()`` with strawberry's ``ParserCache`` and
  ``ValidationCache``, and the depth / alias limit rules built once at import
  instead of per request (``QueryDepthLimiter`` and ``MaxAliasesLimiter`` make
  a new rule class in every request's extension instance, so the validation
  cache, keyed on the rule classes, could never hit). Same limits, same errors.
* ``no-outbox``: every ledger write as it is, minus its outbox message (so minus the
  wake too): what writing the outbox costs the write paths (issue 12's "no more than
  10 %"). Not a configuration anyone could run: the outbox is how changes get out.
* ``no-policy``: every ledger write as it is, minus the credit policy's part of it: no
  threshold or velocity evaluation, and the account lock without the policy revision it
  reads along (issue 13: what the policy costs a write that crosses nothing).
* unset or ``none``: the service as it is (a control for the launcher itself).

    BENCH_VARIANT=schema-caches /work/venv/bin/python bench/run.py \\
        --service-cmd "{python} bench/variant_serve.py --port {port} --workers {workers}"

uvicorn's worker processes import this module by name, so the patch applies in each.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import ccm_gateway.api.schema as schema_module
import ccm_gateway.app as app_module

VARIANT = os.environ.get("BENCH_VARIANT", "none")


def _schema_with_caches():  # type: ignore[no-untyped-def]
    from strawberry.extensions import (
        AddValidationRules,
        MaxTokensLimiter,
        ParserCache,
        ValidationCache,
        max_aliases,
        query_depth_limiter,
    )

    from ccm_gateway.graphql.errors import MapErrors

    rules = [query_depth_limiter.create_validator(schema_module.MAX_DEPTH, None, None),
             max_aliases.create_validator(schema_module.MAX_ALIASES)]

    def build_schema():  # type: ignore[no-untyped-def]
        return schema_module.Schema(
            query=schema_module.Query,
            mutation=schema_module.Mutation,
            extensions=[
                lambda: AddValidationRules(rules),
                lambda: MaxTokensLimiter(max_token_count=schema_module.MAX_TOKENS),
                MapErrors,
                lambda: ParserCache(maxsize=256),
                lambda: ValidationCache(maxsize=256),
            ],
        )

    return build_schema


def _without_outbox() -> None:
    import ccm_gateway.ledger.service as ledger_module

    async def nothing() -> None:
        return None

    def tell(customer_id, event_type=None, data=None):  # type: ignore[no-untyped-def]
        # An unreferenced SELECT in a WITH is never run: the write statement stays one.
        return ledger_module._Write("SELECT 1", [], nothing)

    ledger_module._tell = tell


def _without_policy() -> None:
    import ccm_gateway.ledger.service as ledger_module

    async def nothing(*args, **kwargs):  # type: ignore[no-untyped-def]
        return None

    lock_sql = ledger_module._lock_account_sql
    revision = '(SELECT "revision" FROM "policy_revision" WHERE "id" = 1)'

    def lock_without_revision() -> str:
        return lock_sql().replace(revision, "NULL")

    ledger_module._evaluate_policy = nothing
    ledger_module._lock_account_sql = lock_without_revision


if VARIANT == "schema-caches":
    app_module.build_schema = _schema_with_caches()
elif VARIANT == "no-outbox":
    _without_outbox()
elif VARIANT == "no-policy":
    _without_policy()
elif VARIANT != "none":
    raise SystemExit(f"BENCH_VARIANT={VARIANT!r}: expected schema-caches, no-outbox, "
                     "no-policy or none")

factory = app_module.app_from_env


def main() -> None:
    import uvicorn

    from ccm_gateway.observability import configure_logging

    p = argparse.ArgumentParser(description="serve the service with a BENCH_VARIANT patch")
    p.add_argument("--port", type=int, default=8710)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    configure_logging(os.environ.get("CCM_LOG_LEVEL", "INFO"))
    # The same server settings as `ccm-gateway serve`.
    uvicorn.run("variant_serve:factory", factory=True, app_dir=str(Path(__file__).parent),
                host="127.0.0.1", port=args.port, workers=args.workers, access_log=False,
                log_config=None, loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
