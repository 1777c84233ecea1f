"""`ccm-gateway` as a newcomer meets it: a service that cannot be reached is one line naming
its setting and exit 2, `serve` holds its port before it shows a token, `token` says when
it signs with the development key, `verify` and `keys rotate-master` show progress on a
terminal (and only there), and every flag explains itself.

Real `ccm-gateway` subprocesses throughout; the terminal is a real pseudo-terminal.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
from importlib.metadata import version
from pathlib import Path

import pytest
from ops_kit import (
    LONG_RUNNING,
    NO_DATABASE,
    ONE_SHOT,
    cli_env,
    free_port,
    on_a_terminal,
    run_cli,
)

from ccm_gateway.cli import build_parser

# The arguments of the long-running commands for which the database is needed first:
# `serve` alone starts on a database it cannot reach yet (its requests answer 503), so
# only `serve --migrate` must reach it.
NEEDS_DATABASE = {command: ONE_SHOT[command] for command in ONE_SHOT
                  if command not in NO_DATABASE} | {("serve",): ("--migrate",), ("worker",): ()}


def test_every_command_that_opens_the_database_is_in_the_table():
    assert set(NEEDS_DATABASE) | NO_DATABASE == set(ONE_SHOT) | LONG_RUNNING


@pytest.mark.parametrize("command", sorted(NEEDS_DATABASE), ids=" ".join)
def test_a_database_that_cannot_be_reached_is_one_line_naming_it_and_exit_2(command):
    port = free_port()  # nothing listens there
    env = cli_env(CCM_DATABASE_URL=f"postgres://ccm:hunter2@127.0.0.1:{port}/ccm",
                  CCM_PORT=str(free_port()))
    if command == ("worker",):  # the worker needs a Redis URL; it opens the database first
        env["CCM_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"

    result = run_cli(env, *command, *NEEDS_DATABASE[command])

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "hunter2" not in output
    assert output.strip().splitlines() == [output.strip()], output
    assert output.startswith(f"error: cannot reach the database at postgres://ccm@127.0.0.1:"
                             f"{port}/ccm (CCM_DATABASE_URL): "), output


def test_serve_on_a_port_in_use_fails_before_it_prints_a_token(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(cli_env(CCM_DATABASE_URL=f"sqlite://{tmp_path / 'ccm.sqlite3'}"),
                         "serve", "--host", "127.0.0.1", "--port", str(port))

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "token" not in output.lower() and "eyJ" not in output, output
    assert "Traceback" not in output
    [line] = [line for line in output.splitlines() if line.startswith("error:")]
    assert f"127.0.0.1:{port}" in line and "CCM_PORT" in line and "in use" in line, line


def test_token_warns_on_stderr_when_it_signs_with_the_development_key():
    signed = run_cli(cli_env(), "token", "--subject", "ops", "--role", "viewer")

    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.count(".") == 2 and "\n" not in signed.stdout.strip()  # the token only
    [warning] = signed.stderr.strip().splitlines()
    assert warning.startswith("warning: signed with the development key")
    assert "CCM_SECRET_KEY" in warning

    own_key = run_cli(cli_env(CCM_SECRET_KEY=secrets.token_urlsafe(32)), "token",
                      "--subject", "ops", "--role", "viewer")
    assert (own_key.returncode, own_key.stderr) == (0, "")


@pytest.mark.parametrize(("command", "steps"), [(("verify",), 4),
                                                (("keys", "rotate-master"), 3)],
                         ids=["verify", "keys rotate-master"])
def test_progress_is_shown_on_a_terminal_and_only_there(command, steps, tmp_path: Path):
    env = cli_env(CCM_DATABASE_URL=f"sqlite://{tmp_path / 'ccm.sqlite3'}")
    assert run_cli(env, "migrate").returncode == 0

    code, screen = on_a_terminal(env, *command)

    assert code == 0, screen
    assert f"{command[-1]}:" in screen and f"{steps}/{steps}" in screen, screen
    assert "\x1b[" in screen, "rich draws the bar with terminal control sequences"

    piped = run_cli(env, *command)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout + piped.stderr
    assert f"{command[-1]}:" not in piped.stderr and "/" not in piped.stderr
    if command == ("verify",):
        assert json.loads(piped.stdout)["ok"] is True
    else:
        assert piped.stdout.startswith("re-encrypted 0 stored secret(s)")


def test_version_prints_the_installed_version():
    result = run_cli(cli_env(), "--version")
    expected = f"ccm-gateway {version('ccm-gateway')}"
    assert (result.returncode, result.stdout.strip()) == (0, expected)


def _parsers(parser: argparse.ArgumentParser, path: str = "ccm-gateway"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_flag_argument_and_command_has_help():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                # each command's line in its parent's --help
                missing += [f"{path} {a.dest}" for a in action._choices_actions
                            if not a.help or a.help == argparse.SUPPRESS]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []
