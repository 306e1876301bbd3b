"""What ecrpy's start-up imports cost: ``python -X importtime``, summarised, in one command.

    .venv/bin/python benchmarks/imports.py [--runs 7] [--no-save]

Runs against the same fake AWS as ``run.py`` (through ``AWS_ENDPOINT_URL_ECR``; no root, no Go
helper needed) and reports, as medians of ``--runs`` runs:

- what ``site`` costs in ecrpy's venv (each ``.pth`` file's imports) and in a clean venv;
- the modules a warm ``get`` imports beyond ``python -c pass`` of the same environment: via
  the console script, via ``python -m credential_helper``, and from a clean venv (no ``.pth``,
  ecrpy symlinked into its site-packages as a regular install would put it);
- where a cold ``get``'s import time goes (botocore, urllib3, the standard library, ecrpy);
- the console-script wrapper the installer generated, and whether it imports ``re``.

Writes ``benchmarks/results/imports.md``. ``-X importtime`` adds its own overhead: compare the
numbers with each other, and take wall times from ``run.py``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import world  # a sibling module: the benchmark runs as a script
from world import BenchError

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
RESULTS = os.path.join(world.ROOT, "benchmarks", "results")
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")
# Modules of the standard library that a warm get must not need (each imports a lot, or re).
HEAVY = ("re", "typing", "json", "hashlib", "logging", "threading", "pathlib", "enum", "botocore")


@dataclass
class Module:
    name: str
    self_us: float
    cumulative_us: float
    depth: int


def parse(stderr: str) -> list[Module]:
    out = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            self_us, cumulative, indent, name = match.groups()
            out.append(Module(name, int(self_us), int(cumulative), len(indent) // 2))
    return out


def medians(runs: list[list[Module]]) -> list[Module]:
    """Per module, the median self and cumulative time over runs (in the first run's order)."""
    by_name: dict[str, list[Module]] = {}
    for run in runs:
        for module in run:
            by_name.setdefault(module.name, []).append(module)
    return [
        Module(
            m.name,
            statistics.median(x.self_us for x in by_name[m.name]),
            statistics.median(x.cumulative_us for x in by_name[m.name]),
            m.depth,
        )
        for m in runs[0]
    ]


class Probe:
    def __init__(self, args: argparse.Namespace, workdir: str, fake: world.Fake) -> None:
        self.runs = args.runs
        self.workdir = workdir
        self.script = world.ecrpy_script()
        self.python = world.shebang_python(self.script)
        directory = os.path.join(workdir, "clean-venv")
        self.clean = world.clean_venv(self.python, directory, ("credential_helper",))
        home = os.path.join(workdir, "home")
        os.makedirs(home, exist_ok=True)
        self.cache = os.path.join(workdir, "cache")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "LANG": "C.UTF-8",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ECR_CACHE_DIR": self.cache,
            "AWS_ACCESS_KEY_ID": "AKIABENCHSTATIC00001",
            "AWS_SECRET_ACCESS_KEY": "bench-static-secret-key-not-real",
            **fake.environment(),
        }

    def importtime(self, argv: list[str], clean: bool = False, cold: bool = False) -> list[Module]:
        env = self.env
        python = self.clean if clean else self.python
        runs = []
        for _ in range(self.runs):
            if cold:
                shutil.rmtree(self.cache, ignore_errors=True)
            proc = subprocess.run(
                [python, "-X", "importtime", *argv],
                input=(REGISTRY + "\n").encode(),
                env=env,
                capture_output=True,
                check=False,
            )
            if proc.returncode != 0:
                raise BenchError(f"{argv} failed: {proc.stdout!r} {proc.stderr[-800:]!r}")
            runs.append(parse(proc.stderr.decode("utf-8", "replace")))
        return medians(runs)

    def warm_up(self) -> None:
        proc = subprocess.run(
            [self.script, "get"],
            input=(REGISTRY + "\n").encode(),
            env=self.env,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BenchError(f"the first get failed: {proc.stdout!r}")


def ms(us: float) -> str:
    return f"{us / 1000:.2f} ms"


def site_children(modules: list[Module]) -> tuple[float, list[Module]]:
    """``site``'s cumulative time and its direct children (what the .pth files import)."""
    site = next((m for m in modules if m.name == "site" and m.depth == 0), None)
    if site is None:
        return 0.0, []
    index = modules.index(site)
    children: list[Module] = []
    for module in reversed(modules[:index]):  # importtime prints children before parents
        if module.depth == 0:
            break
        if module.depth == 1:
            children.append(module)
    return site.cumulative_us, list(reversed(children))


def extra(modules: list[Module], baseline: list[Module]) -> list[Module]:
    known = {m.name for m in baseline}
    return [m for m in modules if m.name not in known]


def group(name: str) -> str:
    top = name.split(".", maxsplit=1)[0]
    if top in ("credential_helper", "botocore", "urllib3", "dateutil", "jmespath", "cachetools"):
        return top
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "standard library"
    return "other"


def report(probe: Probe) -> str:
    lines = [
        "# ecrpy start-up: where the import time goes",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, "
        f"Python {world.python_version(probe.python)}, medians of {probe.runs} runs of "
        "`python -X importtime` (microseconds as importtime counts them, overhead included). "
        "`python benchmarks/imports.py`.",
        "",
    ]
    dev_pass = probe.importtime(["-c", "pass"])
    clean_pass = probe.importtime(["-c", "pass"], clean=True)

    lines += ["## `site` and the `.pth` files", ""]
    site_packages = world.site_packages(probe.python)
    for name in sorted(os.listdir(site_packages)) if site_packages else []:
        if name.endswith(".pth"):
            with open(os.path.join(site_packages, name), encoding="utf-8") as handle:
                text = handle.read().strip().replace("\n", " ")
            lines.append(f"- `{name}`: `{text[:110]}{'...' if len(text) > 110 else ''}`")
    lines.append("")
    lines += ["| `python -c pass` | `site` in all | imported by `site` |", "| --- | --- | --- |"]
    for label, modules in (("ecrpy's venv", dev_pass), ("clean venv", clean_pass)):
        total, children = site_children(modules)
        shown = ", ".join(
            f"`{m.name}` {ms(m.cumulative_us)}"
            for m in sorted(children, key=lambda m: -m.cumulative_us)[:5]
        )
        lines.append(f"| {label} | {ms(total)} | {shown} |")
    finder = next((m for m in dev_pass if "__editable__" in m.name and m.depth == 1), None)
    if finder is not None:
        index = dev_pass.index(finder)
        pulled = [m.name for m in dev_pass[:index] if m.depth > 1 and m.name in HEAVY[:-1]]
        lines += [
            "",
            f"The editable-install finder (`{finder.name}`) costs {ms(finder.cumulative_us)} "
            f"on every start and imports {', '.join(f'`{n}`' for n in sorted(set(pulled)))} "
            "before ecrpy runs: in this venv those are free for ecrpy, and a warm path that "
            "starts to import them would not show in the venv's numbers.",
        ]

    lines += ["", "## Warm `get`: imports beyond `python -c pass` of the same environment", ""]
    probe.warm_up()
    variants = (
        ("console script", [probe.script, "get"], False, dev_pass),
        ("python -m credential_helper", ["-m", "credential_helper", "get"], False, dev_pass),
        ("clean venv, console script", [probe.script, "get"], True, clean_pass),
    )
    for label, argv, clean, baseline in variants:
        modules = extra(probe.importtime(argv, clean=clean), baseline)
        heavy = [m.name for m in modules if m.name.split(".")[0] in HEAVY]
        total = sum(m.self_us for m in modules)
        lines += [
            f"### {label}: {len(modules)} modules, {ms(total)}"
            + (f"; heavy: {', '.join(heavy)}" if heavy else ""),
            "",
            "| module | self | cumulative |",
            "| --- | --- | --- |",
        ]
        for m in modules:
            lines.append(
                f"| {'&nbsp;' * 2 * m.depth}`{m.name}` | {m.self_us:.0f} | {m.cumulative_us:.0f} |"
            )
        lines.append("")

    lines += ["## Cold `get` (empty cache): import time by package", ""]
    cold = extra(probe.importtime([probe.script, "get"], cold=True), dev_pass)
    groups: dict[str, float] = {}
    for m in cold:
        groups[group(m.name)] = groups.get(group(m.name), 0.0) + m.self_us
    lines += ["| package | self time of its modules |", "| --- | --- |"]
    for name, us in sorted(groups.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {ms(us)} |")
    lines += [f"| all ({len(cold)} modules) | {ms(sum(groups.values()))} |", ""]
    top = sorted((m for m in cold if m.depth == 0), key=lambda m: -m.cumulative_us)[:8]
    lines.append(
        "Largest top-level imports (cumulative): "
        + ", ".join(f"`{m.name}` {ms(m.cumulative_us)}" for m in top)
        + "."
    )

    lines += ["", "## The console-script wrapper", ""]
    with open(probe.script, encoding="utf-8") as handle:
        wrapper = handle.read()
    imports = re.findall(r"^\s*(?:import|from)\s+(\S+)", wrapper, re.MULTILINE)
    lines += [
        f"`{probe.script}` imports {', '.join(f'`{n}`' for n in imports)}"
        + (" (`re` costs a few ms: older pip wrote `re.sub` here)" if "re" in imports else "")
        + ":",
        "",
        "```text",  # verbatim: not for ruff format to rewrite
        wrapper.rstrip(),
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/imports.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (medians)")
    parser.add_argument("--no-save", action="store_true", help="do not write imports.md")
    parser.add_argument("--results", default=RESULTS, help="where imports.md goes")
    args = parser.parse_args(argv)
    world.exit_on_sigterm()
    workdir = tempfile.mkdtemp(prefix="ecrpy-imports-")
    fake: world.Fake | None = None
    try:
        fake = world.Fake.start(workdir, None)
        text = report(Probe(args, workdir, fake))
    except KeyboardInterrupt:
        return 130
    except BenchError as exc:
        print(f"failed: {exc}")
        return 1
    finally:
        if fake is not None:
            fake.stop()
        world.stop_children()
        shutil.rmtree(workdir, ignore_errors=True)
    print(text)
    if not args.no_save:
        os.makedirs(args.results, exist_ok=True)
        with open(os.path.join(args.results, "imports.md"), "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"written: {os.path.join(args.results, 'imports.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
