"""A real kubelet (1.20.2) pulling static pods' ECR images with ecrpy as its credential provider.

``.ci/kubelet.sh`` builds the kubelet and the kubelet's in-tree fake container runtime from
Debian bookworm's ``kubernetes`` source package; the runtime records the credentials of every
``PullImage`` (the password as its SHA-256). The provider configuration is docs/kubernetes.md's,
in the v1alpha1 forms the docs give for kubelets before 1.24, with the docs' flags, bin dir and
paths, bind-mounted in a private mount namespace; the provider's ``env`` adds the test keys and the
fake's endpoints, which a 1.20 kubelet would not pass on from its own environment.

The kubelet runs as root in that namespace with its state on tmpfs (``/var/lib/kubelet``,
``/var/log/pods``, ``/var/log/containers``). At start it sets kernel tunables through
``/proc/sys``, which a mount namespace does not isolate: files of ours are bind-mounted over
those entries, and the tests check that the kubelet wrote into them and the machine's values
stayed as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeaws.server import FakeAWS, Server

from ..conftest import ACCESS_KEY, SECRET_KEY, helper_path
from ..test_kubelet import DOCS, docs_config
from . import world

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".ci" / "kubelet.sh"

# The docs' paths (docs/kubernetes.md, sections 1 to 3).
CONFIG_PATH = "/etc/kubernetes/image-credential-provider-config.yaml"
BIN_DIR = "/usr/local/lib/kubelet/credential-providers"
ECRPY_STATE = "/var/lib/ecrpy"
# Where the kubelet keeps state; tmpfs in the namespace.
KUBELET_STATE = ("/var/lib/kubelet", "/var/log/pods", "/var/log/containers")
# container_manager_linux.go, setupKernelTunables: what the kubelet sets at start.
SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
KUBELET_WANTS = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}

# Mounts a tmpfs on each path before ``--``, then runs the command after it.
_TMPFS_ALL = (
    'while [ "$1" != -- ]; do mount -t tmpfs -o mode=0755 tmpfs "$1" || exit 1; shift; done;'
    ' shift; exec "$@"'
)


def v1alpha1_config(env: dict[str, str]) -> dict[str, Any]:
    """docs/kubernetes.md's CredentialProviderConfig in the v1alpha1 forms the docs give, with
    ``env`` added after the docs' own entries."""
    text = DOCS.read_text(encoding="utf-8")
    config = docs_config()
    (provider,) = config["providers"]
    for holder in (config, provider):
        old = holder["apiVersion"]
        new = old.rsplit("/", 1)[0] + "/v1alpha1"
        assert f"`{old}` with `{new}`" in text  # the docs give this change
        holder["apiVersion"] = new
    provider["env"] = [*provider["env"], *({"name": k, "value": v} for k, v in env.items())]
    return config


@pytest.fixture(scope="session")
def kubelet_binaries() -> Path:
    """The directory ``.ci/kubelet.sh`` builds into; it must hold both binaries."""
    world.require("unshare", "mount")
    found = subprocess.run(
        ["bash", str(BUILD), "--dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    directory = Path(found)
    if not ((directory / "kubelet").is_file() and (directory / "fake-cri").is_file()):
        message = f"e2e: no kubelet in {directory} (run: bash .ci/kubelet.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: .ci/run must build it)", pytrace=False)
        pytest.skip(message)
    return directory


def read_sysctls() -> dict[str, str]:
    return {name: Path("/proc/sys", name).read_text().strip() for name in SYSCTLS}


class Node:
    """The fake runtime and a kubelet started on it, each ended by its PID."""

    def __init__(
        self, binaries: Path, root: Path, namespace: world.Namespace, provider_env: dict[str, str]
    ) -> None:
        self.binaries, self.root, self.namespace = binaries, root, namespace
        self.manifests = root / "manifests"
        self.manifests.mkdir(parents=True)
        self.record = root / "pulls.jsonl"
        self.record.touch()
        self.kubelet_log = root / "kubelet.log"
        # Unix socket paths are short: the runtime's socket goes in /tmp.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="ecrpy-cri-", dir="/tmp"))
        socket_path = self.socket_dir / "cri.sock"
        self.endpoint = f"unix://{socket_path}"
        self.runtime = world.Service(
            "fake-cri",
            [str(binaries / "fake-cri"), "-socket", str(socket_path), "-record", str(self.record)],
            root / "fake-cri.log",
            {},
        )
        self.runtime.wait_until(socket_path.exists, "the CRI socket")

        self.binds: dict[str, Path] = {}
        etc = self._bind("/etc/kubernetes")
        config = json.dumps(v1alpha1_config(provider_env), indent=2)  # JSON is YAML
        (etc / Path(CONFIG_PATH).name).write_text(config, encoding="utf-8")
        bin_dir = self._bind(BIN_DIR)
        # The recording shim of the e2e world, as the file the docs link into the bin dir.
        world.write_shim(bin_dir, helper_path(), sys.executable)
        self.ecrpy_state = self._bind(ECRPY_STATE)
        self.ecrpy_state.chmod(0o700)
        self.sysctl_files = root / "sysctl"
        self.sysctl_files.mkdir()
        for name in SYSCTLS:
            copy = self.sysctl_files / name.replace("/", "_")
            copy.write_text(Path("/proc/sys", name).read_text())
            self.binds[f"/proc/sys/{name}"] = copy
        for target in KUBELET_STATE:
            namespace.private_dir("kubelet", target)  # the mount point, removed at the end
        self.kubelet: world.Service | None = None

    def _bind(self, target: str) -> Path:
        # One set of directories per test (its tmp_path's name): no state carried between tests.
        source = self.namespace.private_dir(f"kubelet-{self.root.parent.name}", target)
        self.binds[target] = source
        return source

    def start_kubelet(self) -> None:
        argv = [
            str(self.binaries / "kubelet"),
            "--v=2",  # the level at which 1.20 logs a provider's stderr
            "--cgroups-per-qos=false",
            "--enforce-node-allocatable=",
            "--fail-swap-on=false",
            "--cgroup-driver=cgroupfs",
            "--feature-gates=KubeletCredentialProviders=true",
            f"--image-credential-provider-config={CONFIG_PATH}",
            f"--image-credential-provider-bin-dir={BIN_DIR}",
            "--container-runtime=remote",
            f"--container-runtime-endpoint={self.endpoint}",
            f"--image-service-endpoint={self.endpoint}",
            f"--pod-manifest-path={self.manifests}",
            "--hostname-override=ecrpy-e2e",
            # No ports, no iptables chains, nothing outside the tmpfs directories.
            "--enable-server=false",
            "--healthz-port=0",
            "--make-iptables-util-chains=false",
            "--volume-plugin-dir=/var/lib/kubelet/volume-plugins",
        ]
        inner = ["sh", "-c", _TMPFS_ALL, "sh", *KUBELET_STATE, "--", *argv]
        command = self.namespace.command(inner, self.binds)
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            # A profile no AWS config has: ecrpy would fail on it if the kubelet passed its own
            # environment on, as docs/kubernetes.md says 1.20 does not.
            "AWS_PROFILE": "not-for-the-plugin",
        }
        self.kubelet = world.Service("kubelet", command, self.kubelet_log, env)

    def stop_kubelet(self) -> None:
        if self.kubelet is not None:
            self.kubelet.stop()
            self.kubelet = None

    def add_pod(self, name: str, image: str) -> None:
        manifest = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": image}]},
        }
        (self.manifests / f"{name}.json").write_text(json.dumps(manifest), encoding="utf-8")

    def pulls(self) -> list[dict[str, str]]:
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def wait_for_pull(self, image: str) -> dict[str, str]:
        """The runtime's record of ``image``'s pull, once the kubelet has asked for it."""
        assert self.kubelet is not None
        self.kubelet.wait_until(
            lambda: any(p["image"] == image for p in self.pulls()), f"a pull of {image}", 180
        )
        (pull,) = [p for p in self.pulls() if p["image"] == image]
        return pull

    def start_with_pod(self, name: str, image: str) -> dict[str, str]:
        """A kubelet started with one more static pod; the runtime's record of its image's pull."""
        self.add_pod(name, image)
        self.start_kubelet()
        return self.wait_for_pull(image)

    def close(self) -> None:
        self.stop_kubelet()
        self.runtime.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


@pytest.fixture
def node(
    kubelet_binaries: Path,
    namespace: world.Namespace,
    tmp_path: Path,
    fake_server: Server,
    fake: FakeAWS,
) -> Iterator[Node]:
    provider_env = {
        # What a 1.20 kubelet's plugin gets is this list and nothing else.
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
        **fake_server.environment(),
        world.TRACE_ENV: str(tmp_path / "helper-trace.jsonl"),
    }
    before = read_sysctls()
    machine = Node(kubelet_binaries, tmp_path / "node", namespace, provider_env)
    try:
        yield machine
    finally:
        machine.close()
    assert read_sysctls() == before  # the machine's kernel settings are as they were
    written = {n: (machine.sysctl_files / n.replace("/", "_")).read_text().strip() for n in SYSCTLS}
    for name, value in KUBELET_WANTS.items():
        assert written[name] == value, (name, written)  # the kubelet did set them: on our files


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def provider_runs(trace: Path) -> list[world.HelperRun]:
    return [run for run in world.helper_runs(trace) if run.action == "kubelet-provider"]


def test_kubelet_pulls_with_the_token_ecrpy_fetched_and_restarts_on_its_cache(
    node: Node, fake: FakeAWS, tmp_path: Path
) -> None:
    fake.password = f"kubelet-e2e-{secrets.token_hex(8)}"  # this test's token, no other
    first = f"{world.REGISTRY}/team/app:1"

    pull = node.start_with_pod("first", first)

    assert pull == {"image": first, "username": "AWS", "password_sha256": sha256(fake.password)}
    assert fake.count("GetAuthorizationToken") == 1
    trace = tmp_path / "helper-trace.jsonl"
    (run,) = provider_runs(trace)
    request = json.loads(run.stdin)
    assert request["apiVersion"] == "credentialprovider.kubelet.k8s.io/v1alpha1"
    assert json.loads(run.stdout)["apiVersion"] == request["apiVersion"]
    assert list((node.ecrpy_state).glob(f"{world.REGISTRY}.*.json"))  # ecrpy's cache, docs' path

    # A restarted kubelet has an empty cache of its own: it execs ecrpy again, which answers
    # from its token cache on disk.
    node.stop_kubelet()
    second = f"{world.REGISTRY}/team/app:2"

    pull = node.start_with_pod("second", second)

    assert pull == {"image": second, "username": "AWS", "password_sha256": sha256(fake.password)}
    assert fake.count("GetAuthorizationToken") == 1
    assert len(provider_runs(trace)) == 2


def test_a_refused_token_is_ecrpy_one_line_in_the_kubelet_log(
    node: Node, fake: FakeAWS, token_refused: str, tmp_path: Path
) -> None:
    image = f"{world.DENIED_REGISTRY}/team/app:1"

    pull = node.start_with_pod("refused", image)  # the kubelet goes on without credentials

    assert pull == {"image": image, "username": "", "password_sha256": ""}
    (run,) = provider_runs(tmp_path / "helper-trace.jsonl")
    assert run.code == 1 and run.stdout == ""
    log = node.kubelet_log.read_text(encoding="utf-8", errors="replace")
    stderr_lines = [
        line for line in log.splitlines() if "credential provider plugin, stderr" in line
    ]
    assert len(stderr_lines) == 1, log[-3000:]
    (said,) = stderr_lines
    assert said.split("stderr: ", 1)[1].startswith(token_refused), said
    assert "Failed getting credential from external registry credential provider" in log
    assert SECRET_KEY not in log and ACCESS_KEY not in log
