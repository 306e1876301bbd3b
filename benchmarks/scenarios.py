"""The scenarios of ``make bench``: what is run, in which order, and what each run counts.

:class:`Bench` runs every tool of a scenario in rotating order, round after round, checks
every answer (a helper that fails is an error, never a fast result), and counts the AWS
requests the fake received while each tool was measured. The world they run in (the fake
AWS, the installs, dockerd) is :mod:`world`; the tables are :mod:`report`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import world
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
    "build_rounds",
    "role_rounds",
    "aws_latency_ms",
    "baseline",
)
# Private registries of the fan-out scenarios: 20 accounts in each of the two regions.
FAN_ACCOUNTS = tuple(f"{600000000000 + n:012d}" for n in range(1, 21))
FAN_REGISTRIES = tuple(
    f"{account}.dkr.ecr.{region}.amazonaws.com"
    for region in world.REGIONS
    for account in FAN_ACCOUNTS
)
BUILD_SIZES = (1, 10, 39)  # credHelpers entries of the classic-builder scenario
ROLE_REGISTRIES = 20
DOCKERFILE = "FROM scratch\nLABEL bench=ecrpy\n"
HELPER_NAME = dict.fromkeys(world.GO_KEYS, "ecr-login")  # credHelpers value (default: ecrpy)


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
    load: float = 0.0  # the 1-minute load average when the scenario started

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
    def __init__(self, args: argparse.Namespace, fake: world.Fake, go: dict[str, str]) -> None:
        self.args = args
        self.fake = fake
        self.workdir: str = args.workdir
        self.go = go  # the Go helpers by key (world.GO_HELPERS), "go" the newest
        self.time_bin = world.gnu_time()
        self.installs: dict[str, dict[str, str]] = {}
        self.setup_requests: dict[str, Counter[str]] = {}
        self.tools = self._tools()
        self.dockerd: world.Dockerd | None = None

    def _install(self) -> None:
        """ecrpy as users get it: a fresh venv's bundled pip, and pipx (and a baseline)."""
        source = world.copy_source(os.path.join(self.workdir, "src"))
        started = time.perf_counter()
        script, pip = world.fresh_venv(os.path.join(self.workdir, "venv"), source)
        self.installs["ecrpy"] = {
            "script": script,
            "how": f"python3 -m venv + pip {pip} (bundled) install .",
            "seconds": f"{time.perf_counter() - started:.0f}",
        }
        if not self.args.no_pipx:
            started = time.perf_counter()
            pipx = world.pipx_install(os.path.join(self.workdir, "pipx"), source)
            if pipx is not None:
                self.installs["ecrpy-pipx"] = {
                    "script": pipx,
                    "how": "pipx install .",
                    "seconds": f"{time.perf_counter() - started:.0f}",
                }
        if self.args.baseline:
            base = world.copy_source(os.path.join(self.workdir, "base-src"), self.args.baseline)
            script, pip = world.fresh_venv(os.path.join(self.workdir, "base-venv"), base)
            self.installs["ecrpy-base"] = {
                "script": script,
                "how": f"{self.args.baseline}: python3 -m venv + pip {pip} install .",
            }
        self.installs["ecrpy-dev"] = {"script": world.ecrpy_script(), "how": "make dev venv"}

    def _tools(self) -> dict[str, Tool]:
        self._install()
        scripts = {key: info["script"] for key, info in self.installs.items()}
        python = world.shebang_python(scripts["ecrpy"])
        self.python = python
        self.script = scripts["ecrpy"]
        tools = [
            Tool("ecrpy", "ecrpy (fresh venv)", [scripts["ecrpy"], "get"]),
            Tool("true", "/bin/true", ["/bin/true"], helper=False),
            Tool("pass-IS", "python -I -S -c pass", [python, "-I", "-S", "-c", "pass"], {}, False),
            Tool("pass", "python -c pass (fresh venv)", [python, "-c", "pass"], helper=False),
            Tool("botocore", "botocore floor", [python, "-c", BOTOCORE_GET]),
        ]
        labels = {"ecrpy-pipx": "pipx", "ecrpy-base": "baseline", "ecrpy-dev": "dev venv"}
        for key, label in labels.items():
            if key in scripts:
                own = world.shebang_python(scripts[key])
                tools.append(Tool(key, f"ecrpy ({label})", [scripts[key], "get"]))
                tools.append(
                    Tool(
                        key.replace("ecrpy", "pass"),
                        f"python -c pass ({label})",
                        [own, "-c", "pass"],
                        helper=False,
                    )
                )
        for key, path in self.go.items():
            version = world.go_version(path).split()[0]
            tools.append(Tool(key, f"Go helper {version}", [path, "get"]))
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

    def prewarm(
        self,
        scenario: str,
        tools: list[Tool],
        extra: dict[str, str],
        registries: tuple[str, ...] = (REGISTRY,),
    ) -> None:
        """A get per helper and registry, so that the measured gets are warm (not counted)."""
        self.fake.take()
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
        keys: tuple[str, ...] = (
            "ecrpy",
            "ecrpy-pipx",
            "go",
            "go-stable",
            "ecrpy-dev",
            "ecrpy-base",
        )
        if key == "warm-static":
            keys += ("true", "pass-IS", "pass", "pass-pipx", "pass-dev", "pass-base")
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
            self.present("ecrpy", "ecrpy-pipx", "go", "go-stable", "ecrpy-base", "botocore"),
            self.args.cold_runs,
            lambda t: self.run(t, self.env(key, t, extra)) * 1000,
            cold=True,
        )

    def concurrent(self, n: int) -> Scenario:
        key, extra = f"concurrent-{n}", self.static_env(f"concurrent-{n}")
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
            self.present("ecrpy", "go", "go-stable"),
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
        tools = self.present("ecrpy", "ecrpy-pipx", "go", "go-stable", "pass")
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
            self.present("ecrpy", "ecrpy-pipx", "go", "go-stable", "ecrpy-base", "botocore"),
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
        tools = self.present("ecrpy", "go", "go-stable")
        self.prewarm(key, tools, extra, CI_REGISTRIES)

        def batch(tool: Tool) -> float:
            env = self.env(key, tool, extra)
            start = time.perf_counter()
            for k in range(gets):
                self.run(tool, env, CI_REGISTRIES[k % len(CI_REGISTRIES)])
            return time.perf_counter() - start

        return self.measure(scenario, tools, self.args.ci_rounds, batch)

    def role_fanout(self) -> Scenario:
        """20 warm gets in a row, 20 registries, an assume-role profile: a build's first steps."""
        key = "role-fanout"
        extra = self.role_env(key)
        registries = FAN_REGISTRIES[:ROLE_REGISTRIES]
        scenario = Scenario(
            key,
            f"{ROLE_REGISTRIES} warm gets, {ROLE_REGISTRIES} registries, assume-role profile",
            f"{ROLE_REGISTRIES} sequential gets, one per registry, all cached; AWS_PROFILE with "
            "role_arn + source_profile",
            "ms",
            per="batch",
        )
        tools = self.present("ecrpy", "ecrpy-pipx", "go", "go-stable")
        self.prewarm(key, tools, extra, registries)

        def batch(tool: Tool) -> float:
            env = self.env(key, tool, extra)
            start = time.perf_counter()
            for registry in registries:
                self.run(tool, env, registry)
            return (time.perf_counter() - start) * 1000

        return self.measure(scenario, tools, self.args.role_rounds, batch)

    def build(self, entries: int, cold: bool) -> Scenario:
        """``DOCKER_BUILDKIT=0 docker build`` with ``entries`` credHelpers: the CLI asks the
        helper for every entry, one after the other, before it sends the build to dockerd."""
        key = f"build-{entries}-{'cold' if cold else 'warm'}"
        extra = self.static_env(key)
        docker = world.docker_cli()
        scenario = Scenario(
            key,
            f"classic docker build, {entries} credHelpers, {'cold' if cold else 'warm'}",
            f"DOCKER_BUILDKIT=0 {docker} build (FROM scratch) with {entries} ECR credHelpers "
            f"entries over {min(entries, 2)} region(s); "
            + ("empty cache" if cold else "every token cached"),
            "ms",
            per="build",
        )
        if docker is None:
            scenario.note = "docker CLI missing"
            return scenario
        if self.dockerd is None:
            self.dockerd = world.Dockerd(self.workdir)
        by_region = [FAN_REGISTRIES[: len(FAN_ACCOUNTS)], FAN_REGISTRIES[len(FAN_ACCOUNTS) :]]
        interleaved = [reg for pair in zip(*by_region) for reg in pair]
        registries = tuple(interleaved[:entries])
        context = os.path.join(self.workdir, "build-context")
        os.makedirs(context, exist_ok=True)
        with open(os.path.join(context, "Dockerfile"), "w", encoding="utf-8") as handle:
            handle.write(DOCKERFILE)
        tools = self.present("ecrpy", "go", "go-stable")
        envs: dict[str, dict[str, str]] = {}
        for tool in tools:
            # docker finds the helper on PATH by its credHelpers name: each tool's own there.
            helper = HELPER_NAME.get(tool.key, "ecrpy")
            bin_dir = os.path.join(self.workdir, "build-bin", tool.key)
            os.makedirs(bin_dir, exist_ok=True)
            link = os.path.join(bin_dir, f"docker-credential-{helper}")
            if not os.path.lexists(link):
                os.symlink(tool.argv[0], link)
            config_dir = os.path.join(self.workdir, "docker-config", key, tool.key)
            os.makedirs(config_dir, exist_ok=True)
            with open(os.path.join(config_dir, "config.json"), "w", encoding="utf-8") as handle:
                json.dump({"credHelpers": dict.fromkeys(registries, helper)}, handle)
            env = self.env(key, tool, extra)
            env.update(
                {
                    "PATH": bin_dir + os.pathsep + env["PATH"],
                    "DOCKER_CONFIG": config_dir,
                    "DOCKER_HOST": self.dockerd.host,
                    "DOCKER_BUILDKIT": "0",
                }
            )
            envs[tool.key] = env
        if not cold:
            self.prewarm(key, tools, extra, registries)

        def once(tool: Tool) -> float:
            argv = [docker, "build", "-q", "-t", f"ecrpy-bench-{tool.key}", context]
            start = time.perf_counter()
            done = subprocess.run(argv, env=envs[tool.key], capture_output=True, check=False)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                text = (done.stdout + done.stderr).decode(errors="replace")[-1500:]
                raise BenchError(f"{tool.label}: docker build failed: {text}")
            if tool.key == "ecrpy":  # every entry's token is in ecrpy's cache: it answered
                cached = [
                    name for name in os.listdir(self.cache_dir(key, tool)) if name.endswith(".json")
                ]
                if len(cached) < len(registries):
                    raise BenchError(f"{tool.label}: {len(cached)} of {len(registries)} cached")
            return elapsed * 1000

        return self.measure(scenario, tools, self.args.build_rounds, once, cold=cold)

    def store_mode(self) -> Scenario:
        """Issue 12: a registry that is not ECR, with ecrpy as Docker's credsStore.

        ecrpy's start plus a fallback store's, against that store run directly (a shell script
        that answers at once, so what is left is ecrpy's own part), ecrpy's own store, and a warm
        ECR get of the same install for scale."""
        key, other = "store", "ghcr.io"
        home = self.home(key)
        bindir = os.path.join(self.workdir, "store-bin")
        os.makedirs(bindir, exist_ok=True)
        fallback = os.path.join(bindir, "docker-credential-benchstore")
        with open(fallback, "w", encoding="utf-8") as handle:
            handle.write(
                "#!/bin/sh\ncat >/dev/null\n"
                'echo \'{"ServerURL":"ghcr.io","Username":"me","Secret":"bench-secret"}\'\n'
            )
        os.chmod(fallback, 0o755)
        settings = {"fallback": os.path.join(home, "fallback.toml"), "own": ""}
        with open(settings["fallback"], "w", encoding="utf-8") as handle:
            handle.write('[store]\nfallback = "benchstore"\n')
        path = f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        none = os.path.join(home, "none.toml")
        tools = [
            Tool(
                "store-fallback",
                "ecrpy, then the fallback",
                [self.script, "get"],
                {"ECRPY_CONFIG": settings["fallback"], "PATH": path},
                helper=False,
            ),
            Tool("store-direct", "the fallback alone", [fallback, "get"], helper=False),
            Tool(
                "store-own",
                "ecrpy's own store",
                [self.script, "get"],
                {"ECRPY_CONFIG": none, "XDG_DATA_HOME": os.path.join(home, "data")},
                helper=False,
            ),
            self.tools["ecrpy"],
        ]
        owners = [tools[2]]
        base = self.installs.get("ecrpy-base", {}).get("script")
        if base:  # the same two paths in the baseline install: before and after, paired
            tools[2:2] = [
                Tool(
                    "store-fallback-base",
                    "baseline ecrpy, then the fallback",
                    [base, "get"],
                    {"ECRPY_CONFIG": settings["fallback"], "PATH": path},
                    helper=False,
                ),
                Tool(
                    "store-own-base",
                    "baseline ecrpy's own store",
                    [base, "get"],
                    {"ECRPY_CONFIG": none, "XDG_DATA_HOME": os.path.join(home, "data-base")},
                    helper=False,
                ),
            ]
            owners.append(tools[3])
        extra = self.static_env(key)
        login = json.dumps({"ServerURL": other, "Username": "me", "Secret": "bench-secret"})
        for owner in owners:  # each install's own store holds the login it serves
            subprocess.run(
                [owner.argv[0], "store"],
                input=login.encode(),
                env=self.env(key, owner, extra),
                check=True,
                capture_output=True,
            )
        self.prewarm(key, [self.tools["ecrpy"]], extra)
        envs = {tool.key: self.env(key, tool, extra) for tool in tools}
        scenario = Scenario(
            key,
            "get for a registry that is not ECR (credsStore ecrpy)",
            "ghcr.io through ecrpy to a [store] fallback (a shell script), the same script run "
            "directly, ecrpy's own store (each also in the baseline install, with --baseline); a "
            "warm ECR get of the same install for scale",
            "ms",
        )

        def once(tool: Tool) -> float:
            return self.run(tool, envs[tool.key], REGISTRY if tool.helper else other) * 1000

        return self.measure(scenario, tools, self.args.warm_runs, once)

    def stop(self) -> None:
        if self.dockerd is not None:
            self.dockerd.stop()
            self.dockerd = None

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
            *(
                (
                    "concurrent",
                    f"{n} concurrent cold gets",
                    lambda n=n: self.concurrent(n),  # type: ignore[misc]
                )
                for n in self.args.concurrency
            ),
            ("rss", "peak RSS", self.rss),
            ("ci", f"{self.args.ci_gets} warm gets across 10 registries", self.ci),
            (
                "role-fanout",
                f"{ROLE_REGISTRIES} warm gets under an assume-role profile",
                self.role_fanout,
            ),
            ("store", "a registry that is not ECR, credsStore mode", self.store_mode),
            *(
                (
                    "build",
                    f"classic docker build, {n} credHelpers, {'cold' if cold else 'warm'}",
                    lambda n=n, cold=cold: self.build(n, cold),  # type: ignore[misc]
                )
                for n in BUILD_SIZES
                for cold in (True, False)
            ),
        ]
        only = set(self.args.only.split(",")) if self.args.only else None
        scenarios: list[Scenario] = []
        for name, label, step in plan:
            if only is not None and name not in only:
                continue
            started = time.perf_counter()
            print(f"  {label} ...", end="", flush=True)
            load = os.getloadavg()[0]
            produced = step()
            for scenario in produced if isinstance(produced, list) else [produced]:
                scenario.load = load
                scenarios.append(scenario)
            print(f" {time.perf_counter() - started:.1f} s", flush=True)
        return scenarios
