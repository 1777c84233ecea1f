"""The CLI refuses text no database can store, naming the flag, before it touches anything.

A NUL cannot reach argv, but bytes that are not UTF-8 can: Python reads them as lone
surrogates (``b"\\xff"`` -> ``"\\udcff"``), which neither database can encode. Each
command exits 2 with one line naming the flag, and writes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields

import pytest

from ccm_gateway.auth.models import ApiClient
from ccm_gateway.config import Settings

NOT_UTF8 = "acme\udcff"  # what Python makes of the argv bytes b"acme\xff"


def run_cli(database_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    names = {f"CCM_{f.name.upper()}" for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return subprocess.run([sys.executable, "-m", "ccm_gateway.cli", *argv],
                          env=env | {"CCM_DATABASE_URL": database_url}, capture_output=True,
                          text=True, errors="surrogateescape", timeout=120, check=False)


@pytest.mark.parametrize(("argv", "flag"), [
    (("clients", "create", "--name", NOT_UTF8, "--role", "viewer"), "--name"),
    (("clients", "revoke", NOT_UTF8), "client_id"),
    (("token", "--subject", NOT_UTF8, "--role", "viewer"), "--subject"),
    (("token", "--subject", "ops", "--role", "viewer", "--partner", NOT_UTF8), "--partner"),
    (("report", "aging", "--segment", NOT_UTF8), "--segment"),
    (("reconcile", "--file", "x.csv", "--integration", NOT_UTF8), "--integration"),
], ids=["clients-create-name", "clients-revoke", "token-subject", "token-partner",
        "report-segment", "reconcile-integration"])
async def test_text_no_database_can_store_is_refused_naming_the_flag(app, settings, argv,
                                                                   flag):
    before = await ApiClient.all().count()

    completed = run_cli(settings.database_url, *argv)

    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr.strip() == (
        f"error: {flag} must be valid Unicode text (it holds a lone surrogate)")
    assert await ApiClient.all().count() == before
