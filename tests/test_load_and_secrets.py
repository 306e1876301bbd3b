"""64 processes on one cache, and a sweep for secrets over every output a user or a log sees."""

from __future__ import annotations

import json
import random
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fakeaws.server import FakeAWS, Fault
from tests.conftest import REGISTRY, SECRET_KEY, Helper

REGISTRIES = [f"1234567890{n:02d}.dkr.ecr.us-east-1.amazonaws.com" for n in range(8)]
ERASED = "999999999999.dkr.ecr.us-east-1.amazonaws.com"


def test_sixty_four_processes_mixing_get_erase_and_list(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    """8 registries x 2 identities, plus a ninth registry being erased, all at once.

    The cache must be valid JSON at every moment, lose no entry, and cost one token request
    per (registry, identity).
    """
    other = {**env, "AWS_ACCESS_KEY_ID": "AKIASECONDIDENTITY02", "AWS_SECRET_ACCESS_KEY": "two"}
    helper.get(ERASED, env)
    fake.reset()
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=0.2))  # widen every race
    jobs: list[tuple[str, str, dict[str, str]]] = []
    for registry in REGISTRIES:
        for identity in (env, other):
            jobs += [("get", registry, identity)] * 3
    jobs += [("erase", ERASED, env)] * 8 + [("list", "", env)] * 8
    assert len(jobs) == 64
    random.Random(7).shuffle(jobs)

    directory = Path(env["HOME"]) / ".cache" / "ecrpy"
    bad: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # reads every entry, over and over, while the processes run
        while not stop.is_set():
            for path in directory.glob("*.json"):
                try:
                    text = path.read_text()
                except FileNotFoundError:
                    continue  # erased between listing and reading: fine
                try:
                    json.loads(text)
                except ValueError:
                    bad.append(f"{path.name}: {text[:80]!r}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        procs = [
            (
                action,
                subprocess.Popen(
                    [helper.path, action],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=e,
                ),
            )
            for action, _, e in jobs
        ]
        with ThreadPoolExecutor(64) as pool:
            outputs = list(
                pool.map(
                    lambda job: job[1][1].communicate(job[0][1].encode(), timeout=120),
                    zip(jobs, procs),
                )
            )
    finally:
        stop.set()
        watcher.join()
    assert bad == []
    for (action, proc), (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, (action, out, err)
        if action == "get":
            assert json.loads(out)["Secret"].endswith("-auth-token")
        if action == "list":
            assert isinstance(json.loads(out), dict)
    assert fake.count("GetAuthorizationToken") == 16  # one per (registry, identity)
    mine = json.loads(helper.run("list", env=env).stdout)
    theirs = json.loads(helper.run("list", env=other).stdout)
    assert set(mine) == set(theirs) == {f"https://{r}" for r in REGISTRIES}  # nothing lost
    assert len(list(directory.glob("*.json"))) == 16  # and the erased registry is gone


TOKEN = "TOKEN-SENTINEL-9f8e7d6c5b4a"


def test_no_secret_ever_leaves_the_cache_file(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    """Every path, with a recognisable token and secret key, at debug level: zero hits outside
    the one cache file that must hold the token (mode 0600)."""
    fake.password = TOKEN
    env["ECRPY_LOG_LEVEL"] = "debug"
    outputs: list[str] = []

    def run(*args: str, stdin: str = "", environ: dict[str, str] = env) -> None:
        result = helper.run(*args, stdin=stdin, env=environ)
        outputs.extend([result.stdout, result.stderr])

    run("get", stdin=REGISTRY)  # cold: the token is on stdout here, and only here
    assert TOKEN in outputs.pop(0)
    outputs.clear()
    run("list")
    run("whoami", REGISTRY, "--check")
    run("store", stdin=json.dumps({"ServerURL": REGISTRY, "Username": "AWS", "Secret": TOKEN}))
    run("store", stdin=json.dumps({"ServerURL": "ghcr.io", "Username": "u", "Secret": TOKEN}))
    run("store", stdin='{"ServerURL": "ghcr.io", "Secret": "' + TOKEN)  # malformed
    run("get", stdin=f"https://AWS:{TOKEN}@ghcr.io")
    fake.add_fault(
        Fault(
            operation="GetAuthorizationToken",
            code="AccessDeniedException",
            message=f"denied for key {SECRET_KEY}",
        )
    )  # AWS echoing a secret
    run("get", stdin="210987654321.dkr.ecr.us-east-1.amazonaws.com")
    run("export", "210987654321.dkr.ecr.us-east-1.amazonaws.com")
    run("login", "210987654321.dkr.ecr.us-east-1.amazonaws.com")
    fake.reset()
    fake.password = TOKEN
    broken = {**env, "AWS_PROFILE": "missing"}
    run("get", stdin=REGISTRY, environ=broken)
    run("erase", stdin=REGISTRY)
    run("version")
    run("frobnicate")
    for text in outputs:
        assert TOKEN not in text and SECRET_KEY not in text, text

    files = [p for p in home.rglob("*") if p.is_file()]
    holding = [p for p in files if TOKEN.encode() in p.read_bytes()]
    assert all(p.suffix == ".json" and p.parent.name == "ecrpy" for p in holding), holding
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in holding)
    assert not [p for p in files if SECRET_KEY.encode() in p.read_bytes()]
    log = (home / ".cache" / "ecrpy" / "ecrpy.log").read_text()
    assert "hit" in log or "refresh" in log  # the log was written, at debug level
