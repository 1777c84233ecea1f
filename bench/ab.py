"""Interleaved A/B of service builds: all of them up at once on one database, loaded in
turn, scenario by scenario, round after round (the order reversed every other round).

Sequential runs (`run.py`, then `run.py --service-cmd ...`) put minutes between the
builds they compare, and on a shared 2-core machine what else runs changes in minutes:
the same build measured twice that way differed by 25 % in server CPU per request. Here
each round measures every build within a minute, so what the machine does hits each
alike, and the median over the rounds is the figure to compare.

    python bench/ab.py --build "before=/path/to/old/venv/bin/ccm-gateway serve \\
        --port {port} --workers {workers}" --build "after=ccm-gateway serve --port {port} \\
        --workers {workers}" --rounds 4 --scenarios auth,capture,post,check --duration 6

Each build gets its own port (--port + 10, + 11, ...); one token serves all (they share
CCM_PUBLIC_URL). The first build seeds the customers. No bare baseline (run.py has it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

import run
from harness import Server, Session


def parse_args(argv: list[str] | None) -> tuple[list[tuple[str, str]], int, argparse.Namespace]:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--build", action="append", default=[], metavar="NAME=TEMPLATE",
                   help="a build to compare: a name, = and a command template as run.py's "
                        "--service-cmd ({port}, {workers}, {python}); two or more")
    p.add_argument("--rounds", type=int, default=4)
    known, rest = p.parse_known_args(argv)
    builds = [tuple(b.split("=", 1)) for b in known.build]
    if len(builds) < 2 or any(len(b) != 2 for b in builds) or known.rounds < 1:
        p.error("give two or more --build NAME=TEMPLATE and --rounds >= 1")
    args = run.parse_args(["--workers", "1", *rest])
    return [(b[0], b[1]) for b in builds], known.rounds, args


def main(argv: list[str] | None = None) -> int:
    builds, rounds, args = parse_args(argv)
    base_port = args.port
    figures: dict[tuple[str, str], list[float]] = {
        (name, sc): [] for name, _ in builds for sc in args.scenario_list}
    with Session(args, title="CCM Gateway interleaved A/B", workdir_prefix="ccm-ab-",
                 workdir_label="server logs, request bodies") as s:
        s.env["CCM_PORT"] = str(base_port)
        s.env["CCM_PUBLIC_URL"] = f"http://127.0.0.1:{base_port}"
        token = s.prepare_database()
        servers: dict[str, Server] = {}
        for i, (name, template) in enumerate(builds):
            args.port = base_port + 10 + i
            servers[name] = s.start_service(1, template)
        args.port = base_port
        seeded: dict[str, Any] = run.seed(
            f"http://127.0.0.1:{servers[builds[0][0]].port}/graphql", token, args.customers,
            args.sites)
        for r in range(rounds):
            for name, _ in (builds if r % 2 == 0 else builds[::-1]):
                for sc in args.scenario_list:
                    result, cpu = run.drive(args, servers[name], "service", sc, token,
                                            seeded, s.workdir, s.dsn)
                    rate = result["throughput"]
                    ms = cpu.get("server", 0.0) / rate * 1000 if rate else float("nan")
                    figures[(name, sc)].append(ms)
                    print(f"round {r} {name:<10} {sc:<8} {rate:8.1f}/s  server "
                          f"{cpu.get('server', 0.0):.2f} cores  {ms:.2f} ms/req", flush=True)
        print("\nserver CPU ms/req: median over the rounds (each round's figure)")
        for sc in args.scenario_list:
            cells = [f"{name} {statistics.median(figures[(name, sc)]):.2f} ("
                     + ", ".join(f"{x:.2f}" for x in figures[(name, sc)]) + ")"
                     for name, _ in builds]
            print(f"  {sc:<8} " + " | ".join(cells))
        s.verify(run.COUNTS_SQL, run.COUNTS)
    return s.exit_code


if __name__ == "__main__":
    sys.exit(main())
