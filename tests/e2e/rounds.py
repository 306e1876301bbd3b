"""Cold and warm rounds of a client's commands, counted: helper executions and token requests;
and the set-up a cold round starts from (a base image in the registry, a build context).

Every client test runs its commands twice for one user: cold (empty token cache) and warm (the
token the first round cached). Cold, ecrpy asks ECR once whatever the client does; warm, never.
The helper executions are the client's behaviour (how often it runs ``get``), counted so a
change shows; the token requests are ecrpy's.

With ``ECRPY_E2E_COUNTS=<file>`` each round appends one JSON line (test, round, counts) there:
the figures the project reports per client come from a real run, not from a table.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from fakeaws.server import FakeAWS

from .conftest import DockerCLI, User

COUNTS_ENV = "ECRPY_E2E_COUNTS"


@dataclass(frozen=True)
class Round:
    name: str
    helper_runs: int  # executions of docker-credential-ecrpy, any action
    gets: int  # of which ``get``
    token_requests: int  # GetAuthorizationToken calls that reached (fake) ECR


def measure(name: str, user: User, fake: FakeAWS, commands: Callable[[], object]) -> Round:
    """Run ``commands`` and count what it cost."""
    runs, gets = len(user.helper_runs()), len(user.helper_runs("get"))
    tokens = fake.count("GetAuthorizationToken")
    commands()
    counted = Round(
        name,
        len(user.helper_runs()) - runs,
        len(user.helper_runs("get")) - gets,
        fake.count("GetAuthorizationToken") - tokens,
    )
    _report(counted)
    return counted


def cold_then_warm(
    user: User, fake: FakeAWS, commands: Callable[[], object]
) -> tuple[Round, Round]:
    """The commands cold, then again warm: one token request, then none; ecrpy asked both times."""
    cold = measure("cold", user, fake, commands)
    warm = measure("warm", user, fake, commands)
    assert cold.gets > 0, f"the client never ran ecrpy get: {cold}"
    assert cold.token_requests == 1, cold
    assert warm.gets > 0, f"warm, the client never ran ecrpy get: {warm}"
    assert warm.token_requests == 0, warm
    return cold, warm


def _report(counted: Round) -> None:
    target = os.environ.get(COUNTS_ENV)
    if not target:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ", 1)[0]
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"test": test, **asdict(counted)}) + "\n")


def helpers_for(user: User, hosts: Iterable[str]) -> None:
    """The user's Docker config sends exactly these registries to ecrpy."""
    user.configure_docker({"credHelpers": dict.fromkeys(hosts, "ecrpy")})


def publish(docker: DockerCLI, user: User, rootfs_tar: Path, image: str) -> str:
    """``image`` in the registry and not on the daemon; then ecrpy's token cache and the trace
    emptied, so that what follows starts cold. Returns what the push printed."""
    docker.ok("import", str(rootfs_tar), image)
    pushed = docker.ok("push", image).stdout
    docker.ok("rmi", image)
    shutil.rmtree(user.cache_dir)
    user.trace.unlink()
    return pushed


def build_context(directory: Path, base: str, client: str) -> Path:
    """A build context whose Dockerfile starts ``FROM base`` and adds one file."""
    directory.mkdir(parents=True)
    (directory / "Dockerfile").write_text(f"FROM {base}\nCOPY extra.txt /extra.txt\n")
    (directory / "extra.txt").write_text(f"built by {client}\n")
    return directory
