"""A py-spy profile's samples by stage of a GraphQL read, exclusive: each sample counts
once, for the innermost frame that names a stage (bench/README.md, "Reads (issue 16)").

    .venv/bin/python bench/stages.py DIR/service-page.txt [more profiles ...]
"""

from __future__ import annotations

import sys
from collections import Counter

sys.dont_write_bytecode = True  # before the imports below: leave no __pycache__ in bench/

from profile_summary import load  # noqa: E402 - after dont_write_bytecode

# Innermost match wins; within one frame, the first stage listed.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("serialisation (JSON)", ("json/encoder.py", "json/__init__.py", "json/decoder.py")),
    ("ORM + database (tortoise, pypika, asyncpg)", ("tortoise/", "pypika", "asyncpg/")),
    ("DataLoaders", ("strawberry/dataloader.py",)),
    ("permission checks", ("strawberry/permission.py", "ccm_gateway/principal.py",
                           "ccm_gateway/graphql/permissions.py")),
    ("our types: Money/Customer/CreditAccount.of, Connection.of, cursors",
     ("ccm_gateway/customer/types.py", "ccm_gateway/ledger/types.py",
      "ccm_gateway/graphql/common.py", "ccm_gateway/kit/money.py",
      "ccm_gateway/kit/pagination.py")),
    ("service code", ("ccm_gateway/customer/service.py", "ccm_gateway/ledger/service.py")),
    ("parse", ("graphql/language/",)),
    ("validate", ("graphql/validation/",)),
    ("strawberry per-field wrapper (Info, arguments, extensions chain)",
     ("strawberry/schema/schema_converter.py", "strawberry/types/field.py",
      "strawberry/types/fields/resolver.py", "strawberry/schema/schema.py:2",
      "strawberry/execution/", "strawberry/utils/await_maybe.py",
      "ccm_gateway/graphql/lean.py")),
    ("graphql-core execution per field", ("graphql/execution/", "graphql/type/",
                                          "graphql/pyutils/")),
    ("strawberry operation (extensions, caches, cost, result)",
     ("strawberry/", "ccm_gateway/graphql/", "ccm_gateway/api/")),
    ("HTTP, middleware, auth, rate limit (uvicorn, starlette, redis)",
     ("uvicorn/", "starlette/", "ccm_gateway/http/", "ccm_gateway/app.py", "joserfc/",
      "redis/", "ccm_gateway/auth/", "ccm_gateway/kit/", "logging/", "ccm_gateway/observ")),
    ("event loop, tasks (asyncio, uvloop)", ("asyncio/", "uvloop")),
]


def stage_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        for stage, patterns in STAGES:
            if any(p in frame for p in patterns):
                return stage
    return "other"


def summarise(samples: list[tuple[list[str], int]]) -> str:
    counts: Counter[str] = Counter()
    for stack, n in samples:
        counts[stage_of(stack)] += n
    total = sum(counts.values()) or 1
    lines = [f"{total} samples"]
    for stage, _ in [*STAGES, ("other", ())]:
        lines.append(f"  {100 * counts[stage] / total:5.1f} %  {stage}")
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(path)
        print(summarise(load(path)))
