"""Fixtures for the end-to-end tests: registries, dockerd and a user's environment.

The registries, the daemon and the private namespace are made once per session; each test
gets a fresh home (Docker config, ecrpy's token cache), a fresh trace of the helper's runs and
a fake AWS with no requests recorded and no faults (``fake`` from ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakeaws import tls
from fakeaws.hosts import write_hosts
from fakeaws.server import FakeAWS, Fault, Server

from ..conftest import ACCESS_KEY, SECRET_KEY, helper_path
from . import world


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests with real clients (docker, skopeo, podman) on loopback"
    )


@pytest.fixture(scope="session")
def needs_docker() -> None:
    """Every program the docker tests run, checked (and named if missing) before any starts."""
    world.require(*world.DOCKER)


@pytest.fixture(scope="session")
def needs_skopeo() -> None:
    world.require(*world.SKOPEO)


@pytest.fixture(scope="session")
def needs_podman() -> None:
    world.require(*world.PODMAN)


@pytest.fixture(scope="session")
def e2e_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def certs(e2e_root: Path) -> tls.Certs:
    names = [world.REGISTRY, world.DENIED_REGISTRY, world.PLAIN_REGISTRY, world.ALIAS_REGISTRY]
    return tls.make(str(e2e_root / "tls"), [*names, world.ECR_ADDRESS, world.PLAIN_ADDRESS])


@pytest.fixture(scope="session")
def cert_dir(e2e_root: Path, certs: tls.Certs) -> Path:
    """A ``--cert-dir`` for skopeo and podman: the test CA as ``ca.crt``."""
    path = e2e_root / "cert-dir"
    path.mkdir()
    (path / "ca.crt").write_bytes(Path(certs.ca).read_bytes())
    return path


@pytest.fixture(scope="session")
def namespace(e2e_root: Path) -> Iterator[world.Namespace]:
    world.require("unshare", "mount")
    hosts_file = e2e_root / "hosts"
    names = {
        world.REGISTRY: world.ECR_ADDRESS,
        world.DENIED_REGISTRY: world.ECR_ADDRESS,
        world.PLAIN_REGISTRY: world.PLAIN_ADDRESS,
        world.ALIAS_REGISTRY: world.ECR_ADDRESS,
    }
    space = world.Namespace(write_hosts(str(hosts_file), names), e2e_root / "private")
    yield space
    space.close()


@pytest.fixture(scope="session")
def ecr_registry(e2e_root: Path, certs: tls.Certs) -> Iterator[world.Registry]:
    """The registry behind both ECR hostnames, for user AWS with account 123456789012's token."""
    world.require("docker-registry", "htpasswd")
    directory = e2e_root / "registry-ecr"
    directory.mkdir()
    users = world.htpasswd_file(directory / "htpasswd", "AWS", world.PASSWORD)
    registry = world.Registry("ecr", directory, world.ECR_ADDRESS, certs.cert, certs.key, users)
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def plain_registry(e2e_root: Path, certs: tls.Certs) -> Iterator[world.Registry]:
    """A registry that is not ECR and needs no credentials."""
    world.require("docker-registry")
    registry = world.Registry(
        "plain", e2e_root / "registry-plain", world.PLAIN_ADDRESS, certs.cert, certs.key, None
    )
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def dockerd(
    e2e_root: Path, namespace: world.Namespace, certs: tls.Certs
) -> Iterator[world.Dockerd]:
    world.require("dockerd", "docker")
    registries = [world.REGISTRY, world.DENIED_REGISTRY, world.PLAIN_REGISTRY, world.ALIAS_REGISTRY]
    try:
        daemon = world.Dockerd(e2e_root / "dockerd", namespace, certs.ca, registries)
    except world.DockerdError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def shim_bin(e2e_root: Path) -> Path:
    return world.write_shim(e2e_root / "bin", helper_path(), sys.executable)


@pytest.fixture(scope="session")
def rootfs_tar(e2e_root: Path) -> Path:
    return world.tiny_rootfs_tar(e2e_root / "rootfs.tar")


@dataclass
class User:
    """One user's machine: their environment, home, Docker config and ecrpy's token cache."""

    env: dict[str, str]
    home: Path
    trace: Path

    @property
    def docker_config(self) -> Path:
        return self.home / ".docker" / "config.json"

    @property
    def cache_dir(self) -> Path:
        return self.home / ".cache" / "ecrpy"

    def configure_docker(self, config: dict[str, object]) -> None:
        self.docker_config.parent.mkdir(parents=True, exist_ok=True)
        self.docker_config.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    def helper_runs(self, action: str | None = None) -> list[world.HelperRun]:
        runs = world.helper_runs(self.trace)
        return [r for r in runs if action is None or r.action == action]


@pytest.fixture
def user(env: dict[str, str], home: Path, tmp_path: Path, shim_bin: Path, fake: FakeAWS) -> User:
    """A user whose ~/.docker/config.json sends both ECR hostnames to ecrpy (``credHelpers``).

    ``env`` (tests/conftest.py) holds static test keys and the fake's endpoint settings; on PATH
    the recording shim comes first, then the installed helper's directory, then the system's.
    """
    scratch = tmp_path / "scratch"
    (scratch / "run").mkdir(parents=True)
    (scratch / "tmp").mkdir()
    path = os.pathsep.join([str(shim_bin), os.path.dirname(helper_path()), env["PATH"]])
    environment = {
        **env,
        "PATH": path,
        world.TRACE_ENV: str(tmp_path / "helper-trace.jsonl"),
        # containers/image looks for auth files in $XDG_RUNTIME_DIR and keeps big temp files
        # in $TMPDIR (else /var/tmp): both ours, so the machine's own files play no part.
        "XDG_RUNTIME_DIR": str(scratch / "run"),
        "TMPDIR": str(scratch / "tmp"),
    }
    person = User(environment, home, tmp_path / "helper-trace.jsonl")
    person.configure_docker(
        {"credHelpers": {world.REGISTRY: "ecrpy", world.DENIED_REGISTRY: "ecrpy"}}
    )
    return person


class DockerCLI:
    """The docker CLI of this machine, talking to the test daemon, as ``user``."""

    def __init__(self, user: User, daemon: world.Dockerd, program: str = "docker") -> None:
        self.user = user
        self.env = {**user.env, "DOCKER_HOST": daemon.host}
        self.program = program

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return world.run([self.program, *args], self.env)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self(*args)
        assert result.returncode == 0, world.shown(result)
        return result


@pytest.fixture
def docker(user: User, dockerd: world.Dockerd, ecr_registry: world.Registry) -> DockerCLI:
    return DockerCLI(user, dockerd)


class ContainersTool:
    """skopeo or podman as ``user``, in the private namespace (our /etc/hosts, our state dirs)."""

    def __init__(
        self,
        program: str,
        user: User,
        namespace: world.Namespace,
        binds: dict[str, Path],
        options: list[str],
    ) -> None:
        self.program, self.user, self.namespace = program, user, namespace
        self.binds, self.options = binds, options

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        argv = [self.program, *self.options, *args]
        return world.run(self.namespace.command(argv, self.binds), self.user.env, stdin)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self(*args)
        assert result.returncode == 0, world.shown(result)
        return result


def _containers_binds(
    namespace: world.Namespace, owner: str, targets: list[str]
) -> dict[str, Path]:
    binds = {target: namespace.private_dir(owner, target) for target in targets}
    policy = {"default": [{"type": "insecureAcceptAnything"}]}  # no signatures on test images
    (binds["/etc/containers"] / "policy.json").write_text(json.dumps(policy), encoding="utf-8")
    return binds


@pytest.fixture(scope="session")
def skopeo_binds(namespace: world.Namespace) -> dict[str, Path]:
    world.require("skopeo")
    # /etc/containers: a policy of our own and no registries.conf; /var/lib/containers: where
    # skopeo run as root keeps its blob-info cache.
    return _containers_binds(namespace, "skopeo", ["/etc/containers", "/var/lib/containers"])


@pytest.fixture
def skopeo(
    user: User,
    namespace: world.Namespace,
    skopeo_binds: dict[str, Path],
    ecr_registry: world.Registry,
) -> ContainersTool:
    return ContainersTool("skopeo", user, namespace, skopeo_binds, [])


@pytest.fixture(scope="session")
def podman_setup(e2e_root: Path, namespace: world.Namespace) -> tuple[dict[str, Path], list[str]]:
    world.require("podman")
    targets = ["/etc/containers", "/var/lib/containers", "/run/containers", "/etc/cni/net.d"]
    binds = _containers_binds(namespace, "podman", targets)
    storage = e2e_root / "podman"
    options = [
        f"--root={storage / 'root'}",
        f"--runroot={storage / 'run'}",
        f"--tmpdir={storage / 'tmp'}",
        "--storage-driver=vfs",
        "--cgroup-manager=cgroupfs",
        "--events-backend=none",
    ]
    return binds, options


@pytest.fixture
def podman(
    user: User,
    namespace: world.Namespace,
    podman_setup: tuple[dict[str, Path], list[str]],
    ecr_registry: world.Registry,
) -> ContainersTool:
    binds, options = podman_setup
    return ContainersTool("podman", user, namespace, binds, options)


@pytest.fixture
def token_refused(fake: FakeAWS) -> str:
    """The fake ECR refuses every token for the second account; the message ecrpy must show."""
    fake.add_fault(
        Fault(
            operation="GetAuthorizationToken",
            registry_id=world.DENIED_ACCOUNT,
            code="AccessDeniedException",
            message="User: arn:aws:iam::123456789012:user/e2e is not authorized to perform: "
            "ecr:GetAuthorizationToken",
        )
    )
    return f"ecrpy: ECR refused a token for {world.DENIED_REGISTRY}: AccessDeniedException"


# -- the Go clients of .ci/sid-tools.sh (crane, oras, cosign, notation, syft, trivy, buildx) ------


@pytest.fixture(scope="session")
def sealed_shim_bin(e2e_root: Path, fake_server: Server) -> Path:
    """The recording shim with the AWS settings (test keys, the fake's endpoints) inside it."""
    helper_env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
        **fake_server.environment(),
    }
    return world.write_shim(e2e_root / "sealed-bin", helper_path(), sys.executable, helper_env)


@pytest.fixture
def go_user(user: User, sealed_shim_bin: Path, certs: tls.Certs) -> User:
    """``user`` as a Go client sees them: no AWS settings at all (only ecrpy has them, through
    the sealed shim, so a client that could fetch an ECR token itself cannot), the test CA in
    ``SSL_CERT_FILE`` (Go's crypto/x509 reads it), and no update checks or telemetry."""
    unseen = [name for name in user.env if name.startswith("AWS_")]
    env = {k: v for k, v in user.env.items() if k not in unseen}
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance role to find either
    path = [str(sealed_shim_bin), os.path.dirname(helper_path()), str(world.SID_BIN)]
    env["PATH"] = os.pathsep.join([*path, os.environ.get("PATH", "/usr/bin:/bin")])
    env["SSL_CERT_FILE"] = certs.ca
    env["SYFT_CHECK_FOR_APP_UPDATE"] = "false"
    env["DO_NOT_TRACK"] = "1"
    return User(env, user.home, user.trace)


class GoTool:
    """One of the Go clients as ``user``, in the private namespace (our /etc/hosts)."""

    def __init__(self, program: str, user: User, namespace: world.Namespace) -> None:
        self.program, self.user, self.namespace = program, user, namespace

    def __call__(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        argv = [world.sid_tool(self.program), *args]
        return world.run(self.namespace.command(argv, {}), self.user.env, cwd=cwd)

    def ok(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = self(*args, cwd=cwd)
        assert result.returncode == 0, world.shown(result)
        return result


@pytest.fixture
def go_tool(
    go_user: User, namespace: world.Namespace, ecr_registry: world.Registry
) -> Callable[[str], GoTool]:
    """``go_tool("crane")``: that client, checked installed (failing under ``CI=true``)."""

    def tool(program: str) -> GoTool:
        world.require(*world.WORLD, world.sid_tool(program))
        return GoTool(program, go_user, namespace)

    return tool
