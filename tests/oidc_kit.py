"""A real OIDC provider for tests: oidc-provider 9 on node (tests/oidc/provider.mjs), one
process per call, on a free loopback port. Used by tests/auth (trusted issuers) and
tests/console (the console's sign-in)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testkit import IN_CI, npm_installed

OIDC_DIR = Path(__file__).resolve().parent / "oidc"


def unavailable(message: str) -> None:
    """Skip on a laptop without node; fail under CI=true."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def node() -> str:
    """The node binary, with oidc-provider installed."""
    return npm_installed(OIDC_DIR, "oidc-provider")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def provider(node: str, clock_offset: int = 0, *,
             console_redirect_uri: str | None = None) -> Iterator[str]:
    """Run provider.mjs on a free loopback port until discovery answers; yield its issuer.
    ``console_redirect_uri``: also register the console's authorization-code client
    (``ccm-console``) with that redirect URI."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    if console_redirect_uri is not None:
        env["OIDC_CONSOLE_REDIRECT_URI"] = console_redirect_uri
    process = subprocess.Popen([node, "provider.mjs", str(port), str(clock_offset)],
                               cwd=OIDC_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
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
