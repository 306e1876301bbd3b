"""``"credsStore": "ecrpy"`` with real clients and a real store: Docker, podman and skopeo.

The store ecrpy falls back to is Debian's ``docker-credential-pass`` (golang-docker-credential-
helpers) over a real ``pass`` and ``gpg``: a key made in batch mode in a temporary ``GNUPGHOME``,
a password store in a temporary directory. The registry that is not ECR is a ``docker-registry``
with htpasswd auth on 127.0.0.4, by its address (no name to resolve), with a CA of its own that
dockerd trusts through ``certs.d`` and skopeo and podman through ``--cert-dir``. The ECR registry
and the fake AWS are the shared ones of conftest.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakeaws import tls
from fakeaws.server import FakeAWS

from ..conftest import helper_path
from . import world
from .conftest import ContainersTool, DockerCLI, User

pytestmark = pytest.mark.e2e

LOGIN_ADDRESS = "127.0.0.4"  # a registry that is not ECR, with a password
LOGIN_USER, LOGIN_PASSWORD = "octocat", "login-password-e2e"
PASS_PREFIX = "docker-credential-helpers"  # where docker-credential-pass keeps its entries
INITIALISED_CHECK = f"{PASS_PREFIX}/docker-pass-initialized-check"


@dataclass
class LoginRegistry:
    registry: world.Registry
    cert_dir: Path  # for skopeo and podman: the registry's CA as ca.crt


@pytest.fixture(scope="module")
def login_registry(e2e_root: Path, namespace: world.Namespace) -> Iterator[LoginRegistry]:
    world.require("docker-registry", "htpasswd")
    directory = e2e_root / "registry-login"
    directory.mkdir()
    certs = tls.make(str(directory / "tls"), [LOGIN_ADDRESS])
    users = world.htpasswd_file(directory / "htpasswd", LOGIN_USER, LOGIN_PASSWORD)
    registry = world.Registry("login", directory, LOGIN_ADDRESS, certs.cert, certs.key, users)
    # dockerd reads certs.d for each registry it talks to: trust this CA there, as a user would.
    trusted = namespace.private_dir("dockerd", "/etc/docker") / "certs.d" / LOGIN_ADDRESS
    trusted.mkdir(parents=True, exist_ok=True)
    shutil.copy(certs.ca, trusted / "ca.crt")
    cert_dir = directory / "cert-dir"
    cert_dir.mkdir()
    shutil.copy(certs.ca, cert_dir / "ca.crt")
    yield LoginRegistry(registry, cert_dir)
    registry.stop()


@dataclass
class PassStore:
    env: dict[str, str]  # GNUPGHOME and PASSWORD_STORE_DIR

    def ls(self) -> list[str]:
        """Every entry of the password store, as paths under it."""
        root = Path(self.env["PASSWORD_STORE_DIR"])
        entries = (str(p.relative_to(root))[: -len(".gpg")] for p in root.rglob("*.gpg"))
        return sorted(entry for entry in entries if entry != INITIALISED_CHECK)

    def show(self, entry: str) -> str:
        result = world.run(["pass", "show", entry], {**os.environ, **self.env})
        assert result.returncode == 0, world.shown(result)
        return result.stdout.strip()


@pytest.fixture(scope="module")
def pass_store() -> Iterator[PassStore]:
    """A GPG key made in batch mode (no passphrase) and a password store initialised for it."""
    world.require("gpg", "pass", "docker-credential-pass")
    # A short path: gpg-agent's socket lives in GNUPGHOME, and Unix sockets need short paths.
    root = Path(tempfile.mkdtemp(prefix="ecrpy-pass-", dir="/tmp"))
    env = {"GNUPGHOME": str(root / "gnupg"), "PASSWORD_STORE_DIR": str(root / "store")}
    (root / "gnupg").mkdir(mode=0o700)
    full = {**os.environ, **env}
    try:
        made = world.run(
            [
                "gpg",
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                "ecrpy e2e <e2e@ecrpy.invalid>",
                "default",
                "default",
                "never",
            ],
            full,
        )
        assert made.returncode == 0, world.shown(made)
        keys = world.run(["gpg", "--list-keys", "--with-colons"], full)
        fingerprint = next(
            line.split(":")[9] for line in keys.stdout.splitlines() if line.startswith("fpr:")
        )
        initialised = world.run(["pass", "init", fingerprint], full)
        assert initialised.returncode == 0, world.shown(initialised)
        # docker-credential-pass's own set-up step: it refuses a store without this entry.
        check = world.run(
            ["pass", "insert", "--echo", INITIALISED_CHECK], full, "pass is initialized\n"
        )
        assert check.returncode == 0, world.shown(check)
        yield PassStore(env)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=full, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _as_store_user(user: User, fallback: str | None, store: PassStore | None) -> None:
    """The user after ``configure --store``: credsStore ecrpy, and the fallback if any."""
    user.configure_docker({"credsStore": "ecrpy"})
    if store is not None:
        user.env.update(store.env)
    if fallback is not None:
        settings = user.home / ".config" / "ecrpy" / "config.toml"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(f'[store]\nfallback = "{fallback}"\n', encoding="utf-8")


def _login(docker: DockerCLI, server: str, username: str, password: str):
    return world.run(
        ["docker", "login", server, "--username", username, "--password-stdin"],
        docker.env,
        stdin=password + "\n",
    )


def _auths(user: User) -> dict[str, object]:
    document = json.loads(user.docker_config.read_text(encoding="utf-8"))
    auths: dict[str, object] = document.get("auths") or {}
    return auths


def _own_store(user: User) -> dict[str, object]:
    path = user.home / ".local" / "share" / "ecrpy" / "logins.json"
    if not path.exists():
        return {}
    logins: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))["logins"]
    return logins


def _docker_flow(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    login_registry: LoginRegistry,
    ecr_registry: world.Registry,
    rootfs_tar: Path,
    stored: Callable[[], tuple[str, str] | None],  # what the store holds for the login, or None
) -> None:
    """docker login / push / pull / logout to the registry that is not ECR, and ECR beside it."""
    image = f"{LOGIN_ADDRESS}/e2e/login:1"
    refused = world.run(["docker", "pull", image], docker.env)
    assert refused.returncode != 0, world.shown(refused)  # no login yet: the registry says no

    runs_before_login = len(user.helper_runs())
    login = _login(docker, LOGIN_ADDRESS, LOGIN_USER, LOGIN_PASSWORD)
    assert login.returncode == 0, world.shown(login)
    assert "Login Succeeded" in login.stdout, world.shown(login)
    assert stored() == (LOGIN_USER, LOGIN_PASSWORD)
    assert world.stored_secrets(user.docker_config) == {}  # not in config.json
    assert LOGIN_PASSWORD not in user.docker_config.read_text(encoding="utf-8")

    docker.ok("import", str(rootfs_tar), image)
    mark = login_registry.registry.mark()
    docker.ok("push", image)
    docker.ok("rmi", image)
    docker.ok("pull", image)
    seen = login_registry.registry.accesses(mark)
    assert world.Access("PUT", "/v2/e2e/login/manifests/1", authorized=True) in seen, seen
    pulled = [a for a in seen if a.uri == "/v2/e2e/login/manifests/1" and a.method != "PUT"]
    assert pulled and all(a.authorized for a in pulled), seen
    since_login = user.helper_runs()[runs_before_login:]
    gets = [run for run in since_login if run.action == "get" and run.stdin == LOGIN_ADDRESS]
    assert gets and all(run.code == 0 for run in gets), gets

    # ECR, beside it: no login, no entry anywhere, one token.
    ecr_image = f"{world.REGISTRY}/e2e/store-mode:1"
    docker.ok("tag", image, ecr_image)
    docker.ok("push", ecr_image)
    docker.ok("rmi", ecr_image)
    docker.ok("pull", ecr_image)
    assert fake.count("GetAuthorizationToken") == 1
    # A docker login to ECR (the daemon checks the password first) stores nothing anywhere.
    ecr_login = _login(docker, world.REGISTRY, "AWS", world.PASSWORD)
    assert ecr_login.returncode == 0, world.shown(ecr_login)
    assert "ecrpy: nothing stored for" in ecr_login.stderr, world.shown(ecr_login)
    assert world.PASSWORD not in json.dumps(_own_store(user))
    assert world.stored_secrets(user.docker_config) == {}

    logout = world.run(["docker", "logout", LOGIN_ADDRESS], docker.env)
    assert logout.returncode == 0, world.shown(logout)
    assert stored() is None
    docker.ok("rmi", image)
    after = world.run(["docker", "pull", image], docker.env)
    assert after.returncode != 0, world.shown(after)


@pytest.mark.usefixtures("needs_docker")
def test_docker_login_goes_to_pass_and_ecr_needs_none(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    login_registry: LoginRegistry,
    ecr_registry: world.Registry,
    pass_store: PassStore,
    rootfs_tar: Path,
) -> None:
    _as_store_user(user, "pass", pass_store)
    docker.env.update(pass_store.env)  # the CLI's environment was copied from the user's
    entry = f"{PASS_PREFIX}/{base64.b64encode(LOGIN_ADDRESS.encode()).decode()}/{LOGIN_USER}"

    def in_pass() -> tuple[str, str] | None:
        entries = pass_store.ls()
        assert all(world.REGISTRY not in e and "MTIzNDU2Nzg5MDEy" not in e for e in entries)
        if entry not in entries:
            return None
        return LOGIN_USER, pass_store.show(entry)

    _docker_flow(docker, user, fake, login_registry, ecr_registry, rootfs_tar, in_pass)
    assert _own_store(user) == {}  # with a fallback, ecrpy keeps nothing itself


@pytest.mark.usefixtures("needs_docker")
def test_docker_login_without_a_fallback_goes_to_ecrpys_own_store(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    login_registry: LoginRegistry,
    ecr_registry: world.Registry,
    rootfs_tar: Path,
) -> None:
    _as_store_user(user, None, None)

    def in_own_store() -> tuple[str, str] | None:
        login = _own_store(user).get(LOGIN_ADDRESS)
        if login is None:
            return None
        assert isinstance(login, dict)
        return login["Username"], login["Secret"]

    _docker_flow(docker, user, fake, login_registry, ecr_registry, rootfs_tar, in_own_store)


@pytest.mark.usefixtures("needs_skopeo", "needs_podman")
@pytest.mark.parametrize("fallback", ["pass", None])
def test_podman_and_skopeo_read_the_same_config(
    skopeo: ContainersTool,
    podman: ContainersTool,
    user: User,
    fake: FakeAWS,
    login_registry: LoginRegistry,
    ecr_registry: world.Registry,
    pass_store: PassStore,
    cert_dir: Path,
    tmp_path: Path,
    fallback: str | None,
) -> None:
    """A login made as ``docker login`` makes it (``store``, through ecrpy) serves them both.

    containers/image reads ``credHelpers`` from Docker's config but not ``credsStore``; its own
    word for "the helper of every registry" is ``credential-helpers`` in registries.conf.
    """
    _as_store_user(user, fallback, pass_store)
    user.configure_docker({"credsStore": "ecrpy", "auths": {LOGIN_ADDRESS: {}}})
    registries_conf = tmp_path / "registries.conf"
    registries_conf.write_text('credential-helpers = ["ecrpy"]\n', encoding="utf-8")
    user.env["CONTAINERS_REGISTRIES_CONF"] = str(registries_conf)  # podman reads this,
    conf = ["--registries-conf", str(registries_conf)]  # skopeo 1.9 only its flag
    login = json.dumps(
        {"ServerURL": LOGIN_ADDRESS, "Username": LOGIN_USER, "Secret": LOGIN_PASSWORD}
    )
    stored = world.run([helper_path(), "store"], user.env, stdin=login)
    assert stored.returncode == 0, world.shown(stored)

    image = world.oci_layout(tmp_path / "layout")
    remote = f"docker://{LOGIN_ADDRESS}/e2e/containers:1"
    certs = str(login_registry.cert_dir)
    mark = login_registry.registry.mark()
    skopeo.ok(*conf, "copy", "--dest-cert-dir", certs, f"oci:{image.layout}:{image.tag}", remote)
    inspected = json.loads(skopeo.ok(*conf, "inspect", "--cert-dir", certs, remote).stdout)
    assert inspected["Digest"] == image.manifest_digest
    podman.ok("pull", "--cert-dir", certs, f"{LOGIN_ADDRESS}/e2e/containers:1")
    seen = login_registry.registry.accesses(mark)
    assert world.Access("PUT", "/v2/e2e/containers/manifests/1", authorized=True) in seen, seen

    # ECR through the same credsStore line, with no login.
    ecr_remote = f"docker://{world.REGISTRY}/e2e/containers:1"
    skopeo.ok(
        *conf,
        "copy",
        "--dest-cert-dir",
        str(cert_dir),
        f"oci:{image.layout}:{image.tag}",
        ecr_remote,
    )
    podman.ok("pull", "--cert-dir", str(cert_dir), f"{world.REGISTRY}/e2e/containers:1")
    assert fake.count("GetAuthorizationToken") == 1
    asked = {run.stdin for run in user.helper_runs("get")}
    assert {LOGIN_ADDRESS, world.REGISTRY} <= asked, asked
    assert world.stored_secrets(user.docker_config) == {}


@pytest.mark.usefixtures("needs_docker")
def test_configure_store_keeps_the_logins_of_the_store_it_replaces(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    login_registry: LoginRegistry,
    ecr_registry: world.Registry,
    pass_store: PassStore,
    rootfs_tar: Path,
) -> None:
    """A machine on ``"credsStore": "pass"`` switches over and back; its login keeps working."""
    user.configure_docker({"credsStore": "pass"})
    user.env.update(pass_store.env)
    docker.env.update(pass_store.env)
    login = _login(docker, LOGIN_ADDRESS, LOGIN_USER, LOGIN_PASSWORD)  # straight into pass
    assert login.returncode == 0, world.shown(login)
    image = f"{LOGIN_ADDRESS}/e2e/switch:1"
    docker.ok("import", str(rootfs_tar), image)
    docker.ok("push", image)
    docker.ok("rmi", image)

    switched = world.run([helper_path(), "configure", "--store", "--yes"], user.env)
    assert switched.returncode == 0, world.shown(switched)
    assert json.loads(user.docker_config.read_text())["credsStore"] == "ecrpy"
    docker.ok("pull", image)  # the login made with pass, served through ecrpy
    docker.ok("rmi", image)
    ecr_image = f"{world.REGISTRY}/e2e/switch:1"
    docker.ok("import", str(rootfs_tar), ecr_image)
    docker.ok("push", ecr_image)  # and ECR with no login at all
    assert fake.count("GetAuthorizationToken") == 1
    assert {run.stdin for run in user.helper_runs("get")} >= {LOGIN_ADDRESS, world.REGISTRY}

    back = world.run([helper_path(), "configure", "--remove", "--store"], user.env)
    assert back.returncode == 0, world.shown(back)
    assert json.loads(user.docker_config.read_text())["credsStore"] == "pass"
    docker.ok("pull", image)
    docker.ok("logout", LOGIN_ADDRESS)
