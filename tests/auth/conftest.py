"""Real OIDC providers (oidc-provider 9 on node, tests/oidc/provider.mjs) for the
trusted-issuer tests: one process per fixture, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

import httpx
import pytest
from testkit import npm_installed

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> None:
    """Skip on a laptop without node; fail under CI=true."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def node() -> str:
    return npm_installed(OIDC_DIR, "oidc-provider")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def provider(node: str, clock_offset: int = 0) -> Iterator[str]:
    """Run provider.mjs on a free loopback port until discovery answers; yield its issuer."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([node, "provider.mjs", str(port), str(clock_offset)],
                               cwd=OIDC_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
                unavailable(f"oidc-provider exited with {process.returncode}: {output[-2000:]}")
            try:
                r = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
                if r.status_code == 200 and r.json()["issuer"] == issuer:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                unavailable("oidc-provider did not serve discovery within 20 s")
            time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


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
