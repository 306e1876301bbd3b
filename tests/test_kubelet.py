"""``kubelet-provider``: execed as the kubelet execs it, answers checked as the kubelet reads them.

The driver (``tests/kubelet_rules.py``, each rule with the Kubernetes source it comes from)
follows ``pkg/credentialprovider/plugin/plugin.go``: it only execs the plugin for images its
``matchImages`` cover, writes the request as Go's encoder does, merges the config's ``env`` into
its own environment, gives the plugin 60 seconds, rejects a non-zero exit, compares the response's
apiVersion with the configured one, decodes the response strictly and matches the ``auth`` keys
against the image as its keyring does (``URLsMatch``). ``tests/test_kubelet_rules.py`` holds the
checker itself to those rules and applies it to every kind of reply.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from credential_helper.commands import kubelet
from credential_helper.registry import parse
from fakeaws.server import FakeAWS, Fault
from tests.conftest import ACCESS_KEY, REGISTRY, SECRET_KEY, Helper, ecr_calls
from tests.kubelet_rules import (
    EXEC_TIMEOUT,
    PROVIDER_FIELDS,
    TOKEN_FIELDS,
    V1,
    V1ALPHA1,
    V1BETA1,
    Exec,
    Kubelet,
    PluginError,
    check_response,
    load_yaml,
    parse_go_duration,
    urls_match,
)
from tests.test_registry import (
    ACCOUNT,
    DUALSTACK_SUFFIXES,
    IPV4_SUFFIXES,
    PUBLIC_HOSTS,
    REGIONS,
    SERVICES,
)

GOLDEN = Path(__file__).with_name("kubelet")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "kubernetes.md"
GROUP = "credentialprovider.kubelet.k8s.io"

PASSWORD = "123456789012-auth-token"  # what the fake ECR hands out for account 123456789012
ETL = "210987654321.dkr.ecr.us-east-1.amazonaws.com"
ETL_PASSWORD = "210987654321-auth-token"
DATA = "333344445555.dkr.ecr.eu-west-1.amazonaws.com"
ETL_ROLE = "arn:aws:iam::210987654321:role/ecr-push"
DATA_ROLE = "arn:aws:iam::333344445555:role/ecr-read"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
ROLE = kubelet.ROLE_ANNOTATION


# -- the configuration in docs/kubernetes.md ---------------------------------------------------


def docs_yaml() -> list[Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    return [load_yaml(block) for block in blocks]  # strict: a key given twice fails


def docs_config() -> dict[str, Any]:
    (config,) = [doc for doc in docs_yaml() if doc.get("kind") == "CredentialProviderConfig"]
    return dict(config)


def check_provider(provider: dict[str, Any]) -> None:
    """A ``providers[]`` entry the kubelet would accept, aimed at ecrpy."""
    assert set(provider) <= PROVIDER_FIELDS, set(provider) - PROVIDER_FIELDS
    assert provider["name"] == "docker-credential-ecrpy"  # the file name in the bin dir
    assert provider["apiVersion"] in kubelet.API_VERSIONS
    assert provider["args"][:1] == ["kubelet-provider"]
    parse_go_duration(provider["defaultCacheDuration"])  # required by the kubelet
    assert provider["matchImages"] and all(isinstance(p, str) for p in provider["matchImages"])
    for var in provider.get("env", []):
        assert set(var) == {"name", "value"} and all(isinstance(v, str) for v in var.values())
    tokens = provider.get("tokenAttributes")
    if tokens is not None:
        assert set(tokens) <= TOKEN_FIELDS
        assert provider["apiVersion"] == V1  # tokenAttributes needs v1
        assert tokens["serviceAccountTokenAudience"]
        assert isinstance(tokens["requireServiceAccount"], bool)
        assert tokens["cacheType"] in ("ServiceAccount", "Token")
        if tokens.get("requiredServiceAccountAnnotationKeys"):
            assert tokens["requireServiceAccount"] is True


def ecr_hosts() -> list[str]:
    """Every hostname form ecrpy accepts: each service label, suffix and region that fit."""
    hosts = list(PUBLIC_HOSTS)
    for service, (_, dualstack) in SERVICES.items():
        for suffix in DUALSTACK_SUFFIXES if dualstack else IPV4_SUFFIXES:
            for region in REGIONS:
                host = f"{ACCOUNT}.{service}.{region}.{suffix}"
                if parse(host) is not None:
                    hosts.append(host)
    return hosts


def test_the_documented_config_is_one_the_kubelet_accepts() -> None:
    config = docs_config()
    assert config["apiVersion"] == "kubelet.config.k8s.io/v1"
    assert set(config) == {"apiVersion", "kind", "providers"}
    (provider,) = config["providers"]
    check_provider(provider)
    assert "tokenAttributes" not in provider


def test_the_documented_service_account_config_is_one_the_kubelet_accepts() -> None:
    (snippet,) = [doc for doc in docs_yaml() if "kind" not in doc]
    (provider,) = snippet["providers"]
    check_provider(provider)
    tokens = provider["tokenAttributes"]
    assert tokens["serviceAccountTokenAudience"] == "sts.amazonaws.com"
    assert tokens["optionalServiceAccountAnnotationKeys"] == [ROLE]


def test_the_documented_match_images_cover_every_ecr_host_form() -> None:
    patterns = docs_config()["providers"][0]["matchImages"]
    hosts = ecr_hosts()
    assert len(hosts) > 40
    uncovered = [h for h in hosts if not any(urls_match(p, f"{h}/team/app:1") for p in patterns)]
    assert uncovered == []
    for pattern in patterns:  # and no pattern is dead weight
        assert any(urls_match(pattern, f"{host}/app") for host in hosts), pattern
    for image in ("ghcr.io/org/app:1", "docker.io/library/ubuntu", "registry.example.com/x"):
        assert not any(urls_match(p, image) for p in patterns), image
    evil = f"{REGISTRY}.evil.example/app"
    assert not any(urls_match(p, evil) for p in patterns)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def node_cache(tmp_path: Path) -> Path:
    return tmp_path / "var-lib-ecrpy"


@pytest.fixture
def node(env: dict[str, str], fake: FakeAWS, node_cache: Path) -> Kubelet:
    """A kubelet with the documented provider entry; its env moves the cache under the test."""
    provider = copy.deepcopy(docs_config()["providers"][0])
    provider["env"] = [{"name": "AWS_ECR_CACHE_DIR", "value": str(node_cache)}]
    return Kubelet(provider, dict(env))


def web_identity_calls(fake: FakeAWS) -> list[tuple[str, str]]:
    return [
        (r.role_arn, r.access_key)
        for r in fake.requests
        if r.operation == "AssumeRoleWithWebIdentity"
    ]


def one_line(result: Exec) -> str:
    """A failure as the kubelet's log shows it: exit 1, nothing on stdout, one stderr line."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("ecrpy: ")
    assert "Traceback" not in result.stderr
    return result.stderr


# -- golden pairs ------------------------------------------------------------------------------


def normalise(
    stdout: str, answer: dict[str, Any], waited: float, session: float | None = None
) -> str:
    """The response with the password and a fresh token's duration replaced by placeholders.

    ``waited``: the seconds from before the request to after its answer, the window in which the
    token was minted and its remaining life halved (measured, so no allowance for a slow machine);
    ``session``: the life of the AWS session that minted the token, which bounds the token's."""
    text = stdout
    for config in (answer.get("auth") or {}).values():
        assert config["username"] == "AWS" and config["password"]
        text = text.replace(json.dumps(config["password"]), '"<password>"')
    duration = answer["cacheDuration"]
    if duration != "0s":
        cache_for = parse_go_duration(duration)
        usable = min(12 * 3600, session or 12 * 3600)  # a token dies with its session
        # half of a new token's remaining life when answered; +- 1 s: whole seconds, and the Date
        # header that corrects for clock skew has whole seconds too
        assert (usable - waited) / 2 - 1 <= cache_for <= usable / 2 + 1, (duration, waited)
        assert kubelet.go_duration(cache_for) == duration  # spelled as Go spells it
        text = text.replace(f'"cacheDuration":"{duration}"', '"cacheDuration":"<duration>"')
    return text


GOLDEN_CASES = sorted(path.name.split(".")[0] for path in GOLDEN.glob("*.request.json"))


def test_there_is_a_golden_pair_per_api_version() -> None:
    versions = {
        json.loads((GOLDEN / f"{name}.request.json").read_text())["apiVersion"]
        for name in GOLDEN_CASES
    }
    assert versions == {V1, V1BETA1, V1ALPHA1}
    assert all((GOLDEN / f"{name}.response.json").exists() for name in GOLDEN_CASES)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_pair(name: str, node: Kubelet, fake: FakeAWS) -> None:
    request = (GOLDEN / f"{name}.request.json").read_bytes()
    expected = (GOLDEN / f"{name}.response.json").read_text()
    api_version = json.loads(request)["apiVersion"]
    before = time.time()
    result = node.exec(request)
    waited = time.time() - before
    assert result.returncode == 0 and result.stderr == "", result.stderr
    answer = check_response(result.stdout.encode(), api_version)
    session = 3600 if "service-account" in name else None  # STS's default for the pod's role
    assert normalise(result.stdout, answer, waited, session) == expected


# -- the kubelet's view ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "password"),
    [
        (REGISTRY, PASSWORD),
        (f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com", PASSWORD),
        (f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com", PASSWORD),
        (f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn", PASSWORD),
        (f"{ACCOUNT}.dkr.ecr.eusc-de-east-1.amazonaws.eu", PASSWORD),
        (f"{ACCOUNT}.dkr.ecr.us-iso-east-1.c2s.ic.gov", PASSWORD),
        (f"{ACCOUNT}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", PASSWORD),
        (f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws", PASSWORD),
        (f"{ACCOUNT}.dkr-ecr-fips.us-east-1.on.aws", PASSWORD),
        (f"{ACCOUNT}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn", PASSWORD),
        ("public.ecr.aws", f"public-{ACCESS_KEY}-auth-token"),
        ("ecr-public.aws.com", f"public-{ACCESS_KEY}-auth-token"),
    ],
)
def test_every_host_form_gets_credentials_the_keyring_matches(
    node: Kubelet, fake: FakeAWS, host: str, password: str
) -> None:
    image = f"{host}/team/app@sha256:{'0' * 64}"
    assert node.lookup(image) == [("AWS", password)]
    answer = check_response(node.last.stdout.encode(), V1) if node.last else {}
    assert list(answer["auth"]) == [host] and answer["cacheKeyType"] == "Registry"


def test_an_image_with_a_port_is_keyed_with_the_port(node: Kubelet, fake: FakeAWS) -> None:
    """The kubelet compares ports: a key without one (as the Go plugin sends) would not match."""
    node.provider["matchImages"].append("*.dkr.ecr.*.amazonaws.com:443")
    image = f"{REGISTRY}:443/app:1"
    assert node.lookup(image) == [("AWS", PASSWORD)]
    assert not urls_match(REGISTRY, image)
    assert fake.count("GetAuthorizationToken") == 1


def test_the_plugin_answers_within_the_kubelets_timeout(node: Kubelet, fake: FakeAWS) -> None:
    """The driver kills the plugin at the kubelet's exec timeout, so answering is the proof;
    and the plugin's own bound (its alarm plus the hard exit after it) is inside that timeout."""
    assert node.lookup(f"{REGISTRY}/app:1") == [("AWS", PASSWORD)]
    assert kubelet.DEFAULT_TIMEOUT + 5 < EXEC_TIMEOUT


def test_a_warm_request_makes_no_aws_call_and_imports_no_botocore(
    node: Kubelet, fake: FakeAWS
) -> None:
    node.lookup(f"{REGISTRY}/app:1")
    before = len(fake.requests)
    node.environ["PYTHONPROFILEIMPORTTIME"] = "1"  # import times go to stderr
    assert node.lookup(f"{REGISTRY}/other/repo:2") == [("AWS", PASSWORD)]
    assert node.last is not None
    imported = re.findall(r"\|\s+([\w.]+)$", node.last.stderr, re.M)
    assert "credential_helper.tokens" in imported and "json" in imported
    assert not [name for name in imported if name.startswith(("botocore", "boto3", "urllib3"))]
    assert len(fake.requests) == before


def test_docker_and_the_kubelet_share_one_cache(
    helper: Helper, node: Kubelet, env: dict[str, str], fake: FakeAWS, node_cache: Path
) -> None:
    assert helper.get(REGISTRY, {**env, "AWS_ECR_CACHE_DIR": str(node_cache)})["Secret"] == PASSWORD
    assert node.lookup(f"{REGISTRY}/app:1") == [("AWS", PASSWORD)]
    assert fake.count("GetAuthorizationToken") == 1


def test_the_configs_env_reaches_the_plugin(node: Kubelet, fake: FakeAWS, tmp_path: Path) -> None:
    """ECRPY_CONFIG from the provider's env: a cross-account role, assumed with the node's keys."""
    settings = tmp_path / "ecrpy.toml"
    settings.write_text(f'[registries."{ETL}"]\nrole_arn = "{ETL_ROLE}"\n')
    node.provider["env"].append({"name": "ECRPY_CONFIG", "value": str(settings)})
    assert node.lookup(f"{ETL}/etl/job:7") == [("AWS", ETL_PASSWORD)]
    assumed = [(r.role_arn, r.access_key) for r in fake.requests if r.operation == "AssumeRole"]
    assert assumed == [(ETL_ROLE, ACCESS_KEY)]
    ((key, ids),) = ecr_calls(fake)
    assert fake.role_of(key) == ETL_ROLE and ids == ["210987654321"]


def test_aws_ecr_role_arn_is_the_service_accounts_role_when_none_is_annotated(
    node: Kubelet, fake: FakeAWS
) -> None:
    node.provider["env"].append({"name": "AWS_ECR_ROLE_ARN", "value": DATA_ROLE})
    assert node.lookup(f"{DATA}/data/app:1", sa_token()) == [("AWS", "333344445555-auth-token")]
    assert web_identity_calls(fake) == [(DATA_ROLE, "")]
    assert node.lookup(f"{DATA}/data/app:1", sa_token("prod", "x"), {ROLE: ETL_ROLE})
    assert web_identity_calls(fake)[-1] == (ETL_ROLE, "")  # the annotation wins
    assert node.lookup(f"{REGISTRY}/app:1") == [("AWS", PASSWORD)]  # no token: the node's own
    assert fake.count("AssumeRole") == 0 and ecr_calls(fake)[-1] == (ACCESS_KEY, [ACCOUNT])


def test_a_malformed_aws_ecr_role_arn_is_one_stderr_line(node: Kubelet, fake: FakeAWS) -> None:
    node.provider["env"].append({"name": "AWS_ECR_ROLE_ARN", "value": "ecr-push"})
    with pytest.raises(PluginError):
        node.lookup(f"{ETL}/etl/job:7", sa_token())
    assert node.last is not None
    assert one_line(node.last).strip() == (
        "ecrpy: AWS_ECR_ROLE_ARN is not an IAM role ARN "
        "(arn:aws:iam::<account>:role/<name>): 'ecr-push'"
    )
    assert fake.requests == []


def test_an_alias_of_the_settings_is_keyed_by_the_alias(
    node: Kubelet, fake: FakeAWS, tmp_path: Path
) -> None:
    settings = tmp_path / "ecrpy.toml"
    settings.write_text(f'[aliases]\n"mirror.corp.example:5000" = "{REGISTRY}"\n')
    node.provider["env"].append({"name": "ECRPY_CONFIG", "value": str(settings)})
    node.provider["matchImages"].append("mirror.corp.example:5000")
    image = "mirror.corp.example:5000/team/app:1"
    assert node.lookup(image) == [("AWS", PASSWORD)]
    assert node.last is not None
    assert list(json.loads(node.last.stdout)["auth"]) == ["mirror.corp.example:5000"]
    assert ecr_calls(fake) == [(ACCESS_KEY, [ACCOUNT])]
    assert node.lookup(f"{REGISTRY}/team/app:1") == [("AWS", PASSWORD)]
    assert fake.count("GetAuthorizationToken") == 1  # one token, whichever name asks


# -- images that are not ECR -------------------------------------------------------------------


def test_a_matched_image_that_is_not_ecr_gets_no_credentials_and_no_cache(
    node: Kubelet, fake: FakeAWS
) -> None:
    image = (
        "abcdefghijkl.dkr.ecr.us-east-1.amazonaws.com/app:1"  # matches *.dkr.ecr.*.amazonaws.com
    )
    assert node.allowed(image)
    answer = node.provide(image)
    assert answer["auth"] == {} and answer["cacheDuration"] == "0s"  # the kubelet caches nothing
    assert node.lookup(image) == []
    assert node.last is not None and node.last.stderr == ""
    assert fake.requests == []


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/org/app:1",
        "ubuntu",
        "ubuntu:22.04",
        "docker.io/library/ubuntu@sha256:" + "1" * 64,
        "localhost:5000/app",
        "[::1]:5000/app",
        f"{REGISTRY}.evil.example/app",
        f"user@{REGISTRY}/app",
        f"{REGISTRY}:https/app",
    ],
)
def test_images_that_are_not_ecr_get_an_empty_answer(
    node: Kubelet, fake: FakeAWS, image: str
) -> None:
    result = node.exec(node.request(image))
    assert result.returncode == 0 and result.stderr == ""
    answer = check_response(result.stdout.encode(), V1)
    assert answer["auth"] == {} and answer["cacheDuration"] == "0s"
    assert fake.requests == []


def test_ecr_public_without_aws_credentials_is_pulled_anonymously(
    node: Kubelet, fake: FakeAWS
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        del node.environ[name]
    answer = node.provide("public.ecr.aws/docker/library/alpine:3")
    assert answer["auth"] == {} and answer["cacheDuration"] == "0s"


# -- failures ----------------------------------------------------------------------------------


def _request(**fields: Any) -> bytes:
    body: dict[str, Any] = {
        "kind": "CredentialProviderRequest",
        "apiVersion": V1,
        "image": f"{REGISTRY}/app:1",
    }
    for name, value in fields.items():
        if value is None:
            del body[name]
        else:
            body[name] = value
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("stdin", "words"),
    [
        pytest.param(b"junk\n", "not JSON", id="junk"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b"\xff\xfe{}", "not JSON", id="not-utf-8"),
        pytest.param(b"[" * 100_000, "not JSON", id="deep-nesting"),
        pytest.param(b'["image"]', "not a JSON object", id="array"),
        pytest.param(_request(kind="CredentialProviderResponse"), "kind", id="wrong-kind"),
        pytest.param(_request(kind=None), "kind is none", id="no-kind"),
        pytest.param(_request(apiVersion=f"{GROUP}/v2"), "unsupported apiVersion", id="v2"),
        pytest.param(_request(apiVersion="v1"), "unsupported apiVersion", id="other-group"),
        pytest.param(_request(apiVersion=None), "apiVersion none", id="no-apiVersion"),
        pytest.param(_request(image=None), "no image", id="no-image"),
        pytest.param(_request(image="  "), "no image", id="blank-image"),
        pytest.param(_request(image=42), "no image", id="image-not-a-string"),
        pytest.param(_request(serviceAccountToken=7), "serviceAccountToken", id="bad-token"),
        pytest.param(
            _request(serviceAccountAnnotations=["x"]), "serviceAccountAnnotations", id="bad-notes"
        ),
        pytest.param(b" " * (kubelet.MAX_REQUEST + 1), "larger than", id="too-large"),
    ],
)
def test_a_malformed_request_is_one_stderr_line(
    node: Kubelet, fake: FakeAWS, stdin: bytes, words: str
) -> None:
    assert words in one_line(node.exec(stdin))
    assert fake.requests == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["kubelet-provider", "--verbose"], "unexpected argument '--verbose'"),
        (["kubelet-provider", "--timeout", "soon"], "--timeout must be a number"),
        (["kubelet-provider", "--timeout=0"], "--timeout must be a number"),
    ],
)
def test_a_bad_argument_in_the_config_is_one_stderr_line(
    node: Kubelet, fake: FakeAWS, args: list[str], words: str
) -> None:
    node.provider["args"] = args
    assert words in one_line(node.exec(node.request(f"{REGISTRY}/app:1")))


@pytest.mark.parametrize("cache", ["on", "off"])
def test_ecr_refusing_is_one_stderr_line_naming_the_registry(
    node: Kubelet, fake: FakeAWS, cache: str
) -> None:
    """With the cache off there is no log file either: its records must not reach stderr."""
    if cache == "off":
        node.provider["env"].append({"name": "AWS_ECR_DISABLE_CACHE", "value": "1"})
    fake.add_fault(
        Fault(operation="GetAuthorizationToken", code="AccessDeniedException", message="nope")
    )
    with pytest.raises(PluginError):
        node.lookup(f"{REGISTRY}/app:1")
    assert node.last is not None
    line = one_line(node.last)
    assert REGISTRY in line and "AccessDeniedException: nope" in line
    assert SECRET_KEY not in line


def test_a_hung_aws_call_ends_within_the_timeout(node: Kubelet, fake: FakeAWS) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=20))
    node.provider["args"] = ["kubelet-provider", "--timeout", "2"]
    result = node.exec(node.request(f"{REGISTRY}/app:1"))
    assert "gave up after 2 s" in one_line(result)  # its own alarm ended it, not the kubelet


# -- service-account tokens (KEP-4412) ---------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sa_token(namespace: str = "build", name: str = "puller", pod: str = "app-1") -> str:
    """A token shaped like the kubelet's (claims of a bound token); the fake STS does not verify."""
    now = int(time.time())
    claims = {
        "aud": ["sts.amazonaws.com"],
        "exp": now + 3600,
        "iat": now,
        "iss": ISSUER,
        "jti": f"jti-{pod}",
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": pod, "uid": f"uid-of-{pod}"},
            "serviceaccount": {"name": name, "uid": f"uid-of-{namespace}-{name}"},
        },
        "nbf": now,
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    return f"{_b64({'alg': 'RS256', 'kid': 'k1'})}.{_b64(claims)}.c2lnbmF0dXJlLW9mLXtwb2R9"


def test_a_service_account_pulls_with_its_annotated_role(node: Kubelet, fake: FakeAWS) -> None:
    notes = {ROLE: ETL_ROLE}
    token = sa_token(pod="app-1")
    assert node.lookup(f"{ETL}/etl/job:7", token, notes) == [("AWS", ETL_PASSWORD)]
    assert node.last is not None and token not in node.last.stderr + node.last.stdout
    assert web_identity_calls(fake) == [(ETL_ROLE, "")]  # unsigned: no node credentials
    ((key, ids),) = ecr_calls(fake)
    assert fake.role_of(key) == ETL_ROLE and ids == ["210987654321"]
    assert fake.count("AssumeRole") == 0 and fake.count("GetAuthorizationToken", ACCESS_KEY) == 0
    before = len(fake.requests)
    for pod in ("app-2", "app-3"):  # other pods of the account, each with a token of its own
        assert node.lookup(f"{ETL}/etl/other:1", sa_token(pod=pod), notes) == [
            ("AWS", ETL_PASSWORD)
        ]
    assert len(fake.requests) == before  # warm: no STS and no ECR call


def test_service_accounts_and_roles_do_not_share_tokens(node: Kubelet, fake: FakeAWS) -> None:
    image = f"{ETL}/etl/job:7"
    node.lookup(image, sa_token("build", "puller"), {ROLE: ETL_ROLE})
    node.lookup(image, sa_token("build", "other"), {ROLE: ETL_ROLE})
    node.lookup(image, sa_token("prod", "puller"), {ROLE: ETL_ROLE})
    node.lookup(image, sa_token("build", "puller"), {ROLE: DATA_ROLE})
    node.lookup(image)  # the node's own identity
    assert [role for role, _ in web_identity_calls(fake)] == [ETL_ROLE] * 3 + [DATA_ROLE]
    keys = [key for key, _ in ecr_calls(fake)]
    assert len(keys) == 5 and keys[-1] == ACCESS_KEY
    assert [fake.role_of(key) for key in keys[:4]] == [ETL_ROLE] * 3 + [DATA_ROLE]


def test_without_an_annotation_the_role_comes_from_ecrpys_settings(
    node: Kubelet, fake: FakeAWS, tmp_path: Path
) -> None:
    settings = tmp_path / "ecrpy.toml"
    settings.write_text(f'[registries."333344445555"]\nrole_arn = "{DATA_ROLE}"\n')
    node.provider["env"].append({"name": "ECRPY_CONFIG", "value": str(settings)})
    assert node.lookup(f"{DATA}/data/app:1", sa_token()) == [("AWS", "333344445555-auth-token")]
    assert web_identity_calls(fake) == [(DATA_ROLE, "")]
    assert fake.count("AssumeRole") == 0  # the pod's token, not the node's keys, assumes it
    ((key, _),) = ecr_calls(fake)
    assert fake.role_of(key) == DATA_ROLE


def test_a_token_without_a_role_pulls_with_the_nodes_identity(node: Kubelet, fake: FakeAWS) -> None:
    assert node.lookup(f"{REGISTRY}/app:1", sa_token()) == [("AWS", PASSWORD)]
    assert web_identity_calls(fake) == [] and ecr_calls(fake) == [(ACCESS_KEY, [ACCOUNT])]


def test_sts_refusing_the_token_is_one_line_naming_role_and_registry(
    node: Kubelet, fake: FakeAWS
) -> None:
    fake.add_fault(
        Fault(
            operation="AssumeRoleWithWebIdentity",
            role_arn=ETL_ROLE,
            code="AccessDenied",
            message="Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
    )
    token = sa_token()
    result = node.exec(node.request(f"{ETL}/etl/job:7", token, {ROLE: ETL_ROLE}))
    line = one_line(result)
    assert f"could not assume role {ETL_ROLE}" in line and ETL in line
    assert "AccessDenied: Not authorized" in line and token not in line
    assert ecr_calls(fake) == []


@pytest.mark.parametrize(
    ("token", "notes", "words"),
    [
        (sa_token(), {ROLE: "ecr-push"}, "is not an IAM role ARN"),
        ("not-a-jwt", {ROLE: ETL_ROLE}, "is not a JWT"),
        (f"a.{_b64({'iss': ISSUER})}.c", {ROLE: ETL_ROLE}, "no issuer or service account"),
    ],
)
def test_an_unusable_service_account_request_is_one_line(
    node: Kubelet, fake: FakeAWS, token: str, notes: dict[str, str], words: str
) -> None:
    assert words in one_line(node.exec(node.request(f"{ETL}/etl/job:7", token, notes)))
    assert fake.requests == []


# -- the pure parts, in-process ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-5, "0s"),
        (0.9, "0s"),
        (59, "59s"),
        (60, "1m0s"),
        (3599, "59m59s"),
        (3600, "1h0m0s"),
        (21570, "5h59m30s"),
        (21600.7, "6h0m0s"),
        (43200, "12h0m0s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert kubelet.go_duration(seconds) == text
    assert parse_go_duration(text) == max(0, int(seconds))


@pytest.mark.parametrize(
    ("image", "key", "host"),
    [
        (f"{REGISTRY}/app:1", REGISTRY, REGISTRY),
        (f"{REGISTRY}:443/app", f"{REGISTRY}:443", REGISTRY),
        (f"{REGISTRY.upper()}/app", REGISTRY.upper(), REGISTRY),
        (f"{REGISTRY}./app", f"{REGISTRY}.", REGISTRY),
        (f"{REGISTRY}/a/b/c@sha256:{'f' * 64}", REGISTRY, REGISTRY),
        ("ubuntu", "ubuntu", "ubuntu"),
        ("ubuntu:22.04", "ubuntu:22.04", None),
        (f"user@{REGISTRY}/app", f"user@{REGISTRY}", None),
    ],
)
def test_image_registry_splits_as_the_kubelet_does(image: str, key: str, host: str | None) -> None:
    assert kubelet.image_registry(image) == (key, host)


def test_service_account_from_claims_or_subject() -> None:
    account = kubelet.service_account(sa_token("ns", "sa"))
    assert (account.issuer, account.namespace, account.name) == (ISSUER, "ns", "sa")
    assert account.uid == "uid-of-ns-sa"
    bare = f"h.{_b64({'iss': ISSUER, 'sub': 'system:serviceaccount:ns2:sa2'})}.s"
    account = kubelet.service_account(bare)
    assert (account.namespace, account.name, account.uid) == ("ns2", "sa2", "")
    with pytest.raises(kubelet.RequestError):
        kubelet.service_account(f"h.{_b64({'iss': ISSUER, 'sub': 'user:alice'})}.s")


def test_a_request_never_shows_its_token() -> None:
    token = sa_token()
    request = kubelet.parse_request(_request(serviceAccountToken=token))
    assert request.token == token and token not in repr(request)


def test_unknown_request_fields_are_ignored() -> None:
    """A newer kubelet may send more; the plugin must not fail every pull because of it."""
    request = kubelet.parse_request(_request(somethingNew={"x": 1}))
    assert request.image == f"{REGISTRY}/app:1" and request.api_version == V1
