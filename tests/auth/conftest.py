"""Real OIDC providers (oidc-provider 9 on node, tests/oidc/provider.mjs, started by
tests/oidc_kit.py) for the trusted-issuer tests: one process per fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial

import oidc_kit
import pytest
from oidc_kit import provider


@pytest.fixture(scope="session")
def node() -> str:
    return oidc_kit.node()


@pytest.fixture(scope="session")
def start_provider(node: str) -> Callable[..., AbstractContextManager[str]]:
    """``with start_provider() as issuer:`` a provider of one's own."""
    return partial(provider, node)


@pytest.fixture(scope="session")
def trusted_provider(node: str) -> Iterator[str]:
    with provider(node) as issuer:
        yield issuer


@pytest.fixture(scope="session")
def other_provider(node: str) -> Iterator[str]:
    """A second instance, its clock two hours slow: its tokens expired on arrival."""
    with provider(node, clock_offset=-7200) as issuer:
        yield issuer
