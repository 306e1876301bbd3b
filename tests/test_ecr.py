"""The AWS call: which endpoint each registry form reaches, what is asked, how replies decode.

botocore resolves the endpoint for real; a ``before-send`` hook answers in place of the network,
so these tests see the exact URL and body that would go to AWS.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from credential_helper import ecr, errors, registry


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _reply(status: int, payload: Any) -> AWSResponse:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return AWSResponse("https://fake", status, {}, _Raw(body))  # type: ignore[arg-type]


def _token(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Static test keys, no endpoint overrides, no files from this machine; fresh clients."""
    for name in list(__import__("os").environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNITTEST00000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit-test-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    ecr._client.cache_clear()  # type: ignore[attr-defined]
    ecr._session.cache_clear()  # type: ignore[attr-defined]


def _capture(reg: registry.Registry, reply: AWSResponse) -> tuple[ecr.Token, list[Any]]:
    sent: list[Any] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(request)
        return reply

    service = "ecr-public" if reg.public else "ecr"
    client = ecr._client(
        service, reg.region, reg.fips and not reg.public, reg.dualstack, None, None
    )
    client.meta.events.register("before-send", answer)
    return ecr.fetch(reg), sent


def _ok(token: str = "AWS:pass:word", expires: float | None = None) -> AWSResponse:
    expires_at = expires if expires is not None else time.time() + 43200
    return _reply(
        200, {"authorizationData": [{"authorizationToken": _token(token), "expiresAt": expires_at}]}
    )


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://api.ecr.us-east-1.amazonaws.com/",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "https://api.ecr.eu-west-1.amazonaws.com/",
        ),
        (
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
            "https://api.ecr-fips.us-east-1.amazonaws.com/",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "https://api.ecr.cn-north-1.amazonaws.com.cn/",
        ),
        (
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
            "https://api.ecr.us-gov-west-1.amazonaws.com/",
        ),
        ("123456789012.dkr-ecr.us-east-1.on.aws", "https://ecr.us-east-1.api.aws/"),
        ("123456789012.dkr-ecr-fips.us-east-1.on.aws", "https://ecr-fips.us-east-1.api.aws/"),
        (
            "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
            "https://api.ecr.us-iso-east-1.c2s.ic.gov/",
        ),
    ],
)
def test_token_request_goes_to_the_registrys_own_region_partition_and_endpoint(
    aws_env: None, host: str, endpoint: str
) -> None:
    reg = registry.parse(host)
    assert reg is not None
    token, sent = _capture(reg, _ok())
    assert [request.url for request in sent] == [endpoint]
    body = json.loads(sent[0].body)
    assert body == {"registryIds": ["123456789012"]}  # the registry's own account
    assert sent[0].headers["X-Amz-Target"].endswith(b"GetAuthorizationToken")
    assert f"/{reg.region}/ecr/aws4_request" in sent[0].headers["Authorization"].decode()
    assert (token.username, token.password) == ("AWS", "pass:word")


def test_ecr_public_asks_ecr_public_in_us_east_1(aws_env: None) -> None:
    reg = registry.parse("public.ecr.aws")
    assert reg is not None
    reply = _reply(
        200,
        {
            "authorizationData": {
                "authorizationToken": _token("AWS:pub"),
                "expiresAt": time.time() + 3600,
            }
        },
    )
    token, sent = _capture(reg, reply)
    assert sent[0].url == "https://api.ecr-public.us-east-1.amazonaws.com/"
    assert token.password == "pub"


def test_public_registry_without_credentials_is_reported_as_no_credentials(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    reg = registry.parse("public.ecr.aws")
    assert reg is not None
    with pytest.raises(errors.TokenUnavailable) as caught:
        ecr.fetch(reg)
    assert caught.value.kind == errors.NO_CREDENTIALS


def test_custom_endpoint_wins_over_fips_and_dualstack(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore refuses FIPS with a custom endpoint; the user's endpoint is what they asked for."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", "https://ecr.internal.example:8443")
    reg = registry.parse("123456789012.dkr-ecr-fips.us-east-1.on.aws")
    assert reg is not None
    _, sent = _capture(reg, _ok())
    assert sent[0].url == "https://ecr.internal.example:8443/"


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (_reply(200, {"authorizationData": []}), "returned no token"),
        (_reply(200, {"authorizationData": [{"expiresAt": 2e9}]}), "unusable token"),
        (
            _reply(200, {"authorizationData": [{"authorizationToken": "%%%", "expiresAt": 2e9}]}),
            "not base64",
        ),
        (
            _reply(
                200,
                {
                    "authorizationData": [
                        {"authorizationToken": _token("nocolon"), "expiresAt": 2e9}
                    ]
                },
            ),
            "user:password",
        ),
        (_reply(200, {"authorizationData": [{"authorizationToken": _token("AWS:x")}]}), "expiry"),
    ],
)
def test_unusable_replies_are_explained(aws_env: None, reply: AWSResponse, fragment: str) -> None:
    reg = registry.parse("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert reg is not None
    with pytest.raises(errors.TokenUnavailable) as caught:
        _capture(reg, reply)
    assert fragment in str(caught.value)
    assert reg.host in str(caught.value)
    assert caught.value.kind == errors.BAD_RESPONSE


def test_a_reply_botocore_cannot_parse_is_explained(aws_env: None) -> None:
    reg = registry.parse("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert reg is not None
    absurd = _reply(
        200, {"authorizationData": [{"authorizationToken": _token("AWS:x"), "expiresAt": 1e15}]}
    )
    with pytest.raises(errors.TokenUnavailable) as caught:
        _capture(reg, absurd)
    assert "could not be read" in str(caught.value)
    assert caught.value.kind == errors.BAD_RESPONSE


def test_a_token_that_is_already_expired_is_refused(aws_env: None) -> None:
    reg = registry.parse("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert reg is not None
    with pytest.raises(errors.TokenUnavailable, match="already expired"):
        _capture(reg, _ok(expires=time.time() - 10))


def test_access_denied_names_code_and_registry(aws_env: None) -> None:
    reg = registry.parse("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert reg is not None
    denied = _reply(400, {"__type": "AccessDeniedException", "message": "not authorized"})
    with pytest.raises(errors.TokenUnavailable) as caught:
        _capture(reg, denied)
    message = str(caught.value)
    assert "AccessDeniedException" in message and reg.host in message
    assert caught.value.kind == errors.DENIED


def test_decode_token_splits_on_the_first_colon_only() -> None:
    assert ecr.decode_token(_token("AWS:a:b:c")) == ("AWS", "a:b:c")
    with pytest.raises(ValueError):
        ecr.decode_token(_token(":nouser"))
