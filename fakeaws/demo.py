"""``make demo``: ecrpy for real against a fake ECR on loopback. No AWS account needed.

Runs the installed ``docker-credential-ecrpy get`` twice, exactly as Docker would: a cold call
that fetches a token from the fake ECR, then a warm one served from the on-disk cache. Prints
what Docker would receive (the secret masked), how long each took, and how many token requests
the fake ECR saw.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .server import Server

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def helper_path(given: str | None = None) -> str:
    """The helper to run: ``--helper PATH`` (installed elsewhere), else the installed one."""
    if given:
        return given
    beside = os.path.join(os.path.dirname(sys.executable), "docker-credential-ecrpy")
    found = beside if os.path.exists(beside) else shutil.which("docker-credential-ecrpy")
    if not found:
        sys.exit("docker-credential-ecrpy is not installed: run `make demo` (it installs it)")
    return found


def mask(secret: str) -> str:
    return f"{secret[:4]}...{secret[-4:]} ({len(secret)} chars)" if len(secret) > 8 else "****"


def run_get(helper: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(
        [helper, "get"], input=REGISTRY, env=env, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m fakeaws.demo", description=__doc__)
    parser.add_argument("--helper", help="the docker-credential-ecrpy to run (default: installed)")
    helper = helper_path(parser.parse_args(argv).helper)
    with Server() as fake, tempfile.TemporaryDirectory(prefix="ecrpy-demo-") as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "AWS_ACCESS_KEY_ID": "AKIADEMODEMODEMO0000",
            "AWS_SECRET_ACCESS_KEY": "demo-secret-key-not-real",
            "AWS_EC2_METADATA_DISABLED": "true",
            **fake.environment(),
        }
        print(f"fake ECR listening on {fake.url} (AWS_ENDPOINT_URL_ECR)")
        print(f"$ echo {REGISTRY} | docker-credential-ecrpy get\n")
        for label in ("cold (fetches a token)", "warm (served from the cache)"):
            elapsed, result = run_get(helper, env)
            if result.returncode != 0:
                print(f"{label}: failed with exit {result.returncode}: {result.stdout.strip()}")
                return 1
            answer = json.loads(result.stdout)
            answer["Secret"] = mask(answer["Secret"])
            print(
                f"{label}: {elapsed * 1000:.1f} ms, token requests so far: "
                f"{fake.app.count('GetAuthorizationToken')}"
            )
            print(f"  Docker receives: {json.dumps(answer)}")
        cache_dir = os.path.join(home, ".cache", "ecrpy")
        print(
            f"\ncache: {cache_dir} (mode {oct(os.stat(cache_dir).st_mode & 0o777)}), "
            f"{len([n for n in os.listdir(cache_dir) if n.endswith('.json')])} token file(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
