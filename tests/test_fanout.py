"""One token per registry, and the fan-out: a cold get fetches the Docker config's other
registries of its region in the same GetAuthorizationToken, falling back to the one asked for.

Run as Docker runs the helper (the installed script), against the fake ECR.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credential_helper import fanout, registry
from fakeaws.server import FakeAWS, Fault
from tests.conftest import Helper

A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"


def host(account: str, region: str = "us-east-1") -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def dualstack(account: str, region: str = "us-east-1") -> str:
    return f"{account}.dkr-ecr.{region}.on.aws"


def docker_config(env: dict[str, str], helpers: dict[str, str], **extra: object) -> None:
    directory = Path(env["HOME"]) / ".docker"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"credHelpers": helpers, **extra}))


def asked(fake: FakeAWS) -> list[list[str]]:
    return [r.registry_ids for r in fake.requests if r.operation == "GetAuthorizationToken"]


def secret(account: str) -> str:
    return f"{account}-auth-token"  # what the fake ECR hands out for an account


# -- one token per registry ------------------------------------------------------------------


def test_the_ipv4_and_dual_stack_names_of_a_registry_share_one_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    assert helper.get(dualstack(A), env) == {
        "ServerURL": dualstack(A),
        "Username": "AWS",
        "Secret": secret(A),
    }
    assert helper.get(host(A), env)["Secret"] == secret(A)
    assert helper.get(f"https://{dualstack(A)}", env)["Secret"] == secret(A)
    assert asked(fake) == [[A]]
    files = sorted(p.name for p in (Path(env["HOME"]) / ".cache" / "ecrpy").glob("*.json"))
    assert len(files) == 1 and files[0].startswith(host(A) + ".")


def test_a_fips_name_keeps_its_own_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(host(A), env)
    helper.get(f"{A}.dkr.ecr-fips.us-east-1.amazonaws.com", env)
    helper.get(f"{A}.dkr-ecr-fips.us-east-1.on.aws", env)
    assert asked(fake) == [[A], [A], [A]]


def test_logout_of_either_name_drops_the_shared_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(host(A), env)
    assert helper.run("erase", stdin=dualstack(A), env=env).returncode == 0
    helper.get(host(A), env)
    assert asked(fake) == [[A], [A]]


def test_token_host_is_the_ipv4_name_for_dual_stack_only() -> None:
    def key(name: str) -> str:
        parsed = registry.parse(name)
        assert parsed is not None
        return registry.token_host(parsed)

    assert key(dualstack(A, "eu-west-1")) == host(A, "eu-west-1")
    assert key(f"{A}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn") == (
        f"{A}.dkr.ecr.cn-north-1.amazonaws.com.cn"
    )
    assert key(f"{A}.dkr-ecr.us-gov-west-1.on.aws") == host(A, "us-gov-west-1")
    for own in (host(A), f"{A}.dkr-ecr-fips.us-east-1.on.aws", "public.ecr.aws"):
        assert key(own) == own


# -- fan-out ---------------------------------------------------------------------------------


def test_a_cold_get_fetches_the_configs_registries_of_its_region_in_one_request(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    names = [host(A), host(B), dualstack(C), host(D, "eu-west-1"), "docker.io"]
    docker_config(env, {name: "ecrpy" for name in names[:-1]} | {"docker.io": "desktop"})
    for name in names[:-1]:
        assert helper.get(name, env)["Secret"] == secret(name.split(".")[0])
    assert asked(fake) == [[A, B, C], [D]]  # one per region; the rest were warm


def test_registries_with_other_settings_are_fetched_on_their_own(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    settings = tmp_path / "ecrpy.toml"
    settings.write_text(f'[registries."{B}"]\nrole_arn = "arn:aws:iam::{B}:role/pull"\n')
    env = {**env, "ECRPY_CONFIG": str(settings)}
    docker_config(env, {host(A): "ecrpy", host(B): "ecrpy", host(C): "ecrpy"})
    for account in (A, B, C):
        assert helper.get(host(account), env)["Secret"] == secret(account)
    assert asked(fake) == [[A, C], [B]]


def test_a_failing_shared_request_falls_back_to_the_registry_asked_for(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", registry_id=B, code="AccessDenied"))
    docker_config(env, {host(A): "ecrpy", host(B): "ecrpy"})
    assert helper.get(host(A), env)["Secret"] == secret(A)
    assert asked(fake) == [[A, B], [A]]
    result = helper.run("get", stdin=host(B), env=env)
    assert result.returncode == 1 and "AccessDenied" in result.stdout


def test_an_unreadable_docker_config_means_no_fan_out(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    (Path(env["HOME"]) / ".docker").mkdir()
    (Path(env["HOME"]) / ".docker" / "config.json").write_text("{not json")
    assert helper.get(host(A), env)["Secret"] == secret(A)
    assert asked(fake) == [[A]]


def test_fresh_companions_are_not_asked_for_again(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(host(B), env)
    docker_config(env, {host(A): "ecrpy", host(B): "ecrpy", host(C): "ecrpy"})
    helper.get(host(A), env)
    assert asked(fake) == [[B], [A, C]]


@pytest.mark.parametrize("store", [True, False])
def test_companions_are_the_hosts_docker_hands_to_ecrpy(store: bool) -> None:
    document = {
        "auths": {f"https://{host(B)}": {}, host(C): {}},
        "credHelpers": {host(A): "ecrpy", host(C): "other", "https://" + host(D): "ecrpy"},
        **({"credsStore": "ecrpy"} if store else {}),
    }
    asked_for = registry.parse(host(A))
    assert asked_for is not None
    found = [reg.host for reg in fanout.companions_in(document, asked_for)]
    assert found == ([host(D), host(B)] if store else [host(D)])


def test_at_most_ten_registry_ids_in_one_request_and_the_next_get_takes_the_next_ten(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    accounts = [f"{n:012d}" for n in range(1, 26)]
    docker_config(env, {host(account): "ecrpy" for account in accounts})
    for account in accounts:
        assert helper.get(host(account), env)["Secret"] == secret(account)
    assert asked(fake) == [accounts[:10], accounts[10:20], accounts[20:]]
