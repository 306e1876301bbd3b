"""``make bench``: ecrpy as users install it, against ``docker-credential-ecr-login``, in one run.

    .venv/bin/python benchmarks/run.py                    # the full run (~10 min on 2 cores)
    .venv/bin/python benchmarks/run.py --quick            # a smoke run (~2 min); not saved
    .venv/bin/python benchmarks/run.py --baseline main    # an older ecrpy beside this one

Installs ecrpy the ways users do, in a work directory: a fresh ``python3 -m venv`` whose own
bundled pip (never upgraded) runs ``pip install .``, and ``pipx install .``; the dev venv and
``--baseline REF`` are extra rows. Starts a fake ECR/STS on loopback (``world.py``) and a dockerd
of its own, then runs every scenario (``scenarios.py``) with the helpers and the floors
(``/bin/true``, ``python -I -S -c pass``, each venv's ``python -c pass``, the least botocore
program that gets a token) alternately, and reports medians with min-max, the ratios, and the AWS
requests each helper made while it was measured (``report.py``). Every ``get`` answer is checked.
Writes ``benchmarks/results/latest.json`` and ``latest.md``.

Starts dockerd and binds loopback:443: run it alone (``make bench`` takes /tmp/ecrpy-e2e.lock).
The Go helpers: the newest release (0.12.0, Debian sid's, unpacked by ``.ci/sid-tools.sh``) is
the reference of every ratio; Debian stable's 0.6.0 (``apt-get install
amazon-ecr-credential-helper``) runs beside it. Without either, or without root (needed for the
private ``/etc/hosts`` the Go helpers require), it benchmarks ecrpy alone. Peak RSS needs
GNU time (``apt-get install time``): the ``ru_maxrss`` that ``wait4`` reports for a child of this
Python process includes the parent's pages copied at fork, so a small process must do the fork.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import world  # sibling modules: the benchmark runs as a script
from report import report
from scenarios import RESULTS, Bench
from world import BenchError

# -- entry points ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="ecrpy against docker-credential-ecr-login, side by side, in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run; results not saved")
    parser.add_argument("--warm-runs", type=int, default=100, help="gets per tool, warm scenarios")
    parser.add_argument("--cold-runs", type=int, default=20, help="cold gets per tool")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[32, 64],
        help="processes per burst, comma-separated (default 32,64)",
    )
    parser.add_argument("--concurrent-rounds", type=int, default=5, help="bursts per helper")
    parser.add_argument("--rss-runs", type=int, default=7, help="peak RSS runs per tool")
    parser.add_argument("--ci-gets", type=int, default=200, help="gets per CI batch")
    parser.add_argument("--ci-rounds", type=int, default=3, help="CI batches per helper")
    parser.add_argument("--build-rounds", type=int, default=5, help="docker builds per helper")
    parser.add_argument("--role-rounds", type=int, default=7, help="assume-role batches per tool")
    parser.add_argument(
        "--baseline",
        help="a git ref of ecrpy to measure beside this tree, installed the same way (e.g. main)",
    )
    parser.add_argument("--no-pipx", action="store_true", help="skip the pipx install")
    parser.add_argument(
        "--aws-latency-ms",
        type=float,
        default=0.0,
        help="delay the fake adds to every AWS answer (default 0: loopback speed)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated scenarios to run: static, role, web-identity, cold, concurrent, "
        "rss, ci, role-fanout, store, build (default: all; results not saved)",
    )
    parser.add_argument("--no-go", action="store_true", help="benchmark ecrpy alone")
    parser.add_argument(
        "--no-clean-venv", action="store_true", help="skip the clean-venv floor and ecrpy rows"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write the results")
    parser.add_argument("--results", default=RESULTS, help="where latest.json and .md go")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (logs, caches) for a look"
    )
    # Internal: the run inside the private-hosts namespace.
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--go", action="append", default=[], help=argparse.SUPPRESS)  # KEY=PATH
    args = parser.parse_args(argv)
    if args.quick:
        args.warm_runs, args.cold_runs, args.concurrent_rounds = 6, 3, 1
        args.rss_runs, args.ci_gets, args.ci_rounds = 2, 20, 1
        args.build_rounds, args.role_rounds, args.concurrency = 1, 1, [32]
        args.no_save = True
    if args.only:
        args.no_save = True
    return args


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)
    if args.inner:
        return inner(args)
    world.exit_on_sigterm()
    go = {} if args.no_go else world.go_helpers()
    for key in world.GO_KEYS:
        if key not in go and not args.no_go:
            print(f"{world.GO_HELPERS[key]} is not installed: for it, {world.GO_INSTALL[key]}")
    if go:
        problem = world.private_hosts_problem()
        if problem:
            print(f"The Go helper reaches the fake AWS only by real hostnames, but {problem}.")
            print("  Benchmarking ecrpy alone (run as root for the side-by-side run).")
            go = {}
    workdir = tempfile.mkdtemp(prefix="ecrpy-bench-")
    try:
        if not go:
            args.workdir, args.address, args.go = workdir, None, []
            return inner(args)
        address = world.free_loopback()
        argv_inner = [sys.executable, os.path.abspath(__file__), *raw, "--inner"]
        argv_inner += ["--workdir", workdir, "--address", address]
        for key, path in go.items():
            argv_inner += ["--go", f"{key}={path}"]
        proc = world.spawn(world.in_private_hosts(workdir, address, argv_inner))
        code = proc.wait()
        world.reap(proc)
        return code
    except KeyboardInterrupt:
        return 130
    finally:
        world.stop_children()
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def inner(args: argparse.Namespace) -> int:
    world.exit_on_sigterm()
    args.load_before = os.getloadavg()[0]  # other work on the machine skews every number
    fake: world.Fake | None = None
    bench: Bench | None = None
    started = time.perf_counter()
    try:
        fake = world.Fake.start(args.workdir, args.address)
        fake.latency = args.aws_latency_ms / 1000
        fake.bundle, certificates = world.ca_bundle(args.workdir, fake.ca)
        args.ca_certificates = certificates
        print(f"CA bundle: {certificates} certificates (the system's and the fake's)")
        how = "real AWS hostnames, private /etc/hosts" if args.address else "AWS_ENDPOINT_URL_*"
        print(f"fake AWS on {fake.url} ({how}), started in {fake.started_in:.1f} s")
        print("installing ecrpy as users do (fresh venv + bundled pip, pipx) ...", flush=True)
        bench = Bench(args, fake, dict(item.split("=", 1) for item in args.go))
        for key, info in bench.installs.items():
            print(f"  {key}: {info['how']}: {info['script']}")
        for key, path in bench.go.items():
            print(f"Go helper ({key}): {path} {world.go_version(path)}")
        if not bench.go:
            print("Go helper: not run")
        scenarios = bench.run_all()
        report(args, bench, scenarios, time.perf_counter() - started)
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}")
        return 1
    finally:
        if bench is not None:
            bench.stop()
        if fake is not None:
            fake.stop()
        world.stop_children()
    return 0


if __name__ == "__main__":
    sys.exit(main())
