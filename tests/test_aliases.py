"""Registry aliases: a name ECR does not know, listed by the user, served with the ECR token.

Run as Docker runs the helper (a process, the server URL on stdin), with the settings file named
by ``ECRPY_CONFIG``; the fake ECR hands out the token of the aliased registry's account.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from credential_helper import aliases, config, protocol
from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper

PASSWORD = "123456789012-auth-token"
NOT_FOUND = "credentials not found in native keychain\n"
ALIAS = "registry.corp.example"
MIRROR = "mirror.gcr.internal:5000"
SETTINGS = f"""
[aliases]
"{ALIAS}" = "{REGISTRY}"
"{MIRROR}" = "{REGISTRY}"
"""


@pytest.fixture
def aliased(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "ecrpy.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return {**env, "ECRPY_CONFIG": str(path)}


@pytest.mark.parametrize(
    "url", [ALIAS, f"https://{ALIAS}", f"https://{ALIAS}/v2/", "REGISTRY.corp.example.", MIRROR]
)
def test_get_for_an_alias_answers_with_the_registrys_token_and_the_url_as_given(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS, url: str
) -> None:
    answer = helper.get(url, aliased)
    assert answer == {"ServerURL": url, "Username": "AWS", "Secret": PASSWORD}
    ((request,),) = [[r for r in fake.requests if r.operation == "GetAuthorizationToken"]]
    assert request.registry_ids == ["123456789012"]


def test_an_alias_and_its_registry_share_one_cached_token(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(ALIAS, aliased)
    helper.get(MIRROR, aliased)
    helper.get(REGISTRY, aliased)
    assert fake.count("GetAuthorizationToken") == 1


@pytest.mark.parametrize(
    "url",
    [
        "registry.corp.example:5000",  # the alias names no port: another registry
        "mirror.gcr.internal",  # the alias names port 5000
        "other.corp.example",
        "corp.example",
        "registry.corp.example.evil.example",
    ],
)
def test_a_name_that_is_not_listed_exactly_is_not_served(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS, url: str
) -> None:
    result = helper.run("get", stdin=url, env=aliased)
    assert (result.returncode, result.stdout, result.stderr) == (1, NOT_FOUND, "")
    assert fake.requests == []


def test_without_settings_no_name_is_an_alias(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    result = helper.run("get", stdin=ALIAS, env=env)
    assert (result.returncode, result.stdout) == (1, NOT_FOUND)
    assert fake.requests == []


def test_a_broken_settings_file_is_one_line_for_a_name_that_may_be_an_alias(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS
) -> None:
    Path(aliased["ECRPY_CONFIG"]).write_text('[aliases]\n"x.example" = "docker.io"\n')
    result = helper.run("get", stdin="x.example", env=aliased)
    assert result.returncode == 1 and result.stdout.count("\n") == 1
    assert result.stdout.startswith("ecrpy: ecrpy config ") and "line 2" in result.stdout
    assert "Traceback" not in result.stderr


def test_erase_store_and_list_know_the_alias(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, aliased)
    listed = json.loads(helper.run("list", env=aliased).stdout)
    assert listed == {
        f"https://{REGISTRY}": "AWS",
        f"https://{ALIAS}": "AWS",
        f"https://{MIRROR}": "AWS",
    }
    store = json.dumps({"ServerURL": ALIAS, "Username": "AWS", "Secret": "x"})
    stored = helper.run("store", stdin=store, env=aliased)
    assert stored.returncode == 0 and "nothing stored" in stored.stderr
    assert helper.run("erase", stdin=f"https://{ALIAS}", env=aliased).returncode == 0
    assert json.loads(helper.run("list", env=aliased).stdout) == {}  # the registry's token went


def test_editing_the_aliases_is_a_new_identity(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(ALIAS, aliased)
    path = Path(aliased["ECRPY_CONFIG"])
    path.write_text(path.read_text() + '"third.corp.example" = "' + REGISTRY + '"\n')
    helper.get(ALIAS, aliased)
    assert fake.count("GetAuthorizationToken") == 2


def test_a_warm_get_of_an_ecr_host_does_not_read_the_aliases(
    helper: Helper, aliased: dict[str, str], fake: FakeAWS
) -> None:
    """The settings file is hashed into the identity but parsed only for names ECR does not
    know: a real ECR hostname's warm get imports neither config nor tomllib, nor aliases."""
    import subprocess
    import sys

    helper.get(REGISTRY, aliased)
    probe = (
        "import sys\n"
        "from credential_helper.cli import main\n"
        "code = main(['get'])\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m in "
        "('credential_helper.config', 'tomllib', 'credential_helper.aliases'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], input=REGISTRY.encode(), env=aliased, capture_output=True
    )
    assert json.loads(result.stdout)["Secret"] == PASSWORD
    assert result.stderr.decode().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[aliases]\n"https://x.example" = "' + REGISTRY + '"\n', "must be a hostname"),
        ('[aliases]\n"x.example/v2" = "' + REGISTRY + '"\n', "must be a hostname"),
        ('[aliases]\n"a@x.example" = "' + REGISTRY + '"\n', "must be a hostname"),
        ('[aliases]\n"x.example" = "docker.io"\n', "must name an ECR registry"),
        ('[aliases]\n"x.example" = 3\n', "must name an ECR registry"),
        ('[aliases]\n"' + REGISTRY + '" = "' + REGISTRY + '"\n', "is an ECR registry already"),
        (
            '[aliases]\n"X.example" = "' + REGISTRY + '"\n"x.example" = "' + REGISTRY + '"\n',
            "twice",
        ),
        ('aliases = "x"\n', "must be a table"),
    ],
)
def test_a_broken_alias_is_explained(text: str, fragment: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse_text(text, "/etc/ecrpy.toml")
    assert fragment in str(caught.value) and "/etc/ecrpy.toml" in str(caught.value)


def test_resolve_is_exact_and_keeps_the_port() -> None:
    loaded = config.parse_text(SETTINGS, "-")
    assert aliases.resolve(MIRROR, loaded) is not None
    found = aliases.resolve(protocol.authority(f"https://{ALIAS}/v2/x"), loaded)
    assert found is not None and found.host == REGISTRY and found.account == "123456789012"
    assert aliases.resolve("mirror.gcr.internal", loaded) is None
    assert aliases.names(loaded, REGISTRY) == [ALIAS, MIRROR]


@pytest.mark.parametrize(
    ("url", "authority"),
    [
        ("Host.Example", "host.example"),
        ("https://user:pw@host.example:5000/v2/", "host.example:5000"),
        ("host.example.:443", "host.example:443"),
        ("[::1]:5000", "[::1]:5000"),
    ],
)
def test_authority(url: str, authority: str) -> None:
    assert protocol.authority(url) == authority


# -- configure and doctor ------------------------------------------------------------------------


def test_configure_adds_a_named_alias_and_all_of_them(
    helper: Helper, aliased: dict[str, str], tmp_path: Path
) -> None:
    docker = Path(aliased["HOME"]) / ".docker" / "config.json"
    result = helper.run("configure", "--yes", f"{ALIAS}/team/app:1", env=aliased)
    assert result.returncode == 0, result.stdout
    assert json.loads(docker.read_text())["credHelpers"] == {ALIAS: "ecrpy"}
    result = helper.run("configure", "--yes", "--aliases", env=aliased)
    assert result.returncode == 0, result.stdout
    assert json.loads(docker.read_text())["credHelpers"] == {ALIAS: "ecrpy", MIRROR: "ecrpy"}
    refused = helper.run("configure", "--yes", "other.corp.example", env=aliased)
    assert refused.returncode == 1
    assert refused.stdout == (
        "ecrpy: other.corp.example is not an Amazon ECR registry nor an alias in ecrpy's settings\n"
    )


class _V2Handler(BaseHTTPRequestHandler):
    status = 401

    def do_GET(self) -> None:
        self.send_response(self.status)
        if self.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="https://corp",service="ecr"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def v2_server(tmp_path: Path) -> Iterator[tuple[int, str, type[_V2Handler]]]:
    """An HTTPS server for ``localhost`` answering ``/v2/`` (a 401 challenge unless told)."""
    from fakeaws import tls

    certs = tls.make(str(tmp_path / "tls"), ["localhost"])
    handler = type("Handler", (_V2Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], certs.ca, handler
    server.shutdown()
    server.server_close()


def _doctor_aliases(helper: Helper, env: dict[str, str], alias: str, ca: str) -> list[str]:
    Path(env["ECRPY_CONFIG"]).write_text(f'[aliases]\n"{alias}" = "{REGISTRY}"\n')
    result = helper.run("doctor", env={**env, "SSL_CERT_FILE": ca})
    lines = result.stdout.splitlines()
    return [
        line
        for number, line in enumerate(lines)
        if line[2:].startswith("alias ") or (number and lines[number - 1][2:].startswith("alias "))
    ]


def test_doctor_checks_that_an_alias_answers_as_a_registry(
    helper: Helper, aliased: dict[str, str], v2_server: tuple[int, str, type[_V2Handler]]
) -> None:
    port, ca, _ = v2_server
    lines = _doctor_aliases(helper, aliased, f"localhost:{port}", ca)
    assert lines[0] == (
        f"✔ alias localhost:{port}: stands for {REGISTRY}; https://localhost:{port}/v2/ answers "
        "as a registry (HTTP 401)"
    )


def test_doctor_says_when_an_alias_is_not_a_registry(
    helper: Helper, aliased: dict[str, str], v2_server: tuple[int, str, type[_V2Handler]]
) -> None:
    port, ca, handler = v2_server
    handler.status = 404
    lines = _doctor_aliases(helper, aliased, f"localhost:{port}", ca)
    assert lines[:2] == [
        f"✗ alias localhost:{port}: https://localhost:{port}/v2/ answers HTTP 404 without a "
        "registry challenge: not a registry",
        f"    fix: point localhost at the proxy or mirror in front of {REGISTRY}",
    ]


def test_doctor_says_when_an_alias_does_not_resolve(
    helper: Helper, aliased: dict[str, str], tmp_path: Path
) -> None:
    lines = _doctor_aliases(helper, aliased, "nowhere.invalid", str(tmp_path / "none"))
    assert lines[0].startswith("✗ alias nowhere.invalid: nowhere.invalid does not resolve (")
    assert lines[1] == (
        "    fix: add nowhere.invalid to DNS (or /etc/hosts), pointing at the proxy or mirror "
        f"in front of {REGISTRY}"
    )


def test_doctor_says_when_an_alias_does_not_answer(
    helper: Helper, aliased: dict[str, str], v2_server: tuple[int, str, type[_V2Handler]]
) -> None:
    port, _, _ = v2_server
    lines = _doctor_aliases(helper, aliased, f"localhost:{port}", "/nonexistent-ca.pem")
    assert lines[0].startswith(
        f"✗ alias localhost:{port}: https://localhost:{port}/v2/ does not answer: "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in lines[0]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (401, {"WWW-Authenticate": "Bearer realm=x"}, True),
        (200, {"Docker-Distribution-Api-Version": "registry/2.0"}, True),
        (401, {}, False),
        (200, {}, False),
        (404, {}, False),
    ],
)
def test_registry_challenge(status: int, headers: dict[str, str], expected: bool) -> None:
    from credential_helper.commands.doctor import registry_challenge

    assert registry_challenge(status, headers) is expected


def test_whoami_names_the_alias_and_the_registry_behind_it(
    helper: Helper, aliased: dict[str, str]
) -> None:
    result = helper.run("whoami", f"{MIRROR}/team/app:1", env=aliased)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"registry   {REGISTRY} (account 123456789012")
    assert lines[1] == f"alias      {MIRROR}, from [aliases] in {aliased['ECRPY_CONFIG']}"
