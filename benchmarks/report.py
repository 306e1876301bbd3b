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
    """A tool's median (min-max), and how many of its runs failed (if any did)."""
    row = scenario.rows.get(key)
    text = fmt(scenario.median(key), scenario.unit)
    if row is not None and len(row.values) > 1:
        low, high = min(row.values), max(row.values)
        digits = 0 if high >= 100 else 1
        text += f" ({low:.{digits}f}-{high:.{digits}f})"
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


FLOOR_LABELS = {"pass": "python -c pass", "botocore": "botocore"}


def go_label(scenarios: list[Scenario], key: str) -> str:
    """The Go helper of ``key`` as the run found it ("Go helper 0.12.0")."""
    for s in scenarios:
        if key in s.rows:
            return s.rows[key].tool.label
    return {"go": "Go helper", "go-stable": "Go helper (Debian stable)"}[key]


def main_table(scenarios: list[Scenario]) -> list[list[str]]:
    by_key = {s.key: s for s in scenarios}
    go, stable = go_label(scenarios, "go"), go_label(scenarios, "go-stable")
    rows = [
        [
            "scenario",
            "ecrpy, fresh venv",
            "ecrpy, pipx",
            go,
            "ecrpy/Go",
            stable,
            "floor",
            "ecrpy/floor",
            "AWS requests, ecrpy",
            f"AWS requests, {go.removeprefix('Go helper ')}",
            f"AWS requests, {stable.removeprefix('Go helper ')}",
        ]
    ]
    for s in scenarios:
        if s.key == "store":  # its own table: store_table
            continue
        ecrpy, go, floor = s.median("ecrpy"), s.median("go"), floor_of(s, by_key)
        floor_label = ""
        if s.floor:
            floor_label = f"{FLOOR_LABELS[s.floor]} {fmt(floor, s.unit)}"
        if s.note:
            rows.append([s.title, s.note, *[""] * (len(rows[0]) - 2)])
            continue
        rows.append(
            [
                s.title + (f" (per {s.per})" if s.per != "get" else ""),
                cell(s, "ecrpy"),
                cell(s, "ecrpy-pipx") if "ecrpy-pipx" in s.rows else "",
                cell(s, "go"),
                fmt_ratio(ratio(ecrpy, go)),
                cell(s, "go-stable"),
                floor_label,
                fmt_ratio(ratio(ecrpy, floor)) if s.floor else "",
                fmt_requests(s.rows.get("ecrpy")),
                fmt_requests(s.rows.get("go")),
                fmt_requests(s.rows.get("go-stable")),
            ]
        )
    return rows


INSTALLS = (
    ("ecrpy", "pass", "fresh venv, bundled pip"),
    ("ecrpy-pipx", "pass-pipx", "pipx"),
    ("ecrpy-dev", "pass-dev", "dev venv (make)"),
    ("ecrpy-base", "pass-base", "baseline"),
)


def install_table(scenarios: list[Scenario]) -> list[list[str]]:
    """Each install's warm get against its own interpreter, the floors and the Go helper."""
    static = {s.key: s for s in scenarios}.get("warm-static")
    if static is None:
        return []
    go = static.median("go")
    rows = [["install (warm get, static keys)", "ms", "vs its python -c pass", "vs Go"]]
    for tool, floor, label in INSTALLS:
        if static.median(tool) is None:
            continue
        rows.append(
            [
                label,
                cell(static, tool),
                fmt_ratio(ratio(static.median(tool), static.median(floor))),
                fmt_ratio(ratio(static.median(tool), go)),
            ]
        )
    for key, label in (
        ("true", "/bin/true"),
        ("pass-IS", "python -I -S -c pass"),
        ("pass", "python -c pass, fresh venv"),
        ("pass-pipx", "python -c pass, pipx venv"),
        ("go", go_label(scenarios, "go")),
        ("go-stable", go_label(scenarios, "go-stable")),
    ):
        if static.median(key) is not None:
            rows.append(
                [f"floor: {label}", cell(static, key), "", fmt_ratio(ratio(static.median(key), go))]
            )
    return rows


def store_table(scenarios: list[Scenario]) -> list[list[str]]:
    """Issue 12's case: ecrpy's own part of a get it hands to another store."""
    found = [s for s in scenarios if s.key == "store"]
    if not found:
        return []
    s = found[0]
    warm, direct = s.median("ecrpy"), s.median("store-direct")
    via, own = s.median("store-fallback"), s.median("store-own")
    part = None if via is None or direct is None else via - direct
    rows = [["get for ghcr.io (credsStore ecrpy)", "ms", "ecrpy's part", "vs a warm ECR get"]]
    rows.append(
        [
            "through ecrpy to the fallback",
            cell(s, "store-fallback"),
            fmt(part, "ms"),
            fmt_ratio(ratio(part, warm)),
        ]
    )
    rows.append(["the fallback alone", cell(s, "store-direct"), "", ""])
    rows.append(
        ["ecrpy's own store", cell(s, "store-own"), fmt(own, "ms"), fmt_ratio(ratio(own, warm))]
    )
    rows.append(["warm ECR get (same install)", cell(s, "ecrpy"), "", "1.00x"])
    for tool, label, now in (
        ("store-fallback-base", "baseline: through ecrpy to the fallback", via),
        ("store-own-base", "baseline: ecrpy's own store", own),
    ):
        before = s.median(tool)
        if before is not None:  # --baseline: this install against the older one, same run
            rows.append(
                [label, cell(s, tool), "", f"this install: {fmt_ratio(ratio(now, before))}"]
            )
    return rows


def targets(scenarios: list[Scenario]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets (11): (what, measured, met?)."""
    by_key = {s.key: s for s in scenarios}
    out: list[tuple[str, str, bool | None]] = []

    def check(label: str, value: float | None, limit: float, most: bool = True) -> None:
        met = None if value is None else (value <= limit if most else value >= limit)
        out.append((label, fmt_ratio(value), met))

    def mib(label: str, value: float | None, limit: float) -> None:
        out.append((label, fmt(value, "MiB"), None if value is None else value <= limit))

    static = by_key.get("warm-static")
    if static:
        for tool, floor, label in INSTALLS[:2]:
            if static.median(tool) is None:
                continue
            check(
                f"warm get ≤ 1.0x that venv's `python -c pass` ({label})",
                ratio(static.median(tool), static.median(floor)),
                1.0,
            )
            check(
                f"warm get ≤ 1.25x Go ({label})",
                ratio(static.median(tool), static.median("go")),
                1.25,
            )
            check(
                f"stretch: warm get ≤ 1.0x Go ({label})",
                ratio(static.median(tool), static.median("go")),
                1.0,
            )
    rss = by_key.get("rss-warm")
    if rss and not rss.note:
        mib("warm get peak RSS ≤ 12 MiB", rss.median("ecrpy"), 12.0)
    cold = by_key.get("cold")
    if cold and cold.median("ecrpy-base") is not None:
        check(
            "cold get ≤ 0.6x the baseline's",
            ratio(cold.median("ecrpy"), cold.median("ecrpy-base")),
            0.6,
        )
    rss = by_key.get("rss-cold")
    if rss and not rss.note:
        mib("cold get peak RSS ≤ 35 MiB", rss.median("ecrpy"), 35.0)
    for temperature, limit in (("cold", 3.0), ("warm", 1.3)):
        s = by_key.get(f"build-39-{temperature}")
        if s is None or s.note:
            continue
        check(
            f"classic docker build, 39 credHelpers, {temperature}: ≤ {limit:g}x Go",
            ratio(s.median("ecrpy"), s.median("go")),
            limit,
        )
        mine, theirs = s.rows.get("ecrpy"), s.rows.get("go")
        if mine and theirs and mine.units and theirs.units:
            made = mine.per_unit("GetAuthorizationToken")
            go_made = theirs.per_unit("GetAuthorizationToken")
            out.append(
                (
                    f"classic docker build, 39 credHelpers, {temperature}: "
                    "no more token requests than Go",
                    f"{made:g} vs {go_made:g} per build",
                    made <= go_made,
                )
            )
    s = by_key.get("concurrent-32")
    if s and "ecrpy" in s.rows:
        per = s.rows["ecrpy"].per_unit("GetAuthorizationToken")
        out.append(("32 concurrent cold gets: one request", f"{per:g} per burst", per == 1))
        check("32 concurrent cold gets: ≤ 2.5x Go", ratio(s.median("ecrpy"), s.median("go")), 2.5)
    s = by_key.get("role-fanout")
    if s and "ecrpy" in s.rows:
        check(
            "20 warm gets, assume-role profile: ≥ 2x faster than Go",
            ratio(s.median("go"), s.median("ecrpy")),
            2.0,
            most=False,
        )
        made = sum(s.rows["ecrpy"].requests.values())
        out.append(("20 warm gets, assume-role profile: 0 AWS requests", str(made), made == 0))
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
        "real life than here. The ratios are against the newest Go helper (`go`, Debian sid's); "
        "Debian stable's (`go-stable`) runs beside it. Floors run with the fresh venv's "
        "interpreter: `python -c pass` for warm gets; for cold gets, the least botocore program "
        "that gets a token. "
        f"Every helper trusts a CA bundle of normal size ({meta['ca_certificates']} "
        "certificates: the system's and the fake's).",
        "",
    ]
    installs = install_table(scenarios)
    if installs:
        lines += [
            "The warm get of each install, against the floors, same run "
            + "; ".join(f"{key}: {info['how']}" for key, info in meta["installs"].items())  # type: ignore[attr-defined]
            + ":",
            "",
            *markdown_table(installs),
            "",
        ]
    stores = store_table(scenarios)
    if stores:
        lines += [
            "A registry that is not ECR, with ecrpy as Docker's `credsStore` (issue 12's target: "
            "ecrpy's part at most 1.5x a warm ECR get):",
            "",
            *markdown_table(stores),
            "",
        ]
    lines += ["| target (issue 11) | measured | met |", "| --- | --- | --- |"]
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
        "installs": bench.installs,
        "go_helper": world.go_version(bench.go["go"]) if "go" in bench.go else None,
        "go_helper_path": bench.go.get("go"),
        "go_helpers": {
            key: {"path": p, "version": world.go_version(p)} for key, p in bench.go.items()
        },
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
                "ratio_ecrpy_go_stable": ratio(s.median("ecrpy"), s.median("go-stable")),
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
        f"Python {meta['python']}, docker-credential-ecr-login "
        + (
            " and ".join(f"{v['version']} ({k})" for k, v in meta["go_helpers"].items())  # type: ignore[attr-defined]
            or "absent"
        )
    )
    meta["settings"] = {key: getattr(args, key) for key in SETTINGS}
    meta["aws_latency_ms"] = args.aws_latency_ms
    meta["seconds"] = round(elapsed, 1)
    meta["load_average"] = {
        "before": args.load_before,
        "after": os.getloadavg()[0],
        "per_scenario": {s.key: s.load for s in scenarios},
    }
    meta["ca_certificates"] = args.ca_certificates
    bursts = "/".join(str(n) for n in args.concurrency)
    meta["settings_line"] = (
        f"{args.warm_runs} warm gets per tool and scenario, {args.cold_runs} cold gets, "
        f"{args.concurrent_rounds} bursts of {bursts}, {args.rss_runs} RSS runs, "
        f"{args.ci_rounds} batches of {args.ci_gets}, {args.build_rounds} docker builds, "
        f"{args.role_rounds} assume-role batches; whole run {elapsed:.0f} s; "
        f"load average (1 min) {args.load_before:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"{min(s.load for s in scenarios):.2f}-{max(s.load for s in scenarios):.2f} at the "
        "start of the scenarios (a shared machine: read the ratios of tools run alternately)"
    )
    print()
    print(text_table(main_table(scenarios)))
    installs = install_table(scenarios)
    if installs:
        print()
        print(text_table(installs))
    stores = store_table(scenarios)
    if stores:
        print()
        print(text_table(stores))
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
