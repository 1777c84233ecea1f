"""Running the stock front-end tools of tests/apollo (Apollo Client 4, graphql-schema-linter,
graphql-http's audit) with node. Imported by the test modules; the fixtures are in this
folder's conftest.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

APOLLO_DIR = Path(__file__).resolve().parents[1] / "apollo"
NODE_TIMEOUT = 120.0


async def run_node(node: str, *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    """Run ``node args...`` in tests/apollo without blocking the event loop (which serves
    ``live_url``); its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        node, *args, cwd=APOLLO_DIR, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(stdin), NODE_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"node {' '.join(args)} ran past {NODE_TIMEOUT} s") from None
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def run_script(node: str, script: str, *args: str) -> list[dict[str, Any]]:
    """Run a tests/apollo script that prints one JSON object a line; those objects."""
    code, output = await run_node(node, script, *args)
    assert code == 0, f"{script} exited with {code}:\n{output[-4000:]}"
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]
