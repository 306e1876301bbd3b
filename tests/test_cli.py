"""The installed ``docker-credential-ecrpy``, run as Docker runs it, against the fake AWS."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from credential_helper import __version__
from fakeaws.server import FakeAWS, Fault
from tests.conftest import ACCESS_KEY, REGISTRY, SECRET_KEY, Helper, cache_dir
from tests.startup import ECR_GET, FORBIDDEN, ecrpy_modules

PASSWORD = "123456789012-auth-token"  # what the fake ECR hands out for account 123456789012
NOT_FOUND = "credentials not found in native keychain\n"


def token_files(env: dict[str, str]) -> list[Path]:
    directory = cache_dir(env)
    return sorted(directory.glob("*.json")) if directory.exists() else []


# -- get ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "server_url",
    [
        REGISTRY,
        f"{REGISTRY}:443",
        f"https://{REGISTRY}",
        f"https://{REGISTRY}/v2/app/manifests/latest",
        f"http://{REGISTRY}",
        REGISTRY.upper(),
        f"{REGISTRY}.",
        f"{REGISTRY}\r\n",
    ],
)
def test_get_answers_every_form_of_server_url(
    helper: Helper, env: dict[str, str], fake: FakeAWS, server_url: str
) -> None:
    answer = helper.get(server_url, env)
    assert answer == {"ServerURL": server_url.strip(), "Username": "AWS", "Secret": PASSWORD}


def test_cold_get_fetches_once_and_warm_get_makes_no_call(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    assert fake.count("GetAuthorizationToken") == 1
    assert [r.registry_ids for r in fake.requests] == [["123456789012"]]
    for _ in range(3):
        assert helper.get(f"https://{REGISTRY}", env)["Secret"] == PASSWORD
    assert fake.count("GetAuthorizationToken") == 1


def test_cache_is_private_to_its_owner(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    helper.get(REGISTRY, env)
    assert stat.S_IMODE(cache_dir(env).stat().st_mode) == 0o700
    (token_file,) = token_files(env)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "server_url",
    [
        "docker.io",
        "https://index.docker.io/v1/",
        "ghcr.io",
        "localhost:5000",
        "123456789012.dkr.ecr.us-east-1.evil.example",
    ],
)
def test_other_registries_are_not_found_so_clients_go_on_anonymously(
    helper: Helper, env: dict[str, str], fake: FakeAWS, server_url: str
) -> None:
    result = helper.run("get", stdin=server_url, env=env)
    assert (result.returncode, result.stdout) == (1, NOT_FOUND)
    assert fake.requests == []


@pytest.mark.parametrize("stdin", ["", "   \n", "\r\n"])
def test_get_without_a_server_url(helper: Helper, env: dict[str, str], stdin: str) -> None:
    result = helper.run("get", stdin=stdin, env=env)
    assert (result.returncode, result.stdout) == (1, "no credentials server URL\n")


def test_access_denied_is_one_line_naming_cause_and_registry(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(
        Fault(
            operation="GetAuthorizationToken",
            code="AccessDeniedException",
            message="User is not authorized to perform ecr:GetAuthorizationToken",
        )
    )
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("ecrpy: ")
    assert "AccessDeniedException" in result.stdout and REGISTRY in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert SECRET_KEY not in result.stdout + result.stderr


def test_no_credentials_at_all(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert result.returncode == 1
    assert "no AWS credentials" in result.stdout and REGISTRY in result.stdout
    assert result.stdout.count("\n") == 1


def test_public_registry_without_credentials_is_pulled_anonymously(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = helper.run("get", stdin="public.ecr.aws", env=env)
    assert (result.returncode, result.stdout) == (1, NOT_FOUND)


def test_public_registry_with_credentials_gets_a_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    answer = helper.get("https://public.ecr.aws", env)
    assert answer["Username"] == "AWS" and answer["Secret"].startswith("public-")
    assert [r.service for r in fake.requests] == ["ecr-public"]


def test_public_registry_denied_is_pulled_anonymously_and_said_once_an_hour(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    """Credentials without ecr-public:GetAuthorizationToken: public images still pull."""
    fake.add_fault(
        Fault(
            operation="GetAuthorizationToken",
            code="AccessDeniedException",
            message="User is not authorized to perform ecr-public:GetAuthorizationToken",
        )
    )
    env["ECRPY_LOG_LEVEL"] = "info"
    for _ in range(3):
        result = helper.run("get", stdin="public.ecr.aws", env=env)
        assert (result.returncode, result.stdout, result.stderr) == (1, NOT_FOUND, "")
    logged = (cache_dir(env) / "ecrpy.log").read_text()
    said = [line for line in logged.splitlines() if "anonymous public.ecr.aws" in line]
    assert len(said) == 1 and "AccessDeniedException" in said[0] and " INFO " in said[0], logged
    assert "ERROR" not in logged


@pytest.mark.parametrize("word", ["version", "--version", "-v"])
def test_version_words(helper: Helper, env: dict[str, str], word: str) -> None:
    result = helper.run(word, env=env)
    assert (result.returncode, result.stdout) == (
        0,
        f"docker-credential-ecrpy (ecrpy) {__version__}\n",
    )


def test_a_broken_profile_is_explained(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    env["AWS_PROFILE"] = "does-not-exist"
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert result.returncode == 1
    assert "does-not-exist" in result.stdout and REGISTRY in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unparseable_aws_config_is_explained(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    config = home / ".aws" / "config"
    config.parent.mkdir()
    config.write_text("this is [not an ini file\n")
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert result.returncode == 1 and result.stdout.startswith("ecrpy: ")
    assert result.stdout.count("\n") == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_network_down_is_explained(helper: Helper, env: dict[str, str]) -> None:
    env["AWS_ENDPOINT_URL_ECR"] = "http://127.0.0.1:9"  # discard port: connection refused
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert result.returncode == 1
    assert "could not reach the ECR API" in result.stdout and REGISTRY in result.stdout


# -- identity ---------------------------------------------------------------------------------


def test_each_identity_gets_its_own_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    other = {**env, "AWS_ACCESS_KEY_ID": "AKIAOTHERIDENTITY002", "AWS_SECRET_ACCESS_KEY": "other"}
    helper.get(REGISTRY, env)
    helper.get(REGISTRY, other)
    assert [r.access_key for r in fake.requests] == [ACCESS_KEY, "AKIAOTHERIDENTITY002"]
    helper.get(REGISTRY, env)
    helper.get(REGISTRY, other)
    assert fake.count("GetAuthorizationToken") == 2
    assert len(token_files(env)) == 2


def test_switching_profile_or_editing_aws_files_is_a_new_identity(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    helper.get(REGISTRY, env)
    credentials = home / ".aws" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text(
        "[prod]\naws_access_key_id = AKIAPRODPRODPRODPROD\naws_secret_access_key = prod-secret\n"
    )
    helper.get(REGISTRY, env)  # the file changed: a new identity, even with the same env keys
    prod = {
        k: v
        for k, v in env.items()
        if not k.startswith("AWS_ACCESS_KEY_ID") and k != "AWS_SECRET_ACCESS_KEY"
    }
    prod["AWS_PROFILE"] = "prod"
    helper.get(REGISTRY, prod)
    assert [r.access_key for r in fake.requests] == [ACCESS_KEY, ACCESS_KEY, "AKIAPRODPRODPRODPROD"]


def test_warm_get_imports_no_aws_sdk_and_opens_no_socket(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)  # warm the cache
    probe = f"""
import sys
events = []
sys.addaudithook(lambda event, args: events.append(event) if event.startswith("socket.") else None)
at_start = set(sys.modules)  # what the interpreter and this venv's site loaded: not ecrpy's doing
from credential_helper.cli import main
code = main(["get"])
heavy = sorted(m for m in set(sys.modules) - at_start if m.split(".")[0] in {FORBIDDEN!r})
heavy += sorted(m for m in sys.modules if m in ("credential_helper.deadline",
                                                "credential_helper.ecr", "credential_helper.config"))
heavy += sorted(m for m in sys.modules if m.split(".")[0] in ("botocore", "boto3"))
ecrpy = sorted(m for m in sys.modules if m.split(".")[0] == "credential_helper")
sys.stderr.write("\\nPROBE " + repr((code, heavy, events, ecrpy)) + "\\n")
"""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        input=REGISTRY.encode(),
        env=env,
        capture_output=True,
        check=False,
    )
    report = result.stderr.decode().rsplit("PROBE ", 1)[-1]
    code, heavy, events, ecrpy = eval(report)
    assert code == 0 and json.loads(result.stdout)["Secret"] == PASSWORD
    assert heavy == [] and events == []
    assert ecrpy_modules(ecrpy) == [] and set(ECR_GET) <= set(ecrpy)
    assert fake.count("GetAuthorizationToken") == 1


def test_sixteen_processes_racing_a_cold_cache_make_one_call(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=0.5))  # widen the race
    procs = [
        subprocess.Popen(
            [helper.path, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        for _ in range(16)
    ]
    with ThreadPoolExecutor(16) as pool:
        outputs = list(pool.map(lambda p: p.communicate(REGISTRY.encode(), timeout=60), procs))
    assert [p.returncode for p in procs] == [0] * 16
    assert {json.loads(out)["Secret"] for out, _ in outputs} == {PASSWORD}
    assert fake.count("GetAuthorizationToken") == 1


# -- the cache ------------------------------------------------------------------------------


def test_a_corrupt_cache_is_treated_as_empty_and_rewritten(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    (token_file,) = token_files(env)
    token_file.write_bytes(b'{"version": 1, "host": tru')
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    assert json.loads(token_file.read_text())["password"] == PASSWORD
    assert fake.count("GetAuthorizationToken") == 2


def test_disable_cache_fetches_every_time_and_writes_no_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    env["AWS_ECR_DISABLE_CACHE"] = "true"
    helper.get(REGISTRY, env)
    helper.get(REGISTRY, env)
    assert fake.count("GetAuthorizationToken") == 2
    assert token_files(env) == []


def test_cache_dir_setting_is_honoured(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    env["AWS_ECR_CACHE_DIR"] = str(tmp_path / "ecr-cache")
    helper.get(REGISTRY, env)
    assert len(list((tmp_path / "ecr-cache").glob("*.json"))) == 1


def test_stale_if_error_serves_a_valid_cached_token_when_ecr_fails(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    (token_file,) = token_files(env)
    data = json.loads(token_file.read_text())
    data["fetched_at"] -= 8 * 3600  # fetched 8 hours ago: due for refresh, 4 hours still valid
    data["expires_at"] -= 8 * 3600
    token_file.write_text(json.dumps(data))
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="ThrottlingException", status=400))
    env["ECRPY_LOG_LEVEL"] = "warning"
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    log_text = (cache_dir(env) / "ecrpy.log").read_text()
    assert "fallback" in log_text and "ThrottlingException" in log_text
    assert PASSWORD not in log_text


def test_an_expired_cached_token_is_never_served(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    (token_file,) = token_files(env)
    data = json.loads(token_file.read_text())
    data["expires_at"], data["fetched_at"] = (
        data["expires_at"] - 13 * 3600,
        data["fetched_at"] - 13 * 3600,
    )
    token_file.write_text(json.dumps(data))
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="ServerException", status=500))
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert result.returncode == 1 and "ServerException" in result.stdout


def test_the_log_records_decisions_and_no_secret(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    env["ECRPY_LOG_LEVEL"] = "debug"
    helper.get(REGISTRY, env)
    helper.get(REGISTRY, env)
    log_text = (cache_dir(env) / "ecrpy.log").read_text()
    assert "refresh 123456789012.dkr.ecr" in log_text and "hit 123456789012.dkr.ecr" in log_text
    assert PASSWORD not in log_text and SECRET_KEY not in log_text


# -- store, erase, list -----------------------------------------------------------------------


def test_store_for_ecr_succeeds_and_stores_nothing(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    payload = json.dumps({"ServerURL": REGISTRY, "Username": "AWS", "Secret": "typed-password"})
    result = helper.run("store", stdin=payload, env=env)
    assert (result.returncode, result.stdout) == (0, "")
    assert "ecrpy fetches ECR tokens itself" in result.stderr
    assert token_files(env) == [] and fake.requests == []


def test_store_for_another_registry_goes_to_ecrpys_own_store(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    """As credsStore, ecrpy keeps other registries' logins (tests/test_store_mode.py has more)."""
    payload = json.dumps({"ServerURL": "ghcr.io", "Username": "me", "Secret": "typed-password"})
    result = helper.run("store", stdin=payload, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert helper.get("ghcr.io", env) == {
        "ServerURL": "ghcr.io",
        "Username": "me",
        "Secret": "typed-password",
    }
    assert token_files(env) == [] and fake.requests == []


@pytest.mark.parametrize(
    "payload", ["", "not json", "[]", '{"ServerURL": 1}', '{"ServerURL": "x", "Username": "AWS"}']
)
def test_store_with_a_malformed_payload(helper: Helper, env: dict[str, str], payload: str) -> None:
    result = helper.run("store", stdin=payload, env=env)
    assert result.returncode == 1 and result.stdout.count("\n") == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_erase_drops_the_cached_token(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    helper.get(REGISTRY, env)
    result = helper.run("erase", stdin=f"https://{REGISTRY}", env=env)
    assert (result.returncode, result.stdout) == (0, "")
    assert token_files(env) == []
    helper.get(REGISTRY, env)
    assert fake.count("GetAuthorizationToken") == 2


def test_list_shows_this_identitys_cached_registries_without_calling_aws(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    assert json.loads(helper.run("list", env=env).stdout) == {}
    helper.get(REGISTRY, env)
    helper.get("public.ecr.aws", env)
    fake.reset()
    listed = json.loads(helper.run("list", env=env).stdout)
    assert listed == {f"https://{REGISTRY}": "AWS", "https://public.ecr.aws": "AWS"}
    other = {**env, "AWS_ACCESS_KEY_ID": "AKIAOTHERIDENTITY002"}
    assert json.loads(helper.run("list", env=other).stdout) == {}
    assert fake.requests == []


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version(helper: Helper, env: dict[str, str], args: list[str]) -> None:
    result = helper.run(*args, env=env)
    assert result.returncode == 0 and result.stdout.startswith("docker-credential-ecrpy (ecrpy) ")


@pytest.mark.parametrize("args", [["-h"], ["--help"]])
def test_help(helper: Helper, env: dict[str, str], args: list[str]) -> None:
    result = helper.run(*args, env=env)
    assert result.returncode == 0 and "credHelpers" in result.stdout


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "no command given"),
        ([""], "no command given"),
        (["fetch"], "unknown command 'fetch'"),
        (["GET"], "unknown command 'GET'"),
        (["get", "extra"], "'get' takes no arguments (the registry comes on stdin)"),
        (["bad\nword"], "unknown command 'bad word'"),
    ],
)
def test_anything_else_names_the_word_and_lists_every_command(
    helper: Helper, env: dict[str, str], args: list[str], problem: str
) -> None:
    from credential_helper.cli import TOOLS

    result = helper.run(*args, stdin=REGISTRY, env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"docker-credential-ecrpy: {problem}"
    assert lines[1] == "Usage: docker-credential-ecrpy <store|get|erase|list|version>"
    assert lines[2] == "Tools: " + ", ".join(TOOLS)
    assert lines[3] == "Run 'docker-credential-ecrpy --help' for what each command does."


def test_help_lists_every_command_the_variables_and_the_documentation_url(
    helper: Helper, env: dict[str, str]
) -> None:
    from pathlib import Path

    import tomllib

    from credential_helper import cli

    result = helper.run("--help", env=env)
    for word in [w for w in [*cli.COMMANDS, *cli.TOOLS] if not w.startswith("-")]:
        assert f"\n  {word} " in result.stdout, word
    for variable in ("ECRPY_CONFIG", "AWS_ECR_CACHE_DIR", "AWS_ECR_DISABLE_CACHE", "ECRPY_TIMEOUT"):
        assert variable in result.stdout
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert result.stdout.rstrip().endswith(project["project"]["urls"]["Documentation"])
    assert "docs/" not in result.stdout.replace(project["project"]["urls"]["Documentation"], "")


def test_python_dash_m_works_like_the_script(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "credential_helper", "get"],
        input=REGISTRY,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and json.loads(result.stdout)["Secret"] == PASSWORD


def test_no_home_still_answers_without_a_cache(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    del env["HOME"]
    env["AWS_ECR_CACHE_DIR"] = "/proc/ecrpy-cannot-be-here"
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    assert not os.path.exists("/proc/ecrpy-cannot-be-here")


def test_the_cli_knows_every_tool_in_commands() -> None:
    """One table of tool words (``cli.TOOLS``, so a protocol action never imports commands/):
    every command module of commands/ is in it, and every word in it runs a module's ``run``."""
    import importlib
    import pkgutil

    from credential_helper import cli, commands

    shared = {"common", "configure_store"}  # what the tools share; configure --store
    found = {info.name for info in pkgutil.iter_modules(commands.__path__)} - shared
    assert set(cli.TOOLS.values()) == found
    for module in cli.TOOLS.values():
        assert callable(importlib.import_module(f"credential_helper.commands.{module}").run)
