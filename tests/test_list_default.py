"""``list`` names the default registry of the credentials in force, so that clients that resolve a
``credsStore`` by listing (GitLab Runner, the classic builder) get ECR credentials on a cold
runner; and the recipes of docs/ci.md, replayed as GitLab Runner runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fakeaws.server import FakeAWS, Fault
from tests.conftest import REGISTRY, Helper

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOT_FOUND = "credentials not found in native keychain"
DEFAULT = f"https://{REGISTRY}"  # moto's account is 123456789012


class Aborted(Exception):
    """The runner gives up resolving DOCKER_AUTH_CONFIG: the job's image is pulled without it."""


def runner_resolves(helper: Helper, env: dict[str, str], auth_config: str) -> dict[str, Any]:
    """GitLab Runner's ``helpers/docker/auth`` resolution of ``DOCKER_AUTH_CONFIG``, replayed.

    ``credsStore``: the docker CLI's native store ``GetAll``: ``list``, then ``get`` for every
    key (not-found gives an empty login); ``credHelpers``: ``get`` for every entry. Any other
    failure aborts. Keys become registry paths as the runner's ``convertToRegistryPath`` does.
    """
    config = json.loads(auth_config)
    wanted: list[str] = []
    if "credsStore" in config:
        listed = helper.run("list", env=env)
        if listed.returncode != 0:
            raise Aborted(listed.stdout)
        wanted += list(json.loads(listed.stdout))
    wanted += list(config.get("credHelpers", {}))
    auths: dict[str, Any] = {}
    for key in wanted:
        got = helper.run("get", stdin=key, env=env)
        if got.returncode != 0 and got.stdout.strip() != NOT_FOUND:
            raise Aborted(got.stdout)
        path = re.sub(r"(?i)^https?://", "", key).split("/", 1)[0].lower()
        auths[path] = json.loads(got.stdout) if got.returncode == 0 else {}
    return auths


def recipes() -> list[str]:
    """The DOCKER_AUTH_CONFIG values docs/ci.md gives for GitLab Runner."""
    page = (DOCS / "ci.md").read_text(encoding="utf-8")
    section = page.split("## GitLab Runner: `DOCKER_AUTH_CONFIG`", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```json\n(.*?)\n```", section, re.DOTALL)


def test_a_cold_list_names_the_default_registry_and_the_get_that_follows_is_warm(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    env["AWS_REGION"] = "us-east-1"
    listed = helper.run("list", env=env)
    assert (listed.returncode, json.loads(listed.stdout)) == (0, {DEFAULT: "AWS"})
    assert (fake.count("GetCallerIdentity"), fake.count("GetAuthorizationToken")) == (1, 1)
    asked = len(fake.requests)
    assert helper.get(DEFAULT, env)["Secret"] == "123456789012-auth-token"
    assert json.loads(helper.run("list", env=env).stdout) == {DEFAULT: "AWS"}
    assert len(fake.requests) == asked  # the get and the second list: nothing asked


def test_the_profiles_region_names_the_default_registry(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    listed = json.loads(helper.run("list", env=env).stdout)
    assert listed == {"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com": "AWS"}


def test_no_region_no_call(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    listed = helper.run("list", env=env)
    assert (listed.returncode, json.loads(listed.stdout)) == (0, {})
    assert fake.requests == []


def test_list_never_fails_because_of_aws(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    env["AWS_REGION"] = "us-east-1"
    fake.add_fault(Fault(operation="GetCallerIdentity", code="AccessDenied", status=403))
    listed = helper.run("list", env=env)
    assert (listed.returncode, json.loads(listed.stdout), listed.stderr) == (0, {}, "")
    logged = (home / ".cache" / "ecrpy" / "ecrpy.log").read_text()
    assert "list: no default registry in us-east-1: STS GetCallerIdentity" in logged
    assert "AccessDenied" in logged
    fake.reset()
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="AccessDeniedException"))
    listed = helper.run("list", env=env)  # STS answers now; ECR says no
    assert (listed.returncode, json.loads(listed.stdout)) == (0, {})
    assert fake.count("GetCallerIdentity") == 1
    logged = (home / ".cache" / "ecrpy" / "ecrpy.log").read_text()
    assert "ECR refused a token for" in logged and "AccessDeniedException" in logged


def test_the_gitlab_runner_recipes_of_ci_md(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    env["AWS_REGION"] = "us-east-1"
    found = recipes()
    assert len(found) == 2 and '"credsStore": "ecrpy"' in found[0] and "credHelpers" in found[1]
    for recipe in found:
        auths = runner_resolves(helper, env, recipe)
        assert auths[REGISTRY]["Secret"] == "123456789012-auth-token", recipe
        assert auths[REGISTRY]["Username"] == "AWS"
    assert fake.count("GetAuthorizationToken") == 1  # the runner's gets were all warm


def test_without_a_region_the_credsstore_recipe_still_resolves_without_error(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    assert runner_resolves(helper, env, '{"credsStore": "ecrpy"}') == {}


def test_no_aws_credentials_at_all_is_no_warning(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    """credsStore ecrpy on a machine without AWS: list names the other logins, says nothing."""
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_REGION"] = "us-east-1"
    listed = helper.run("list", env=env)
    assert (listed.returncode, json.loads(listed.stdout), listed.stderr) == (0, {}, "")
    log = home / ".cache" / "ecrpy" / "ecrpy.log"
    assert not log.exists() or "no default registry" not in log.read_text()
    assert fake.requests == []
