"""Summarise a py-spy profile (``py-spy record --format raw``: collapsed stacks).

Two views of the same samples:

* stages, inclusive: the share of samples with a frame of that stage anywhere
  on the stack (they nest, so they do not add up to 100 %);
* libraries, by self time: the share of samples whose innermost Python frame
  lies in that library (these add up to 100 %). Time in C extensions shows
  under the Python frame that called them (uvloop's loop under asyncio's
  ``Runner.run``, asyncpg's protocol under ``asyncpg``).

    python bench/profile_summary.py /tmp/profile.txt [--top 20]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter

# (label, regex on one frame "function (path:line)"); inclusive.
STAGES: list[tuple[str, str]] = [
    ("HTTP server + ASGI (uvicorn run_asgi and below)", r"^RequestResponseCycle\.run_asgi "),
    ("  starlette middleware + routing", r"\(starlette/"),
    ("  RequestIdMiddleware + access log", r"^RequestIdMiddleware\.__call__ "),
    ("    access log (logging + JsonFormatter)", r"\(logging/__init__\.py|^JsonFormatter\."),
    ("  bearer token verify (joserfc)", r"^TokenService\.verify "),
    ("  strawberry HTTP view (request/response JSON)", r"^AsyncBaseHTTPView\.run "),
    ("    GraphQL parse", r"^_parse_operation_document |\(graphql/language/parser\.py"),
    ("    GraphQL validation", r"^_run_validation |\(graphql/validation/validate\.py"),
    ("    GraphQL execution (resolvers included)", r"^Schema\._execute_operation "),
    ("      service code (ccm_gateway.*.service)", r"\(ccm_gateway/[a-z_]+/service\.py"),
    ("      audit.record", r"^record \(ccm_gateway/audit/service\.py"),
    ("      transaction begin/commit (tortoise)", r"^TransactionContext.*\.__a(enter|exit)__ "
                                                  r"|in_transaction"),
    ("    ORM: tortoise + pypika (asyncpg included)", r"\((tortoise|pypika_tortoise)/"),
    ("      pypika SQL building", r"\(pypika_tortoise/"),
    ("      asyncpg", r"\(asyncpg/"),
    ("  bare app handlers", r"\(bare_app\.py|^(credit_check|authorize) \(bare_app"),
    ("JSON encode/decode (json module)", r"\(json/"),
]

LIBRARIES = [
    ("graphql-core", r"\(graphql/"),
    ("strawberry", r"\(strawberry/"),
    ("tortoise", r"\(tortoise/"),
    ("pypika", r"\(pypika_tortoise/"),
    ("asyncpg", r"\(asyncpg/"),
    ("ccm_gateway", r"\(ccm_gateway/"),
    ("starlette", r"\(starlette/"),
    ("uvicorn", r"\(uvicorn/"),
    ("json", r"\(json/"),
    ("logging", r"\(logging/"),
    ("joserfc/cryptography", r"\((joserfc|cryptography)/"),
    ("redis-py", r"\(redis/"),
    ("arq", r"\(arq/"),
    ("asyncio + uvloop (event loop)", r"\(asyncio/|\(uvloop/"),
    ("bare app", r"\(bare_(app|webhook)\.py"),
    ("generated code (dataclass/lambda)", r"\(<string>"),
]


def load(path: str) -> list[tuple[list[str], int]]:
    samples = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            samples.append((stack.split(";"), int(count)))
    return samples


def summarise(samples: list[tuple[list[str], int]], top: int = 15,
              stages: list[tuple[str, str]] | None = None) -> str:
    """``stages``: (label, regex) pairs to report instead of the GraphQL ones (STAGES). A regex
    is searched in each frame; one written ``stack:<regex>`` in the whole stack, its frames
    joined by ";" (to say "this call made from that line")."""
    total = sum(n for _, n in samples)
    if not total:
        return "no samples"
    out = [f"{total} samples"]
    out.append("stages (inclusive):")
    for label, pattern in stages or STAGES:
        if pattern.startswith("stack:"):
            rx = re.compile(pattern[6:])
            n = sum(c for frames, c in samples if rx.search(";".join(frames)))
        else:
            rx = re.compile(pattern)
            n = sum(c for frames, c in samples if any(rx.search(f) for f in frames))
        out.append(f"  {100 * n / total:5.1f} %  {label}")
    out.append("libraries (self time of the innermost Python frame):")
    by_lib: Counter[str] = Counter()
    compiled = [(name, re.compile(p)) for name, p in LIBRARIES]
    for frames, c in samples:
        leaf = frames[-1]
        for name, rx in compiled:
            if rx.search(leaf):
                by_lib[name] += c
                break
        else:
            by_lib["other"] += c
    for name, n in by_lib.most_common():
        out.append(f"  {100 * n / total:5.1f} %  {name}")
    out.append(f"top {top} functions by self time:")
    leaves: Counter[str] = Counter()
    for frames, c in samples:
        leaves[re.sub(r":\d+\)$", ")", frames[-1])] += c
    for name, n in leaves.most_common(top):
        out.append(f"  {100 * n / total:5.1f} %  {name[:110]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Summarise py-spy raw (collapsed) profiles.")
    p.add_argument("files", nargs="+")
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args(argv)
    for path in args.files:
        print(f"== {path}")
        print(summarise(load(path), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
