"""Real processes for the operations tests: `ccm-gateway` subprocesses and a redis-server of
the test's own on a free loopback port (tests/ops/conftest.py makes fixtures of them)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import httpx
import pytest

from ccm_gateway.config import Settings

START_TIMEOUT = 60.0
MISSING_CLIENT = "ccm_" + "0" * 24
MISSING_INTEGRATION = "missing-integration"

# Every `ccm-gateway` command (test_cli_empty_database checks that the table covers the
# parser) and the arguments it is run with; serve and worker keep running.
ONE_SHOT = {
    ("migrate",): (),
    ("token",): ("--subject", "ops", "--role", "admin"),
    ("verify",): (),
    ("clients", "create"): ("--name", "ops", "--role", "viewer"),
    ("clients", "list"): (),
    ("clients", "revoke"): (MISSING_CLIENT,),
    ("keys", "rotate"): (),
    ("keys", "rotate-master"): (),
    ("report",): ("aging",),
    # Billing and receivables: reconciliation and the ERP daily batch.
    ("reconcile",): ("--file", "balances.csv", "--integration", MISSING_INTEGRATION),
    ("export",): ("--date", "2001-01-01", "--deliver"),
}
# Commands that run on an empty database and refuse the object their arguments name.
REFUSE_MISSING = {("clients", "revoke"): MISSING_CLIENT, ("reconcile",): MISSING_INTEGRATION}
LONG_RUNNING = {("serve",), ("worker",)}
# Commands that never open the database.
NO_DATABASE = {("token",)}


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set:
    """Every (sub)command path of ``parser``."""
    found = set()
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= commands(sub, (*prefix, name)) or {(*prefix, name)}
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(**variables: str) -> dict[str, str]:
    """The caller's environment without any CCM_ setting, plus ``variables``."""
    names = {f"CCM_{f.name.upper()}" for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return env | {"PYTHONUNBUFFERED": "1"} | variables


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccm_gateway.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def on_a_terminal(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str]:
    """Run `ccm-gateway` with stdin, stdout and stderr on a new pseudo-terminal; its exit
    code and everything it wrote there."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "ccm_gateway.cli", *args],
                               env=env | {"TERM": "xterm-256color", "COLUMNS": "100"},
                               stdin=terminal, stdout=terminal, stderr=terminal,
                               close_fds=True)
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError as exc:  # EIO: every writer closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            output += chunk
        return process.wait(timeout=10), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)


class Processes:
    """`ccm-gateway` subprocesses with their output in files; all stopped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "ccm_gateway.cli", *args], env=env,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.started.append((name, proc, log))
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        path = next(log for _, p, log in self.started if p is proc)
        return path.read_text(errors="replace")

    async def wait_for_log(self, proc: subprocess.Popen[bytes], text: str, *, count: int = 1,
                           timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.log(proc).count(text) < count:
            if proc.poll() is not None:
                raise AssertionError(f"exited with {proc.returncode} before logging {text!r}:\n"
                                     f"{self.log(proc)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged {count}x within {timeout}s:\n"
                                     f"{self.log(proc)}")
            await asyncio.sleep(0.1)

    async def serve(self, name: str, env: dict[str, str], *args: str,
                    port: int | None = None) -> str:
        """Start `ccm-gateway serve` on ``port`` (default: a free one); its base URL once
        /healthz answers."""
        port = port or free_port()
        proc = self.start(name, env, "serve", "--host", "127.0.0.1", "--port", str(port), *args)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited with {proc.returncode}:\n"
                                         f"{self.log(proc)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return base
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not answer within {START_TIMEOUT}s:\n"
                                         f"{self.log(proc)}")
                await asyncio.sleep(0.2)

    def stop_all(self) -> None:
        for _, proc, _ in self.started:
            if proc.poll() is None:
                proc.terminate()
        for _, proc, _ in self.started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class RedisServer:
    """A redis-server of the test's own, without persistence: killed, it comes back empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
