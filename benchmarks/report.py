"""The report of ``make bench``: the tables, the issue's targets, ``results/latest.*``."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform

import world
from scenarios import SETTINGS, SHORT, Bench, Row, Scenario

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
