"""The wheel carries the data the installed package reads: both migration chains, the
protocol profiles, GraphiQL's vendored scripts and styles (served offline) and the ops
console's page and files (everything under ccm_gateway/_static/)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zipfile
from pathlib import Path

from ccm_gateway.graphiql import STATIC_DIR

STATIC_ROOT = STATIC_DIR.parent  # ccm_gateway/_static: graphiql/, console/

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIR = ROOT / "ccm_gateway" / "_static" / "console"


async def test_the_wheel_ships_migrations_profiles_and_graphiqls_files(tmp_path: Path) -> None:
    built = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                         "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stderr
    [wheel] = await asyncio.to_thread(lambda: list(tmp_path.glob("ccm_gateway-*.whl")))

    names = set(zipfile.ZipFile(wheel).namelist())

    vendored = {f"ccm_gateway/_static/{path.relative_to(STATIC_ROOT).as_posix()}"
                for path in STATIC_ROOT.rglob("*") if path.is_file()}
    assert "ccm_gateway/_static/graphiql/graphiql@3.8.3/graphiql.min.js" in vendored
    assert vendored <= names, sorted(vendored - names)
    console = {f"ccm_gateway/_static/console/{path.relative_to(CONSOLE_DIR).as_posix()}"
               for path in CONSOLE_DIR.rglob("*") if path.is_file()}
    assert {"ccm_gateway/_static/console/index.html",
            "ccm_gateway/_static/console/vendor/chart.js-4.5.1/chart.umd.js",
            "ccm_gateway/_static/console/vendor/graphql-ws-6.0.6/graphql-ws.min.js"} <= console
    assert console <= names, sorted(console - names)
    assert any(n.startswith("ccm_gateway/_data/migrations/postgres/") for n in names)
    assert any(n.startswith("ccm_gateway/_data/migrations/sqlite/") for n in names)
    assert any(n.startswith("ccm_gateway/_data/webhooks/") for n in names)
