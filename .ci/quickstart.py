"""CI stage 0: README's quick start, as a newcomer on a fresh machine would run it.

Copies the committed tree to an empty directory, runs README's run command there
(taken from README itself, so the two cannot drift) with CCM_PORT set to a free
port, waits for /healthz, sends one GraphQL query with the development token the
command prints, and stops the server. Any failure exits non-zero.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 600  # a fresh venv and `pip install .` from the registry included


def run_command() -> str:
    """The command under '# 1.' in README's first ```sh block of the Quick start."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    if block is None:
        sys.exit("README's Quick start has no ```sh block")
    lines = block.group(1).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# 1."):
            return lines[i + 1].strip()
    sys.exit("README's Quick start has no '# 1.' command")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_tree(target: Path) -> None:
    """The committed files only, as a clean clone has them."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    archive = subprocess.run(["tar", "-c", "--null", "-T", "-"], cwd=ROOT, check=True,
                             input=b"\0".join(f for f in files if f), capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def main() -> int:
    command = run_command()
    port = free_port()
    print(f"quick start: {command}  (CCM_PORT={port})", flush=True)
    with tempfile.TemporaryDirectory(prefix="ccm-quickstart-") as tmp:
        work = Path(tmp)
        copy_tree(work)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
        env |= {"CCM_PORT": str(port), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        server = subprocess.Popen(["bash", "-c", command], cwd=work, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True)
        output: list[str] = []
        token: list[str] = []

        def read(stream: IO[str]) -> None:
            for line in stream:
                output.append(line)
                if re.fullmatch(r"\s*ey[\w-]+\.[\w-]+\.[\w-]+\s*", line):
                    token.append(line.strip())

        if server.stdout is None:
            raise RuntimeError("the run command has no stdout pipe")
        threading.Thread(target=read, args=(server.stdout,), daemon=True).start()
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the run command exited with {server.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError("the service did not answer /healthz in time")
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                        if response.status == 200 and token:
                            break
                except OSError:
                    pass
                time.sleep(0.5)
            request = urllib.request.Request(
                f"{base}/graphql", data=json.dumps({"query": "{ sites { id code } }"}).encode(),
                headers={"Authorization": f"Bearer {token[0]}",
                         "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
            if body.get("errors") or "sites" not in (body.get("data") or {}):
                raise RuntimeError(f"the GraphQL query failed: {body}")
            print(f"quick start ok: /healthz answered, GraphQL answered {body}", flush=True)
            return 0
        except Exception as exc:  # noqa: BLE001 - report what the newcomer would see
            print(f"quick start FAILED: {exc}\n--- output of the run command ---\n"
                  f"{''.join(output)[-6000:]}", file=sys.stderr, flush=True)
            return 1
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
