"""The kubelet's strict decoder, held to its source, then applied to every reply ecrpy gives.

``tests/kubelet_rules.py`` writes the kubelet's rules out from the Kubernetes source (each rule
names its file and function). A checker is only as strong as what it refuses, so the first half
feeds it what the kubelet refuses and what it accepts; the second half runs
``docker-credential-ecrpy kubelet-provider`` for every kind of image and request and puts each
reply, and the documented CredentialProviderConfig, through it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fakeaws.server import FakeAWS
from tests.conftest import ACCESS_KEY, REGISTRY
from tests.kubelet_rules import (
    API_VERSIONS,
    V1,
    V1ALPHA1,
    V1BETA1,
    ConfigError,
    Kubelet,
    PluginError,
    cached,
    check_config,
    check_response,
    encode_request,
    go_filepath_match,
    load_yaml,
    parse_go_duration,
    parse_schemeless_url,
    repo_to_pull,
    urls_match,
)
from tests.test_kubelet import DOCS, GOLDEN, GOLDEN_CASES, docs_config, docs_yaml

ACCOUNT = "123456789012"
PASSWORD = f"{ACCOUNT}-auth-token"  # what the fake ECR hands out for the account
PUBLIC_PASSWORD = f"public-{ACCESS_KEY}-auth-token"


# -- the response decoder ----------------------------------------------------------------------


def good(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "kind": "CredentialProviderResponse",
        "apiVersion": V1,
        "cacheKeyType": "Registry",
        "cacheDuration": "5h59m30s",
        "auth": {REGISTRY: {"username": "AWS", "password": "secret"}},
    }
    for name, value in changes.items():
        if value is ...:
            del answer[name]
        else:
            answer[name] = value
    return answer


def raw(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer).encode()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(raw(good()), id="ecrpy's shape"),
        pytest.param(raw(good(cacheDuration=...)), id="no cacheDuration: the default"),
        pytest.param(raw(good(cacheDuration=None)), id="null cacheDuration"),
        pytest.param(raw(good(auth=...)), id="no auth"),
        pytest.param(raw(good(auth=None)), id="null auth"),
        pytest.param(raw(good(auth={})), id="empty auth"),
        pytest.param(raw(good(auth={"*.example": None})), id="null AuthConfig"),
        pytest.param(raw(good(auth={"h": {"username": None}})), id="null username"),
        pytest.param(raw(good(auth={"h": {}})), id="empty AuthConfig"),
        pytest.param(raw(good(cacheKeyType="Image")), id="Image"),
        pytest.param(raw(good(cacheKeyType="Global")), id="Global"),
        pytest.param(raw(good(cacheDuration="0")), id="0 without unit"),
        pytest.param(b" " + raw(good()) + b"\n\n", id="whitespace around"),
    ],
)
def test_the_checker_accepts_what_the_kubelet_accepts(answer: bytes) -> None:
    check_response(answer, V1)


BAD_RESPONSES = [
    (b"", "invalid JSON", "plugin.go ExecPlugin: Interpret"),
    (b"ok\n", "invalid JSON", "plugin.go ExecPlugin: Interpret"),
    (b"\xff" + raw(good()), "invalid JSON", "encoding/json: UTF-8"),
    (b"[]", "not a JSON object", "plugin.go ExecPlugin: Interpret"),
    (raw(good()) + b"{}", "invalid JSON", "encoding/json: one value"),
    (raw(good(cacheDuration=...))[:-1] + b',"x":NaN}', "invalid JSON", "encoding/json: no NaN"),
    (raw(good(apiVersion=V1BETA1)), "did not match", "plugin.go ExecPlugin: apiVersion"),
    (raw(good(apiVersion=...)), "did not match", "plugin.go ExecPlugin: apiVersion"),
    (raw(good(apiVersion=1)), "cannot unmarshal", "TypeMeta: apiVersion is a string"),
    (raw(good(kind="CredentialProviderRequest")), "unexpected Kind", "decodeResponse: Kind"),
    (raw(good(kind=...)), "unexpected Kind", "decodeResponse: Kind"),
    (raw(good(extra=1)), "unknown field", "EnableStrict: unknown field"),
    (raw(good(CacheKeyType="Registry")), "unknown field", "EnableStrict: case-sensitive"),
    (
        b'{"kind":"CredentialProviderResponse","apiVersion":"%s","cacheKeyType":"Registry",'
        b'"cacheKeyType":"Image"}' % V1.encode(),
        "duplicate field",
        "EnableStrict: duplicate field",
    ),
    (
        b'{"kind":"CredentialProviderResponse","apiVersion":"%s","cacheKeyType":"Registry",'
        b'"auth":{"h":{"username":"a","username":"b"}}}' % V1.encode(),
        "duplicate field",
        "EnableStrict: duplicate field, nested",
    ),
    (raw(good(cacheKeyType="registry")), "cacheKeyType", "plugin.go provide: the switch"),
    (raw(good(cacheKeyType="")), "cacheKeyType", "plugin.go provide: the switch"),
    (raw(good(cacheKeyType=...)), "cacheKeyType", "plugin.go provide: the switch"),
    (raw(good(cacheKeyType=["Image"])), "cannot unmarshal", "types.go: PluginCacheKeyType"),
    (raw(good(cacheDuration=3600)), "JSON string", "metav1.Duration UnmarshalJSON"),
    (raw(good(cacheDuration="6")), "missing unit", "time.ParseDuration"),
    (raw(good(cacheDuration="6 h")), "unknown unit", "time.ParseDuration"),
    (raw(good(cacheDuration="1d")), "unknown unit", "time.ParseDuration"),
    (raw(good(cacheDuration="")), "invalid duration", "time.ParseDuration"),
    (raw(good(auth=[REGISTRY])), "into map", "types.go: auth is a map"),
    (raw(good(auth={"h": "AWS:secret"})), "AuthConfig", "types.go: AuthConfig is an object"),
    (raw(good(auth={"h": {"username": 7}})), "cannot unmarshal", "types.go: username string"),
    (raw(good(auth={"h": {"auth": "QVdTOng="}})), "unknown field", "types.go: two fields"),
]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [pytest.param(a, r, id=why) for a, r, why in BAD_RESPONSES],
)
def test_the_checker_refuses_what_the_kubelet_refuses(answer: bytes, reason: str) -> None:
    with pytest.raises(PluginError, match=reason):
        check_response(answer, V1)


# Go's own table for time.ParseDuration (src/time/time_test.go, parseDurationTests), in part.
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("5s", 5),
        ("-5s", -5),
        ("+5s", 5),
        ("-0", 0),
        ("5.0s", 5),
        ("5.6s", 5.6),
        ("5.s", 5),
        (".5s", 0.5),
        ("1.004s", 1.004),
        ("10ns", 10e-9),
        ("11us", 11e-6),
        ("12µs", 12e-6),
        ("12μs", 12e-6),
        ("13ms", 13e-3),
        ("15m", 900),
        ("16h", 57600),
        ("3h30m", 12600),
        ("10.5s4m", 250.5),
        ("-2m3.4s", -123.4),
        ("1h2m3s4ms5us6ns", 3723.004005006),
        ("39h9m14.425s", 140_954.425),
        ("5h59m30s", 21570),
    ],
)
def test_durations_go_accepts(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "1hh", "1.2.3s", "3000000h"]
)
def test_durations_go_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="time: "):
        parse_go_duration(text)


# -- matching ----------------------------------------------------------------------------------


# The examples of api/v1/types.go (CredentialProviderResponse.auth, CredentialProvider.matchImages)
@pytest.mark.parametrize(
    ("glob", "target", "matches"),
    [
        ("*.k8s.io", "abc.k8s.io", True),
        ("*.k8s.io", "abc.k8s.io/a/b", True),
        ("*.io", "abc.k8s.io", False),  # one glob, one label
        ("k8s.*.io", "k8s.abc.io", True),
        ("k8s.*", "k8s.io", True),
        ("app*.k8s.io", "app1.k8s.io", True),
        ("app*.k8s.io", "web.k8s.io", False),
        ("*.*.registry.io", "a.b.registry.io", True),
        ("*.*.registry.io", "b.registry.io", False),
        ("registry.io:8080/path", "registry.io:8080/path/image", True),
        ("registry.io:8080/path", "registry.io/path/image", False),  # the port must match
        ("registry.io", "registry.io:8080/image", False),  # ... also when only the image has one
        ("registry.io:8080/path", "registry.io:8080/other", False),  # the path is a prefix
        (f"{REGISTRY}", f"{REGISTRY}/team/app", True),
        (f"{REGISTRY}", f"{REGISTRY}.evil.example/app", False),
        ("*.dkr.ecr.*.amazonaws.com", f"{REGISTRY}:443/app", False),
        ("x[a-c]p.io", "xbp.io", True),
        ("x[^a-c]p.io", "xbp.io", False),
        (
            "[a-c]pp.io",
            "bpp.io",
            False,
        ),  # url.Parse: a leading [ is an IPv6 literal, "pp.io" no port
        ("\\*.io", "a.io", False),
        ("[.io", "a.io", False),  # filepath.ErrBadPattern: no match
    ],
)
def test_urls_match_as_the_keyring_does(glob: str, target: str, matches: bool) -> None:
    assert urls_match(glob, target) is matches


def test_filepath_match_refuses_bad_patterns() -> None:
    for pattern in ("[", "[]", "[-a]", "[a-]", "\\", "[z-a]"):
        with pytest.raises(ValueError, match="syntax error"):
            go_filepath_match(pattern, "a")


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("*.dkr.ecr.*.amazonaws.com", True),
        ("registry.io:8080/path", True),
        ("[::1]:5000/app", True),
        ("registry.io:https/app", False),  # url.Parse: invalid port
        ("registry io", False),  # a space in the host
        ("registry.io/%zz", False),  # a bad escape
        ("[::1/app", False),  # missing ']'
        ("registry.io\n", False),  # a control character
    ],
)
def test_match_images_parse_as_url_parse_does(url: str, valid: bool) -> None:
    if valid:
        parse_schemeless_url(url)
    else:
        with pytest.raises(ValueError):
            parse_schemeless_url(url)


# -- the requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod_image", "asked"),
    [
        (f"{REGISTRY}/team/app:1.2", f"{REGISTRY}/team/app"),
        (f"{REGISTRY}:443/app:latest", f"{REGISTRY}:443/app"),
        (f"{REGISTRY}/app@sha256:{'a' * 64}", f"{REGISTRY}/app"),
        (f"{REGISTRY}/app:1@sha256:{'a' * 64}", f"{REGISTRY}/app"),
        (f"{REGISTRY}/app", f"{REGISTRY}/app"),
        ("localhost:5000/app:1", "localhost:5000/app"),
        ("ubuntu", "docker.io/library/ubuntu"),
        ("ubuntu:22.04", "docker.io/library/ubuntu"),
        ("org/app:1", "docker.io/org/app"),
        ("index.docker.io/org/app", "docker.io/org/app"),
    ],
)
def test_the_kubelet_asks_for_the_repository(pod_image: str, asked: str) -> None:
    assert repo_to_pull(pod_image) == asked


def test_requests_are_encoded_as_gos_encoder_writes_them() -> None:
    image = f"{REGISTRY}/app"
    assert encode_request(V1, image) == (
        b'{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io'
        b'/v1","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/app"}\n'
    )
    with_token = encode_request(V1, image, "t.o.k", {"z": "1", "a": "<&>"})
    assert with_token.endswith(
        b'"serviceAccountToken":"t.o.k","serviceAccountAnnotations":'
        b'{"a":"\\u003c\\u0026\\u003e","z":"1"}}\n'
    )
    for version in (V1ALPHA1, V1BETA1):  # the service account fields are v1's
        with pytest.raises(ValueError):
            encode_request(version, image, "t.o.k")


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_each_golden_request_is_what_the_kubelet_writes(name: str) -> None:
    data = (GOLDEN / f"{name}.request.json").read_bytes()
    fields = json.loads(data)
    assert set(fields) - {"kind", "apiVersion"} <= set(
        ("image", "serviceAccountToken", "serviceAccountAnnotations")
    )
    assert repo_to_pull(fields["image"]) == fields["image"]  # no tag, no digest
    rebuilt = encode_request(
        fields["apiVersion"],
        fields["image"],
        fields.get("serviceAccountToken", ""),
        fields.get("serviceAccountAnnotations"),
    )
    assert rebuilt == data


# -- every reply ecrpy gives -------------------------------------------------------------------


@pytest.fixture
def node(env: dict[str, str], fake: FakeAWS, tmp_path: Path) -> Kubelet:
    """A kubelet with the documented provider entry; the cache moved under the test."""
    provider = copy.deepcopy(docs_config()["providers"][0])
    provider["env"] = [{"name": "AWS_ECR_CACHE_DIR", "value": str(tmp_path / "cache")}]
    return Kubelet(provider, dict(env))


REPLIES = [
    # (pod image, the auth key, the password; None: no credentials, nothing cached)
    ("private", f"{REGISTRY}/team/app:1", REGISTRY, PASSWORD),
    ("private by digest", f"{REGISTRY}/app@sha256:{'f' * 64}", REGISTRY, PASSWORD),
    ("GovCloud", f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com/app", None, PASSWORD),
    ("FIPS", f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app", None, PASSWORD),
    ("China", f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/app", None, PASSWORD),
    ("dual-stack", f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws/app:1", None, PASSWORD),
    ("dual-stack FIPS", f"{ACCOUNT}.dkr-ecr-fips.us-east-1.on.aws/app", None, PASSWORD),
    ("public with credentials", "public.ecr.aws/docker/library/alpine:3", None, PUBLIC_PASSWORD),
    ("not an account", "abcdefghijkl.dkr.ecr.us-east-1.amazonaws.com/app", None, None),
]


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize(
    ("image", "key", "password"),
    [pytest.param(image, key, password, id=case) for case, image, key, password in REPLIES],
)
def test_every_reply_passes_the_kubelets_decoder(
    node: Kubelet,
    fake: FakeAWS,
    api_version: str,
    image: str,
    key: str | None,
    password: str | None,
) -> None:
    node.provider["apiVersion"] = api_version
    asked = repo_to_pull(image)
    key = key or asked.split("/", 1)[0]

    answer = node.provide(image)  # decoded strictly: any violation raises PluginError

    assert answer["apiVersion"] == api_version
    assert node.last is not None and node.last.stderr == ""
    entry = cached(answer, asked, default_seconds=3600)
    if password is None:
        assert answer["auth"] == {} and entry is None  # the kubelet caches nothing
        assert fake.count("GetAuthorizationToken") == 0
        return
    assert answer["auth"] == {key: {"username": "AWS", "password": password}}
    assert node.lookup(image) == [("AWS", password)]
    assert entry is not None and entry.key == key  # cached per registry, under the auth key
    assert 6 * 3600 - 120 <= entry.seconds <= 6 * 3600


def test_a_port_443_reply_passes_and_is_keyed_with_the_port(node: Kubelet, fake: FakeAWS) -> None:
    node.provider["matchImages"].append("*.dkr.ecr.*.amazonaws.com:443")
    answer = node.provide(f"{REGISTRY}:443/app:1")
    assert list(answer["auth"]) == [f"{REGISTRY}:443"]
    entry = cached(answer, f"{REGISTRY}:443/app", default_seconds=3600)
    assert entry is not None and entry.key == f"{REGISTRY}:443"


def test_a_public_reply_without_credentials_passes(node: Kubelet, fake: FakeAWS) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        del node.environ[name]
    answer = node.provide("public.ecr.aws/docker/library/alpine:3")
    assert answer["auth"] == {} and cached(answer, "public.ecr.aws/x", 3600) is None


@pytest.mark.parametrize(
    "image",
    ["ghcr.io/org/app", "docker.io/library/ubuntu", f"{REGISTRY}.evil.example/app", "[::1]:5000/a"],
)
def test_replies_for_images_the_config_does_not_match_pass_too(
    node: Kubelet, fake: FakeAWS, image: str
) -> None:
    """The kubelet would not ask (matchImages); a config with broader globs would, and the
    answer must still decode: no credentials, nothing cached."""
    assert not node.allowed(image)
    result = node.exec(node.request(image))
    assert result.returncode == 0 and result.stderr == ""
    answer = check_response(result.stdout.encode(), V1)
    assert answer["auth"] == {} and cached(answer, image, 3600) is None
    assert fake.requests == []


@pytest.mark.parametrize(
    "stdin",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="truncated"),
        pytest.param(encode_request(V1, "")[:-1], id="no image"),
        pytest.param(
            encode_request(V1, f"{REGISTRY}/app").replace(b"/v1", b"/v2"), id="unknown version"
        ),
        pytest.param(
            encode_request(V1, f"{REGISTRY}/app").replace(b"Request", b"Response"), id="wrong kind"
        ),
    ],
)
def test_a_malformed_request_fails_as_the_kubelet_expects(
    node: Kubelet, fake: FakeAWS, stdin: bytes
) -> None:
    """A non-zero exit with the reason on stderr: the kubelet logs it and caches nothing; it
    never reads stdout then (plugin.go, ExecPlugin returns before Interpret)."""
    result = node.exec(stdin)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("ecrpy: ") and result.stderr.count("\n") == 1
    assert fake.requests == []


# -- the CredentialProviderConfig --------------------------------------------------------------


def test_the_documented_configs_pass_the_kubelets_checks() -> None:
    check_config(docs_config())
    (snippet,) = [doc for doc in docs_yaml() if "kind" not in doc]
    check_config(
        {"apiVersion": "kubelet.config.k8s.io/v1", "kind": "CredentialProviderConfig"} | snippet
    )
    assert DOCS.read_text(encoding="utf-8").count("kind: CredentialProviderConfig") == 1


def _mutated(change: str) -> dict[str, Any]:
    config = copy.deepcopy(docs_config())
    provider = config["providers"][0]
    tokens = {
        "serviceAccountTokenAudience": "sts.amazonaws.com",
        "cacheType": "ServiceAccount",
        "requireServiceAccount": False,
    }
    if change == "unknown field":
        provider["matchImage"] = provider.pop("matchImages")
    elif change == "no defaultCacheDuration":
        del provider["defaultCacheDuration"]
    elif change == "a duration in days":
        provider["defaultCacheDuration"] = "1d"
    elif change == "a negative duration":
        provider["defaultCacheDuration"] = "-1h"
    elif change == "a name with a slash":
        provider["name"] = "bin/docker-credential-ecrpy"
    elif change == "two providers of one name":
        config["providers"].append(copy.deepcopy(provider))
    elif change == "an unknown apiVersion":
        provider["apiVersion"] = f"{V1[:-3]}/v2"
    elif change == "no matchImages":
        provider["matchImages"] = []
    elif change == "a matchImage url.Parse refuses":
        provider["matchImages"].append("registry.io:https/path")
    elif change == "tokenAttributes before v1":
        provider["apiVersion"], provider["tokenAttributes"] = V1BETA1, tokens
    elif change == "no requireServiceAccount":
        provider["tokenAttributes"] = {
            k: v for k, v in tokens.items() if k != "requireServiceAccount"
        }
    elif change == "required keys, service account optional":
        provider["tokenAttributes"] = {**tokens, "requiredServiceAccountAnnotationKeys": ["a/b"]}
    elif change == "no cacheType":
        provider["tokenAttributes"] = {k: v for k, v in tokens.items() if k != "cacheType"}
    elif change == "an unknown cacheType":
        provider["tokenAttributes"] = {**tokens, "cacheType": "Pod"}
    elif change == "a key both required and optional":
        provider["tokenAttributes"] = {
            **tokens,
            "requireServiceAccount": True,
            "requiredServiceAccountAnnotationKeys": ["a/b"],
            "optionalServiceAccountAnnotationKeys": ["a/b"],
        }
    elif change == "an annotation key that is no qualified name":
        provider["tokenAttributes"] = {**tokens, "optionalServiceAccountAnnotationKeys": ["-a/b"]}
    elif change == "no providers":
        config["providers"] = []
    else:
        raise AssertionError(change)
    return config


@pytest.mark.parametrize(
    "change",
    [
        "unknown field",
        "no defaultCacheDuration",
        "a duration in days",
        "a negative duration",
        "a name with a slash",
        "two providers of one name",
        "an unknown apiVersion",
        "no matchImages",
        "a matchImage url.Parse refuses",
        "tokenAttributes before v1",
        "no requireServiceAccount",
        "required keys, service account optional",
        "no cacheType",
        "an unknown cacheType",
        "a key both required and optional",
        "an annotation key that is no qualified name",
        "no providers",
    ],
)
def test_the_config_checker_refuses_what_the_kubelet_refuses(change: str) -> None:
    with pytest.raises(ConfigError):
        check_config(_mutated(change))


def test_a_key_given_twice_in_the_config_yaml_is_refused() -> None:
    text = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nkind: X\n"
    with pytest.raises(ConfigError, match="duplicate"):
        load_yaml(text)
