"""ecrpy's data loader answers exactly as botocore's, without scanning every service directory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import UnknownServiceError

from credential_helper import loader

NAMES = ["ecr", "ecr-public", "sts", "sso", "sso-oidc", "s3", "no-such-service", "", "../ecr"]
TYPES = ["service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2", "no-such-type"]


def sessions() -> tuple[botocore.session.Session, botocore.session.Session]:
    stock = botocore.session.Session()
    fast = botocore.session.Session()
    loader.install(fast)
    return stock, fast


@pytest.mark.parametrize("type_name", TYPES)
def test_the_same_services_are_known_by_name_and_in_full(type_name: str) -> None:
    stock, fast = (s.get_component("data_loader") for s in sessions())
    known = fast.list_available_services(type_name)
    expected = stock.list_available_services(type_name)
    for name in NAMES:
        assert (name in known) == (name in expected), name
    assert list(known) == expected and len(known) == len(expected)
    assert fast.search_paths == stock.search_paths


def test_an_unknown_service_is_refused_as_botocore_refuses_it() -> None:
    _, fast = sessions()
    with pytest.raises(UnknownServiceError) as refused:
        fast.create_client("no-such-service", region_name="us-east-1")
    assert "ecr-public" in str(refused.value)  # botocore's message lists the known ones


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-key")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    yield


def sent_url(session: botocore.session.Session, service: str, **config: Any) -> str:
    """The URL the client would send its request to (answered locally, never sent)."""
    from botocore.config import Config

    client = session.create_client(service, config=Config(**config))
    seen: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.append(request.url)
        return AWSResponse(request.url, 500, {}, None)

    client.meta.events.register("before-send", answer)
    call = (
        client.get_authorization_token if service.startswith("ecr") else client.get_caller_identity
    )
    with contextlib.suppress(Exception):  # the local 500 answer: only the URL matters
        call()
    return seen[0]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"])
@pytest.mark.parametrize(("fips", "dualstack"), [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("service", ["ecr", "sts"])
def test_clients_go_to_the_same_endpoints(
    aws: None, service: str, region: str, fips: bool, dualstack: bool
) -> None:
    stock, fast = sessions()
    config = {
        "region_name": region,
        "use_fips_endpoint": fips,
        "use_dualstack_endpoint": dualstack,
        "retries": {"total_max_attempts": 1},
    }
    assert sent_url(fast, service, **config) == sent_url(stock, service, **config)


def test_creating_a_client_scans_no_service_directories(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, fast = sessions()
    calls: list[str] = []
    real = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    fast.create_client("ecr", region_name="us-east-1")
    assert 0 < len(calls) < 20  # botocore's own loader: ~900
