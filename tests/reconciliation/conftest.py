"""Fixtures of the reconciliation tests (their helpers are recon_kit.py: importing from a
conftest.py resolves to whichever was imported last)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from recon_kit import Recon, make_recon


@pytest.fixture
async def recon(gql: Any, make_customer: Any) -> Recon:
    """An integration that sees one segment of its own, and its customers."""
    return await make_recon(gql, make_customer)


# The CLI tests run `ccm-gateway` with the operations tests' helpers.
_OPS = str(Path(__file__).parents[1] / "ops")
if _OPS not in sys.path:
    sys.path.append(_OPS)
