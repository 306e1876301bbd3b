"""Faults from AWS and the network, injected by the fake on loopback, as a user would meet them.

Each fault is shown twice: with nothing cached (one line naming the cause and the registry) and
with a cached token that is due for refresh but still valid (served, stale-if-error).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS, Fault, Server
from tests.conftest import REGISTRY, Helper

PASSWORD = "123456789012-auth-token"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _reply(data: object) -> str:
    return json.dumps({"authorizationData": [data]})


FAULTS = {
    "throttling": dict(code="ThrottlingException", status=400, message="Rate exceeded"),
    "http-429": dict(code="TooManyRequestsException", status=429, message="slow down"),
    "http-500": dict(code="ServerException", status=500, message="internal failure"),
    "http-503": dict(code="ServiceUnavailableException", status=503, message="unavailable"),
    "not-json": dict(body="<html>proxy error</html>", status=200),
    "token-not-base64": dict(
        body=_reply({"authorizationToken": "%%%not-base64%%%", "expiresAt": 4e9}), status=200
    ),
    "token-without-colon": dict(
        body=_reply({"authorizationToken": _b64("AWSnocolon"), "expiresAt": 4e9}), status=200
    ),
    "expired-token": dict(
        body=_reply({"authorizationToken": _b64("AWS:x"), "expiresAt": 1e9}), status=200
    ),
    "no-expiry": dict(body=_reply({"authorizationToken": _b64("AWS:x")}), status=200),
}
EXPECTED = {
    "throttling": "ThrottlingException",
    "http-429": "TooManyRequestsException",
    "http-500": "ServerException",
    "http-503": "ServiceUnavailableException",
    "not-json": REGISTRY,
    "token-not-base64": "not base64",
    "token-without-colon": "user:password",
    "expired-token": "already expired",
    "no-expiry": "no expiry",
}


def token_file(env: dict[str, str]) -> Path:
    (path,) = (Path(env["HOME"]) / ".cache" / "ecrpy").glob("*.json")
    return path


def age_cached_token(env: dict[str, str], hours: float) -> None:
    """Pretend the cached token was fetched ``hours`` ago."""
    path = token_file(env)
    data = json.loads(path.read_text())
    data["fetched_at"] -= hours * 3600
    data["expires_at"] -= hours * 3600
    path.write_text(json.dumps(data))


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, result.stdout
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("ecrpy: ")
    assert fragment in result.stdout and REGISTRY in result.stdout
    assert result.stderr.strip().endswith(result.stdout.strip())  # docker shows stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_without_a_cached_token_each_fault_is_one_line_naming_the_cause(
    helper: Helper, env: dict[str, str], fake: FakeAWS, name: str
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", **FAULTS[name]))  # type: ignore[arg-type]
    assert_one_line_error(helper.run("get", stdin=REGISTRY, env=env), EXPECTED[name])


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_with_a_valid_cached_token_each_fault_serves_it(
    helper: Helper, env: dict[str, str], fake: FakeAWS, name: str
) -> None:
    helper.get(REGISTRY, env)
    age_cached_token(env, 8)  # due for refresh, four hours still valid
    fake.add_fault(Fault(operation="GetAuthorizationToken", **FAULTS[name]))  # type: ignore[arg-type]
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    assert fake.count("GetAuthorizationToken") >= 2  # it did try to refresh


@pytest.mark.parametrize("name", ["throttling", "http-500", "http-503", "http-429"])
def test_retries_are_bounded(helper: Helper, env: dict[str, str], fake: FakeAWS, name: str) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", **FAULTS[name]))  # type: ignore[arg-type]
    helper.run("get", stdin=REGISTRY, env=env)
    assert fake.count("GetAuthorizationToken") == 3  # botocore standard mode, 3 attempts in all


def test_a_transient_fault_is_retried_and_the_pull_goes_on(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="ThrottlingException", times=1))
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    assert fake.count("GetAuthorizationToken") == 2


def test_dns_failure(helper: Helper, env: dict[str, str]) -> None:
    env["AWS_ENDPOINT_URL_ECR"] = "https://ecr.does-not-resolve.invalid"
    assert_one_line_error(helper.run("get", stdin=REGISTRY, env=env), "could not reach")


def test_when_the_endpoint_goes_down_the_cached_token_is_served(
    helper: Helper, env: dict[str, str]
) -> None:
    """The same endpoint (so the same identity), refusing connections once it is stopped."""
    server = Server().start()
    env.update(server.environment())
    helper.get(REGISTRY, env)
    server.stop()
    age_cached_token(env, 8)
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    age_cached_token(env, 3.95)  # three minutes left: too close to expiry to serve
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert_one_line_error(result, "could not reach the ECR API")


def test_a_reply_that_never_comes_gives_up_at_the_deadline(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=30))
    env["ECRPY_TIMEOUT"] = "2"
    result = helper.run("get", stdin=REGISTRY, env=env, timeout=25)
    assert_one_line_error(result, "gave up after 2 s")


def test_a_reply_that_never_comes_serves_the_cached_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    age_cached_token(env, 8)
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=30))
    env["ECRPY_TIMEOUT"] = "2"
    result = helper.run("get", stdin=REGISTRY, env=env, timeout=25)
    assert result.returncode == 0 and json.loads(result.stdout)["Secret"] == PASSWORD


def test_processes_waiting_on_a_failing_fetch_share_its_failure(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    """Eight cold pulls against a dead endpoint: one fetch fails, the waiters do not retry it."""
    fake.add_fault(
        Fault(operation="GetAuthorizationToken", code="ServerException", status=500, delay=0.5)
    )
    procs = [
        subprocess.Popen(
            [helper.path, "get"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(8)
    ]
    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda p: p.communicate(REGISTRY.encode(), timeout=60), procs))
    assert [p.returncode for p in procs] == [1] * 8
    assert all(b"ServerException" in out for out, _ in outputs)
    assert fake.count("GetAuthorizationToken") == 3  # one fetch's three attempts, not 8 x 3


@pytest.mark.parametrize("offset_hours", [-14, -3, 3, 14])
def test_a_clock_hours_off_still_gets_and_caches_tokens(
    helper: Helper, env: dict[str, str], fake: FakeAWS, offset_hours: float
) -> None:
    """AWS's clock (Date header, expiresAt) is ``offset_hours`` away from this machine's."""
    fake.clock_offset = offset_hours * 3600
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    cached = json.loads(token_file(env).read_text())
    remaining = cached["expires_at"] - time.time()
    assert abs(remaining - 12 * 3600) < 60  # 12 hours in this machine's time (Date has 1 s steps)
    helper.get(REGISTRY, env)
    assert fake.count("GetAuthorizationToken") == 1  # and the cached token is fresh
