"""GraphiQL in a real browser with no internet: `ccm-gateway serve` in dev, Debian's headless
Chromium driven by playwright-core (tests/browser/graphiql.mjs), every request that is not
to the gateway on loopback refused and recorded. The editor must render, carry the token
serve printed, and run a query with it."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ops_kit import Processes, cli_env
from testkit import require_service

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def node() -> str:
    node = shutil.which("node")
    if node is None or not Path(CHROMIUM).exists():
        require_service("Chromium", "needs node and Debian's chromium (apt-get install chromium)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        require_service("playwright-core", "run: npm ci --prefix tests/browser")
    return node  # type: ignore[return-value]


async def test_graphiql_renders_offline_with_the_token_serve_printed_and_runs_a_query(
        node: str, processes: Processes, tmp_path: Path) -> None:
    base = await processes.serve("serve", cli_env(
        CCM_DATABASE_URL=f"sqlite://{tmp_path / 'ccm.sqlite3'}", CCM_ENV="dev"))
    printed = processes.log(processes.started[0][1])
    [token] = re.findall(r"^  (eyJ[\w-]+\.[\w-]+\.[\w-]+)$", printed, re.MULTILINE)

    run = await asyncio.to_thread(
        subprocess.run, [node, "graphiql.mjs", f"{base}/graphql", str(tmp_path / "profile"),
                         str(tmp_path / "graphiql.png")],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180, check=False)

    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["offLoopback"] == [], "the page asked for something beyond the gateway"
    assert seen["rendered"], seen
    assert seen["pageErrors"] == []
    headers = [json.loads(text) for text in seen["editors"] if "Authorization" in text]
    assert headers == [{"Authorization": f"Bearer {token}"}], seen["editors"]
    assert json.loads(seen["response"]) == {"data": {"sites": []}}, seen["response"]
