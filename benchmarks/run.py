"""``make bench``: ecrpy against ``docker-credential-ecr-login``, side by side, in one run.

    .venv/bin/python benchmarks/run.py            # the full run (75-95 s on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # a smoke run (seconds); results not saved

Starts a fake ECR/STS on loopback (see ``world.py``), then, for each scenario, runs the two
helpers alternately (and the floors beside them: ``python -c pass``, ``python -S -c pass``,
the same in a clean venv, and the least botocore program that gets a token), many times, and
reports medians, the ratios ecrpy/Go and ecrpy/floor, and the AWS requests each helper made
while it was measured. Every ``get`` answer is checked: a helper that fails is an error, never
a fast result. Writes ``benchmarks/results/latest.json`` and ``latest.md``.

Installs nothing. Without the Go helper (``apt-get install amazon-ecr-credential-helper``) or
without root (needed for the private ``/etc/hosts`` the Go helper requires) it benchmarks
ecrpy alone. Peak RSS needs GNU time (``apt-get install time``): the ``ru_maxrss`` that
``wait4`` reports for a child of this Python process includes the parent's pages copied at
fork, so a small intermediate process must do the fork.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import world  # a sibling module: the benchmark runs as a script
from world import BenchError

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CI_ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444", "555555555555")
CI_REGISTRIES = tuple(
    f"{account}.dkr.ecr.{region}.amazonaws.com"
    for account in CI_ACCOUNTS
    for region in world.REGIONS
)
STATIC_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHSTATIC00001",
    "AWS_SECRET_ACCESS_KEY": "bench-static-secret-key-not-real",
}
ROLE_CONFIG = """\
[profile app]
role_arn = arn:aws:iam::123456789012:role/bench-app
source_profile = base
region = us-east-1

[profile base]
region = us-east-1
"""
ROLE_CREDENTIALS = """\
[base]
aws_access_key_id = AKIABENCHSOURCE00001
aws_secret_access_key = bench-source-secret-key-not-real
"""
WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2kifQ.c2ln"
# The botocore floor of a cold get: the least a Python program does to get an ECR token.
BOTOCORE_GET = """\
import base64, json, sys
import botocore.session
host = sys.stdin.read().strip()
account, region = host.split(".")[0], host.split(".")[3]
client = botocore.session.Session().create_client("ecr", region_name=region)
data = client.get_authorization_token(registryIds=[account])["authorizationData"][0]
user, _, secret = base64.b64decode(data["authorizationToken"]).decode().partition(":")
print(json.dumps({"ServerURL": host, "Username": user, "Secret": secret}))
"""
SHORT = {"AssumeRole": "AR", "AssumeRoleWithWebIdentity": "WI", "GetAuthorizationToken": "GAT"}
RESULTS = os.path.join(world.ROOT, "benchmarks", "results")
SETTINGS = (
    "warm_runs",
    "cold_runs",
    "concurrency",
    "concurrent_rounds",
    "rss_runs",
    "ci_gets",
    "ci_rounds",
    "aws_latency_ms",
)


# -- what is measured ------------------------------------------------------------------------


@dataclass
class Tool:
    key: str
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    helper: bool = True  # answers `get`: its answer is checked and its AWS requests counted
    cache: str | None = None  # the tool whose token cache it shares (default: its own)


@dataclass
class Row:
    """One tool in one scenario: its samples and the AWS requests it made while measured."""

    tool: Tool
    values: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    units: int = 0  # gets (or bursts, or batches) whose requests were counted
    failures: list[str] = field(default_factory=list)  # failed runs: not among the values

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def per_unit(self, operation: str) -> float:
        return self.requests[operation] / self.units if self.units else 0.0

    def as_json(self) -> dict[str, object]:
        values = sorted(self.values)
        return {
            "tool": self.tool.label,
            "median": round(self.median, 3),
            "min": round(values[0], 3),
            "p90": round(values[int(0.9 * (len(values) - 1))], 3),
            "n": len(values),
            "requests": {op: self.requests[op] for op in world.OPERATIONS},
            "requests_per_unit": {op: round(self.per_unit(op), 3) for op in world.OPERATIONS},
            "units": self.units,
            "failures": self.failures,
            "samples": [round(v, 3) for v in self.values],
        }


@dataclass
class Scenario:
    key: str
    title: str  # short, for the table
    detail: str  # how it is run
    unit: str  # ms, s or MiB
    per: str = "get"  # what the request counts are divided by: get, burst, batch
    floor: str | None = None  # the floor tool ecrpy is compared with (in ``floor_from``)
    floor_from: str | None = None  # the scenario that measured the floor; None: this one
    rows: dict[str, Row] = field(default_factory=dict)
    note: str = ""

    def row(self, tool: Tool) -> Row:
        return self.rows.setdefault(tool.key, Row(tool))

    def median(self, key: str) -> float | None:
        row = self.rows.get(key)
        return row.median if row is not None and row.values else None


def check_answer(tool: Tool, registry: str, code: int, out: bytes, err: bytes = b"") -> None:
    if not tool.helper:
        if code != 0:
            raise BenchError(f"{tool.label} exited {code}")
        return
    try:
        answer = json.loads(out)
        ok = code == 0 and bool(answer["Secret"]) and answer["Username"] == "AWS"
        ok = ok and registry in answer["ServerURL"]
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        text = (out + b"\n" + err).decode("utf-8", "replace").strip()[:1000]
        raise BenchError(f"{tool.label}: get {registry} failed (exit {code}): {text}")


def log_tail(cache_dir: str, lines: int = 15) -> str:
    """The end of a helper's own log (Go: log/ecr-login.log; ecrpy: ecrpy.log)."""
    for name in (os.path.join("log", "ecr-login.log"), "ecrpy.log"):
        path = os.path.join(cache_dir, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                tail = handle.read().splitlines()[-lines:]
            return f"last lines of {path}:\n" + "\n".join(tail)
    return ""


def rotate(tools: list[Tool], i: int) -> list[Tool]:
    """Each round starts with another tool, so that no tool always runs first (or last)."""
    k = i % len(tools) if tools else 0
    return tools[k:] + tools[:k]


# -- the runs --------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, fake: world.Fake, go: str | None) -> None:
        self.args = args
        self.fake = fake
        self.workdir: str = args.workdir
        self.script = world.ecrpy_script()
        self.python = world.shebang_python(self.script)
        self.go = go
        self.time_bin = world.gnu_time()
        self.tools = self._tools()
        self.setup_requests: dict[str, Counter[str]] = {}

    def _tools(self) -> dict[str, Tool]:
        python = self.python
        tools = [
            Tool("ecrpy", "ecrpy", [self.script, "get"]),
            Tool("pass", "python -c pass", [python, "-c", "pass"], helper=False),
            Tool("pass-S", "python -S -c pass", [python, "-S", "-c", "pass"], helper=False),
            Tool("botocore", "botocore floor", [python, "-c", BOTOCORE_GET]),
        ]
        if self.go:
            tools.append(Tool("go", "Go helper", [self.go, "get"]))
        if not self.args.no_clean_venv:
            # ecrpy as a regular install would lay it out: no .pth, no setuptools. It shares
            # ecrpy's token cache (same identity), so it never needs botocore.
            directory = os.path.join(self.workdir, "clean-venv")
            clean = world.clean_venv(python, directory, ("credential_helper",))
            tools += [
                Tool("pass-clean", "python -c pass, clean venv", [clean, "-c", "pass"], {}, False),
                Tool(
                    "ecrpy-clean", "ecrpy, clean venv", [clean, self.script, "get"], cache="ecrpy"
                ),
            ]
        return {tool.key: tool for tool in tools}

    def present(self, *keys: str) -> list[Tool]:
        return [self.tools[key] for key in keys if key in self.tools]

    # -- environments ----------------------------------------------------------------------

    def home(self, scenario: str) -> str:
        path = os.path.join(self.workdir, "home", scenario)
        os.makedirs(path, exist_ok=True)
        return path

    def cache_dir(self, scenario: str, tool: Tool) -> str:
        return os.path.join(self.workdir, "cache", scenario, tool.cache or tool.key)

    def env(self, scenario: str, tool: Tool, extra: dict[str, str]) -> dict[str, str]:
        """A small, explicit environment: nothing of the caller's AWS or Python settings."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home(scenario),
            "LANG": "C.UTF-8",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ECR_CACHE_DIR": self.cache_dir(scenario, tool),
            **self.fake.environment(),
            **extra,
            **tool.env,
        }

    def static_env(self, scenario: str) -> dict[str, str]:
        self.home(scenario)
        return dict(STATIC_KEYS)

    def role_env(self, scenario: str) -> dict[str, str]:
        aws = os.path.join(self.home(scenario), ".aws")
        os.makedirs(aws, exist_ok=True)
        for name, text in (("config", ROLE_CONFIG), ("credentials", ROLE_CREDENTIALS)):
            with open(os.path.join(aws, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        return {"AWS_PROFILE": "app"}

    def web_identity_env(self, scenario: str) -> dict[str, str]:
        """What EKS (IRSA) puts in a pod's environment."""
        token = os.path.join(self.home(scenario), "token")
        with open(token, "w", encoding="utf-8") as handle:
            handle.write(WEB_IDENTITY_TOKEN)
        return {
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/bench-web-identity",
            "AWS_WEB_IDENTITY_TOKEN_FILE": token,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        }

    # -- one process -----------------------------------------------------------------------

    def run(self, tool: Tool, env: dict[str, str], registry: str = REGISTRY) -> float:
        """Run once: seconds of wall time from spawn to exit. The answer is checked."""
        data = (registry + "\n").encode()
        start = time.perf_counter()
        proc = subprocess.run(tool.argv, input=data, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        try:
            check_answer(tool, registry, proc.returncode, proc.stdout, proc.stderr)
        except BenchError as exc:
            raise BenchError(f"{exc}\n{log_tail(env['AWS_ECR_CACHE_DIR'])}") from None
        return elapsed

    def peak_rss(self, tool: Tool, env: dict[str, str]) -> float:
        """Peak RSS in MiB, as GNU time (a small parent) reports it from wait4."""
        assert self.time_bin is not None
        report = os.path.join(self.workdir, "rss.txt")
        proc = subprocess.run(
            [self.time_bin, "-f", "%M", "-o", report, *tool.argv],
            input=(REGISTRY + "\n").encode(),
            env=env,
            capture_output=True,
            check=False,
        )
        check_answer(tool, REGISTRY, proc.returncode, proc.stdout, proc.stderr)
        with open(report, encoding="utf-8") as handle:
            return int(handle.read().split()[-1]) / 1024

    def clear(self, scenario: str, tool: Tool) -> None:
        shutil.rmtree(self.cache_dir(scenario, tool), ignore_errors=True)

    def prewarm(self, scenario: str, tools: list[Tool], extra: dict[str, str]) -> None:
        """A get per helper and registry, so that the measured gets are warm (not counted)."""
        self.fake.take()
        registries = CI_REGISTRIES if scenario == "ci" else (REGISTRY,)
        for tool in tools:
            if tool.helper:
                for registry in registries:
                    for attempt in (1, 2, 3):
                        try:
                            self.run(tool, self.env(scenario, tool, extra), registry)
                            break
                        except BenchError:
                            if attempt == 3:
                                raise
        self.setup_requests[scenario] = self.fake.take()

    def measure(
        self,
        scenario: Scenario,
        tools: list[Tool],
        rounds: int,
        once: Callable[[Tool], float],
        cold: bool = False,
    ) -> Scenario:
        """``rounds`` rounds, each tool once per round in rotating order; requests counted."""
        self.fake.take()
        for i in range(rounds):
            for tool in rotate(tools, i):
                if cold:
                    self.clear(scenario.key, tool)
                row = scenario.row(tool)
                try:
                    row.values.append(once(tool))
                except BenchError as exc:  # counted and shown, never timed
                    row.failures.append(str(exc))
                    if len(row.failures) > max(2, rounds // 10):
                        message = f"{scenario.title}: {tool.label} keeps failing: {exc}"
                        raise BenchError(message) from None
                if tool.helper:
                    row.requests.update(self.fake.take())
                    row.units += 1
        return scenario

    # -- scenarios -------------------------------------------------------------------------

    def warm(self, key: str, title: str, detail: str, extra: dict[str, str]) -> Scenario:
        keys: tuple[str, ...] = ("ecrpy", "go", "ecrpy-clean")
        if key == "warm-static":
            keys += ("pass", "pass-S", "pass-clean")
        tools = self.present(*keys)
        floor_from = None if key == "warm-static" else "warm-static"
        scenario = Scenario(key, title, detail, "ms", floor="pass", floor_from=floor_from)
        self.prewarm(key, tools, extra)
        envs = {tool.key: self.env(key, tool, extra) for tool in tools}
        return self.measure(
            scenario, tools, self.args.warm_runs, lambda t: self.run(t, envs[t.key]) * 1000
        )

    def cold(self) -> Scenario:
        key, extra = "cold", self.static_env("cold")
        scenario = Scenario(
            key,
            "cold get",
            "empty cache, static keys; floor: the least botocore program that gets a token",
            "ms",
            floor="botocore",
        )
        return self.measure(
            scenario,
            self.present("ecrpy", "go", "botocore"),
            self.args.cold_runs,
            lambda t: self.run(t, self.env(key, t, extra)) * 1000,
            cold=True,
        )

    def concurrent(self) -> Scenario:
        key, extra, n = "concurrent", self.static_env("concurrent"), self.args.concurrency
        scenario = Scenario(
            key,
            f"{n} concurrent cold gets",
            f"{n} processes, one registry, empty cache, stdin released at once; "
            "wall time until all have answered",
            "ms",
            per="burst",
        )
        return self.measure(
            scenario,
            self.present("ecrpy", "go"),
            self.args.concurrent_rounds,
            lambda t: self.burst(t, self.env(key, t, extra), n) * 1000,
            cold=True,
        )

    def burst(self, tool: Tool, env: dict[str, str], n: int) -> float:
        """Start n processes, then feed their stdin: they all ask at about the same moment."""
        data = (REGISTRY + "\n").encode()
        start = time.perf_counter()
        procs = [
            world.spawn(
                tool.argv,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(n)
        ]
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.close()
        answers = []
        for proc in procs:
            assert proc.stdout is not None
            answers.append((proc.stdout.read(), proc.wait()))
            proc.stdout.close()
            world.reap(proc)
        elapsed = time.perf_counter() - start
        for out, code in answers:
            check_answer(tool, REGISTRY, code, out)
        return elapsed

    def rss(self) -> list[Scenario]:
        warm = Scenario("rss-warm", "peak RSS, warm get", "static keys", "MiB", floor="pass")
        cold = Scenario("rss-cold", "peak RSS, cold get", "static keys", "MiB", floor="botocore")
        if self.time_bin is None:
            warm.note = cold.note = "GNU time missing (apt-get install time)"
            return [warm, cold]
        extra = self.static_env("rss-warm")
        tools = self.present("ecrpy", "go", "pass")
        self.prewarm("rss-warm", tools, extra)
        self.measure(
            warm,
            tools,
            self.args.rss_runs,
            lambda t: self.peak_rss(t, self.env("rss-warm", t, extra)),
        )
        extra = self.static_env("rss-cold")
        self.measure(
            cold,
            self.present("ecrpy", "go", "botocore"),
            self.args.rss_runs,
            lambda t: self.peak_rss(t, self.env("rss-cold", t, extra)),
            cold=True,
        )
        return [warm, cold]

    def ci(self) -> Scenario:
        key, extra, gets = "ci", self.static_env("ci"), self.args.ci_gets
        scenario = Scenario(
            key,
            f"{gets} warm gets, {len(CI_REGISTRIES)} registries",
            f"{gets} sequential gets cycling through {len(CI_REGISTRIES)} registries "
            f"({len(CI_ACCOUNTS)} accounts x {len(world.REGIONS)} regions), all cached: "
            "a busy CI runner",
            "s",
            per="batch",
        )
        tools = self.present("ecrpy", "go")
        self.prewarm(key, tools, extra)

        def batch(tool: Tool) -> float:
            env = self.env(key, tool, extra)
            start = time.perf_counter()
            for k in range(gets):
                self.run(tool, env, CI_REGISTRIES[k % len(CI_REGISTRIES)])
            return time.perf_counter() - start

        return self.measure(scenario, tools, self.args.ci_rounds, batch)

    def run_all(self) -> list[Scenario]:
        plan: list[tuple[str, str, Callable[[], Scenario | list[Scenario]]]] = [
            (
                "static",
                "warm get, static keys",
                lambda: self.warm(
                    "warm-static",
                    "warm get, static keys",
                    "token cached; AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY",
                    self.static_env("warm-static"),
                ),
            ),
            (
                "role",
                "warm get, assume-role profile",
                lambda: self.warm(
                    "warm-role",
                    "warm get, assume-role profile",
                    "token cached; AWS_PROFILE with role_arn + source_profile",
                    self.role_env("warm-role"),
                ),
            ),
            (
                "web-identity",
                "warm get, web identity",
                lambda: self.warm(
                    "warm-web-identity",
                    "warm get, web identity",
                    "token cached; AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (EKS IRSA)",
                    self.web_identity_env("warm-web-identity"),
                ),
            ),
            ("cold", "cold get", self.cold),
            ("concurrent", f"{self.args.concurrency} concurrent cold gets", self.concurrent),
            ("rss", "peak RSS", self.rss),
            ("ci", f"{self.args.ci_gets} warm gets across 10 registries", self.ci),
        ]
        only = set(self.args.only.split(",")) if self.args.only else None
        scenarios: list[Scenario] = []
        for name, label, step in plan:
            if only is not None and name not in only:
                continue
            started = time.perf_counter()
            print(f"  {label} ...", end="", flush=True)
            produced = step()
            scenarios.extend(produced if isinstance(produced, list) else [produced])
            print(f" {time.perf_counter() - started:.1f} s", flush=True)
        return scenarios


# -- the report --------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} MiB"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_requests(row: Row | None) -> str:
    if row is None or not row.units:
        return "n/a"
    parts = []
    for op in world.OPERATIONS:
        per = row.per_unit(op)
        if per:
            parts.append(f"{SHORT[op]} {per:.0f}" if per == int(per) else f"{SHORT[op]} {per:.2f}")
    return ", ".join(parts) or "none"


def floor_of(scenario: Scenario, by_key: dict[str, Scenario]) -> float | None:
    if scenario.floor is None:
        return None
    source = by_key.get(scenario.floor_from or scenario.key)
    return source.median(scenario.floor) if source else None


def cell(scenario: Scenario, key: str) -> str:
    """A tool's median, and how many of its runs failed (if any did)."""
    row = scenario.rows.get(key)
    text = fmt(scenario.median(key), scenario.unit)
    if row is not None and row.failures:
        text += f" ({len(row.failures)} failed)"
    return text


def failures(scenarios: list[Scenario]) -> list[str]:
    return [
        f"{s.title}, {row.tool.label}: {len(row.failures)} failed run(s); first: {row.failures[0]}"
        for s in scenarios
        for row in s.rows.values()
        if row.failures
    ]


def main_table(scenarios: list[Scenario]) -> list[list[str]]:
    by_key = {s.key: s for s in scenarios}
    rows = [
        [
            "scenario",
            "ecrpy",
            "Go helper",
            "ecrpy/Go",
            "floor",
            "ecrpy/floor",
            "AWS requests, ecrpy",
            "AWS requests, Go",
        ]
    ]
    for s in scenarios:
        ecrpy, go, floor = s.median("ecrpy"), s.median("go"), floor_of(s, by_key)
        floor_label = ""
        if s.floor:
            floor_label = f"{'python -c pass' if s.floor == 'pass' else 'botocore'} "
            floor_label += fmt(floor, s.unit)
        rows.append(
            [
                s.title + (f" (per {s.per})" if s.per != "get" else ""),
                s.note or cell(s, "ecrpy"),
                cell(s, "go") if not s.note else "",
                fmt_ratio(ratio(ecrpy, go)) if not s.note else "",
                floor_label,
                fmt_ratio(ratio(ecrpy, floor)) if s.floor and not s.note else "",
                fmt_requests(s.rows.get("ecrpy")) if not s.note else "",
                fmt_requests(s.rows.get("go")) if not s.note else "",
            ]
        )
    return rows


def packaging_table(scenarios: list[Scenario]) -> list[list[str]]:
    """What the development venv's start-up costs ecrpy: the same code from a clean venv."""
    by_key = {s.key: s for s in scenarios}
    static = by_key.get("warm-static")
    if static is None or static.median("ecrpy-clean") is None:
        return []
    rows = [["warm get", "ecrpy, dev venv", "ecrpy, clean venv", "Go helper", "clean/Go"]]
    for key in ("warm-static", "warm-role", "warm-web-identity"):
        s = by_key.get(key)
        if s is None:
            continue
        clean, go = s.median("ecrpy-clean"), s.median("go")
        rows.append(
            [
                s.title.replace("warm get, ", ""),
                fmt(s.median("ecrpy"), "ms"),
                fmt(clean, "ms"),
                fmt(go, "ms"),
                fmt_ratio(ratio(clean, go)),
            ]
        )
    rows.append(
        [
            "`python -c pass` (`-S`: no site)",
            f"{fmt(static.median('pass'), 'ms')} (-S {fmt(static.median('pass-S'), 'ms')})",
            fmt(static.median("pass-clean"), "ms"),
            "",
            "",
        ]
    )
    rows.append(
        [
            "ecrpy / `python -c pass`",
            fmt_ratio(ratio(static.median("ecrpy"), static.median("pass"))),
            fmt_ratio(ratio(static.median("ecrpy-clean"), static.median("pass-clean"))),
            "",
            "",
        ]
    )
    return rows


def targets(scenarios: list[Scenario]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets: (what, measured, met?)."""
    by_key = {s.key: s for s in scenarios}
    out: list[tuple[str, str, bool | None]] = []

    def at_most(label: str, value: float | None, limit: float, unit: str = "x") -> None:
        shown = fmt_ratio(value) if unit == "x" else fmt(value, unit)
        out.append((label, shown, None if value is None else value <= limit))

    static = by_key.get("warm-static")
    if static:
        at_most(
            "warm get ≤ 1.2x `python -c pass` (dev venv)",
            ratio(static.median("ecrpy"), static.median("pass")),
            1.2,
        )
        at_most(
            "warm get ≤ 1.2x `python -c pass` (clean venv)",
            ratio(static.median("ecrpy-clean"), static.median("pass-clean")),
            1.2,
        )
        at_most("warm get ≤ 1.5x Go", ratio(static.median("ecrpy"), static.median("go")), 1.5)
        at_most(
            "warm get ≤ 1.5x Go (clean venv)",
            ratio(static.median("ecrpy-clean"), static.median("go")),
            1.5,
        )
    rss = by_key.get("rss-warm")
    if rss and not rss.note:
        at_most("warm get peak RSS ≤ 20 MiB", rss.median("ecrpy"), 20.0, "MiB")
    for key, name in (("warm-role", "assume-role"), ("warm-web-identity", "web-identity")):
        s = by_key.get(key)
        row = s.rows.get("ecrpy") if s else None
        if s is None or row is None:
            continue
        made = sum(row.requests.values())
        out.append((f"{name} warm get makes no AWS request", f"{made} in {row.units}", made == 0))
        for tool, where in (("ecrpy", "dev venv"), ("ecrpy-clean", "clean venv")):
            speedup = ratio(s.median("go"), s.median(tool))
            out.append(
                (
                    f"{name} warm get ≥ 5x faster than Go ({where})",
                    fmt_ratio(speedup),
                    None if speedup is None else speedup >= 5,
                )
            )
    s = by_key.get("concurrent")
    if s and "ecrpy" in s.rows:
        per = s.rows["ecrpy"].per_unit("GetAuthorizationToken")
        out.append((f"{s.title}: one GetAuthorizationToken", f"{per:g} per burst", per == 1))
    return out


def markdown_table(rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return out


def text_table(rows: list[list[str]]) -> str:
    rows = [[cell.replace("`", "") for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(meta: dict[str, object], scenarios: list[Scenario]) -> str:
    lines = [
        "# ecrpy vs docker-credential-ecr-login",
        "",
        f"{meta['date']}: {meta['machine_line']}.",
        f"{meta['settings_line']}. `python benchmarks/run.py` (`make bench`).",
        "",
        *markdown_table(main_table(scenarios)),
        "",
        "Medians; the helpers run alternately in the same run. AWS requests are those the fake "
        "received while a helper was measured (AR AssumeRole, WI AssumeRoleWithWebIdentity, "
        "GAT GetAuthorizationToken), per get unless the row says otherwise. The fake answers on "
        "loopback in milliseconds"
        + (
            f" (plus {meta['aws_latency_ms']} ms added per request)"
            if meta.get("aws_latency_ms")
            else ""
        )
        + "; real STS and ECR take tens, so each request the Go helper makes costs it more in "
        "real life than here. Floors run with ecrpy's interpreter: `python -c pass` for warm "
        "gets; for cold gets, the least botocore program that gets a token.",
        "",
    ]
    packaging = packaging_table(scenarios)
    if packaging:
        lines += [
            "Start-up of ecrpy's development venv (editable install, setuptools) against a clean "
            "venv (no `.pth`, no setuptools; ecrpy symlinked into its site-packages, the layout "
            "of a regular install), same run:",
            "",
            *markdown_table(packaging),
            "",
        ]
    lines += ["| target (issue 8) | measured | met |", "| --- | --- | --- |"]
    for label, shown, met in targets(scenarios):
        verdict = "n/a" if met is None else ("yes" if met else "no")
        lines.append(f"| {label} | {shown} | {verdict} |")
    failed = failures(scenarios)
    if failed:
        lines += ["", "Failed runs (not timed):", ""]
        lines += [f"- {line.splitlines()[0]}" for line in failed]
    lines += ["", "Scenarios:", ""]
    lines += [f"- {s.title}: {s.detail}" for s in scenarios]
    return "\n".join(lines) + "\n"


def machine(bench: Bench) -> dict[str, object]:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                "",
            )
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": nproc,
        "cpu": cpu,
        "platform": platform.platform(),
        "python": world.python_version(bench.python),
        "python_path": bench.python,
        "ecrpy": bench.script,
        "go_helper": world.go_version(bench.go) if bench.go else None,
        "go_helper_path": bench.go,
        "peak_rss_by": bench.time_bin,
    }


def save(
    directory: str,
    meta: dict[str, object],
    bench: Bench,
    scenarios: list[Scenario],
) -> None:
    os.makedirs(directory, exist_ok=True)
    document = {
        **meta,
        "setup_requests": {k: dict(v) for k, v in bench.setup_requests.items()},
        "scenarios": [
            {
                "key": s.key,
                "title": s.title,
                "detail": s.detail,
                "unit": s.unit,
                "requests_per": s.per,
                "floor": s.floor,
                "note": s.note,
                "ratio_ecrpy_go": ratio(s.median("ecrpy"), s.median("go")),
                "ratio_ecrpy_floor": ratio(
                    s.median("ecrpy"), floor_of(s, {x.key: x for x in scenarios})
                ),
                "rows": {key: row.as_json() for key, row in s.rows.items()},
            }
            for s in scenarios
        ],
        "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(scenarios)],
    }
    with open(os.path.join(directory, "latest.json"), "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    with open(os.path.join(directory, "latest.md"), "w", encoding="utf-8") as handle:
        handle.write(render_markdown(meta, scenarios))


def report(
    args: argparse.Namespace, bench: Bench, scenarios: list[Scenario], elapsed: float
) -> None:
    meta = machine(bench)
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta["machine_line"] = (
        f"{meta['nproc']} CPUs ({meta['cpu'] or 'unknown CPU'}), {meta['platform']}, "
        f"Python {meta['python']}, docker-credential-ecr-login {meta['go_helper'] or 'absent'}"
    )
    meta["settings"] = {key: getattr(args, key) for key in SETTINGS}
    meta["aws_latency_ms"] = args.aws_latency_ms
    meta["seconds"] = round(elapsed, 1)
    meta["load_average"] = {"before": args.load_before, "after": os.getloadavg()[0]}
    meta["settings_line"] = (
        f"{args.warm_runs} warm gets per tool and scenario, {args.cold_runs} cold gets, "
        f"{args.concurrent_rounds} bursts of {args.concurrency}, {args.rss_runs} RSS runs, "
        f"{args.ci_rounds} batches of {args.ci_gets}; whole run {elapsed:.0f} s; "
        f"load average {args.load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print()
    print(text_table(main_table(scenarios)))
    packaging = packaging_table(scenarios)
    if packaging:
        print()
        print(text_table(packaging))
    for line in failures(scenarios):
        print(f"\n{line}")
    print()
    for label, shown, met in targets(scenarios):
        mark = "n/a " if met is None else ("ok  " if met else "MISS")
        print(f"  {mark} {label.replace('`', '')}: {shown}")
    if not args.no_save:
        save(args.results, meta, bench, scenarios)
        print(f"\nwritten: {args.results}/latest.json, latest.md")
    print(f"whole run: {elapsed:.0f} s")


# -- entry points ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="ecrpy against docker-credential-ecr-login, side by side, in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run; results not saved")
    parser.add_argument("--warm-runs", type=int, default=100, help="gets per tool, warm scenarios")
    parser.add_argument("--cold-runs", type=int, default=20, help="cold gets per tool")
    parser.add_argument("--concurrency", type=int, default=32, help="processes per burst")
    parser.add_argument("--concurrent-rounds", type=int, default=5, help="bursts per helper")
    parser.add_argument("--rss-runs", type=int, default=7, help="peak RSS runs per tool")
    parser.add_argument("--ci-gets", type=int, default=200, help="gets per CI batch")
    parser.add_argument("--ci-rounds", type=int, default=3, help="CI batches per helper")
    parser.add_argument(
        "--aws-latency-ms",
        type=float,
        default=0.0,
        help="delay the fake adds to every AWS answer (default 0: loopback speed)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated scenarios to run: static, role, web-identity, cold, concurrent, "
        "rss, ci (default: all; results not saved)",
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
    parser.add_argument("--go", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.warm_runs, args.cold_runs, args.concurrent_rounds = 6, 3, 1
        args.rss_runs, args.ci_gets, args.ci_rounds = 2, 20, 1
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
    go = None if args.no_go else world.go_helper()
    if go is None and not args.no_go:
        print(
            "docker-credential-ecr-login is not installed: benchmarking ecrpy alone.\n"
            "  For the side-by-side run: apt-get install amazon-ecr-credential-helper"
        )
    if go is not None:
        problem = world.private_hosts_problem()
        if problem:
            print(f"The Go helper reaches the fake AWS only by real hostnames, but {problem}.")
            print("  Benchmarking ecrpy alone (run as root for the side-by-side run).")
            go = None
    workdir = tempfile.mkdtemp(prefix="ecrpy-bench-")
    try:
        if go is None:
            args.workdir, args.address, args.go = workdir, None, None
            return inner(args)
        address = world.free_loopback()
        argv_inner = [sys.executable, os.path.abspath(__file__), *raw, "--inner"]
        argv_inner += ["--workdir", workdir, "--address", address, "--go", go]
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
    started = time.perf_counter()
    try:
        fake = world.Fake.start(args.workdir, args.address)
        fake.latency = args.aws_latency_ms / 1000
        how = "real AWS hostnames, private /etc/hosts" if args.address else "AWS_ENDPOINT_URL_*"
        print(f"fake AWS on {fake.url} ({how}), started in {fake.started_in:.1f} s")
        bench = Bench(args, fake, args.go)
        print(f"ecrpy: {bench.script} (python {world.python_version(bench.python)})")
        version = world.go_version(bench.go) if bench.go else ""
        print(f"Go helper: {bench.go or 'not run'} {version}")
        scenarios = bench.run_all()
        report(args, bench, scenarios, time.perf_counter() - started)
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}")
        return 1
    finally:
        if fake is not None:
            fake.stop()
        world.stop_children()
    return 0


if __name__ == "__main__":
    sys.exit(main())
