"""The ECR hostname grammar: which hostnames name a registry, and which account/region/partition."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential_helper import registry
from credential_helper.registry import Registry

ACCOUNT = "123456789012"

# suffix -> partition, as AWS publishes them; the test's own copy of the grammar
IPV4_SUFFIXES = {
    "amazonaws.com": "aws",
    "amazonaws.com.cn": "aws-cn",
    "amazonaws.eu": "aws-eusc",
    "c2s.ic.gov": "aws-iso",
    "sc2s.sgov.gov": "aws-iso-b",
    "cloud.adc-e.uk": "aws-iso-e",
    "csp.hci.ic.gov": "aws-iso-f",
}
DUALSTACK_SUFFIXES = {
    "on.aws": "aws",
    "on.amazonwebservices.com.cn": "aws-cn",
    "on.amazonwebservices.eu": "aws-eusc",
    "on.aws.ic.gov": "aws-iso",
    "on.aws.scloud": "aws-iso-b",
    "on.cloud-aws.adc-e.uk": "aws-iso-e",
    "on.aws.hci.ic.gov": "aws-iso-f",
}
SERVICES = {
    # service label(s) -> (fips, dualstack)
    "dkr.ecr": (False, False),
    "dkr.ecr-fips": (True, False),
    "dkr-ecr": (False, True),
    "dkr-ecr-fips": (True, True),
}
PUBLIC_HOSTS = ("public.ecr.aws", "ecr-public.aws.com")
# a real region of each partition -> that partition
REGIONS = {
    "us-east-1": "aws",
    "eu-west-1": "aws",
    "ap-southeast-2": "aws",
    "cn-north-1": "aws-cn",
    "us-gov-west-1": "aws-us-gov",
    "us-iso-east-1": "aws-iso",
    "us-isob-east-1": "aws-iso-b",
    "eu-isoe-west-1": "aws-iso-e",
    "us-isof-south-1": "aws-iso-f",
    "eusc-de-east-1": "aws-eusc",
}

# host, account, region, partition, fips, dualstack, public
ACCEPTED: list[tuple[str, str | None, str, str, bool, bool, bool]] = [
    (
        f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
        ACCOUNT,
        "us-east-1",
        "aws",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
        ACCOUNT,
        "eu-west-1",
        "aws",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.ap-southeast-2.amazonaws.com",
        ACCOUNT,
        "ap-southeast-2",
        "aws",
        False,
        False,
        False,
    ),
    (
        "000000000000.dkr.ecr.us-east-1.amazonaws.com",
        "000000000000",
        "us-east-1",
        "aws",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn",
        ACCOUNT,
        "cn-north-1",
        "aws-cn",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com",
        ACCOUNT,
        "us-gov-west-1",
        "aws-us-gov",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com",
        ACCOUNT,
        "us-east-1",
        "aws",
        True,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        ACCOUNT,
        "us-gov-west-1",
        "aws-us-gov",
        True,
        False,
        False,
    ),
    (f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws", ACCOUNT, "us-east-1", "aws", False, True, False),
    (f"{ACCOUNT}.dkr-ecr-fips.us-east-1.on.aws", ACCOUNT, "us-east-1", "aws", True, True, False),
    (
        f"{ACCOUNT}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
        ACCOUNT,
        "cn-north-1",
        "aws-cn",
        False,
        True,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.us-iso-east-1.c2s.ic.gov",
        ACCOUNT,
        "us-iso-east-1",
        "aws-iso",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
        ACCOUNT,
        "us-isob-east-1",
        "aws-iso-b",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
        ACCOUNT,
        "eu-isoe-west-1",
        "aws-iso-e",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
        ACCOUNT,
        "us-isof-south-1",
        "aws-iso-f",
        False,
        False,
        False,
    ),
    (
        f"{ACCOUNT}.dkr.ecr.eusc-de-east-1.amazonaws.eu",
        ACCOUNT,
        "eusc-de-east-1",
        "aws-eusc",
        False,
        False,
        False,
    ),
    ("public.ecr.aws", None, "us-east-1", "aws", False, False, True),
    ("ecr-public.aws.com", None, "us-east-1", "aws", False, False, True),
]

REJECTED = [
    # look-alikes
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil.example",
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.",
    "public.ecr.aws.evil.example",
    "evilpublic.ecr.aws",
    "x.public.ecr.aws",
    "ecr-public.aws.com.evil.example",
    f"x.{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1.evil-amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil",
    f"{ACCOUNT}.dkr.ecr.us-east-1.on.aws.evil.example",
    f"{ACCOUNT}.dkr.evil.us-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.ecr.us-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1..amazonaws.com",
    f"{ACCOUNT}..dkr.ecr.us-east-1.amazonaws.com",
    # account ids: exactly twelve ASCII digits
    "12345678901.dkr.ecr.us-east-1.amazonaws.com",
    "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
    "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
    "abcdefghijkl.dkr.ecr.us-east-1.amazonaws.com",
    "-12345678901.dkr.ecr.us-east-1.amazonaws.com",
    "\uff11" * 12 + ".dkr.ecr.us-east-1.amazonaws.com",  # fullwidth digits
    "\u0661" * 12 + ".dkr.ecr.us-east-1.amazonaws.com",  # Arabic-Indic digits
    "dkr.ecr.us-east-1.amazonaws.com",
    # region and suffix from different partitions
    f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.cn",
    f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com.cn",
    f"{ACCOUNT}.dkr.ecr.us-iso-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1.c2s.ic.gov",
    f"{ACCOUNT}.dkr.ecr.eusc-de-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.eu",
    f"{ACCOUNT}.dkr-ecr.us-east-1.on.amazonwebservices.com.cn",
    # dual-stack label with an IPv4 suffix, and the other way round
    f"{ACCOUNT}.dkr-ecr.us-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr-ecr-fips.us-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1.on.aws",
    f"{ACCOUNT}.dkr.ecr-fips.us-east-1.on.aws",
    # bad regions (parse() expects an already lowercase host)
    f"{ACCOUNT}.dkr.ecr.us-east.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.useast1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.US-EAST-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr..amazonaws.com",
    f"{ACCOUNT}.DKR.ECR.us-east-1.amazonaws.com",
    f"{ACCOUNT}.dkr.ecr.us-east-1.AMAZONAWS.COM",
    "PUBLIC.ECR.AWS",
    # not ECR registries at all
    "",
    ".",
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "ghcr.io",
    "localhost",
    "localhost:5000",
    "127.0.0.1",
    "ecr.us-east-1.amazonaws.com",
    "api.ecr.us-east-1.amazonaws.com",
    "api.ecr-public.us-east-1.amazonaws.com",
    # not normalised: port, scheme, trailing dot are the caller's job
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:443",
    f"https://{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
    "public.ecr.aws.",
]


def fields(found: Registry) -> tuple[str | None, str, str, bool, bool, bool]:
    return (
        found.account,
        found.region,
        found.partition,
        found.fips,
        found.dualstack,
        found.public,
    )


@pytest.mark.parametrize(
    ("host", "account", "region", "partition", "fips", "dualstack", "public"), ACCEPTED
)
def test_parse_accepts(
    host: str,
    account: str | None,
    region: str,
    partition: str,
    fips: bool,
    dualstack: bool,
    public: bool,
) -> None:
    found = registry.parse(host)
    assert found is not None, host
    assert found.host == host
    assert fields(found) == (account, region, partition, fips, dualstack, public)


@pytest.mark.parametrize("host", REJECTED)
def test_parse_rejects(host: str) -> None:
    assert registry.parse(host) is None


def test_registries_compare_by_value() -> None:
    host = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
    first, second = registry.parse(host), registry.parse(host)
    other = registry.parse(f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com")
    assert first == second
    assert hash(first) == hash(second)
    assert first != other
    assert len({first, second, other}) == 2
    assert ACCOUNT in repr(first)
    assert "us-east-1" in repr(first)


@pytest.mark.parametrize(
    "name",
    [
        "us-east-1",
        "eu-west-1",
        "ap-southeast-2",
        "me-central-1",
        "cn-north-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "us-isof-south-1",
        "eusc-de-east-1",
        "ap-southeast-10",
    ],
)
def test_is_region_accepts(name: str) -> None:
    assert registry.is_region(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x",
        "us-east",
        "useast1",
        "US-EAST-1",
        "us-East-1",
        "us-east-",
        "-east-1",
        "us--1",
        "us-east-a",
        "us-east-123",
        "u-east-1",
        "useast-north-1",
        "us-east-1 ",
        " us-east-1",
        "us-east-1.",
        "us_east-1",
        "us-east-\u0661",  # a digit, but not an ASCII one
        "us-eäst-1",
        "us-east-+1",
    ],
)
def test_is_region_rejects(name: str) -> None:
    assert not registry.is_region(name)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(host: str) -> None:
    found = registry.parse(host)
    assert found is None or found.host == host


# Near-misses: real registry hostnames with some of their pieces swapped for other real pieces or
# for garbage, so that a good share of them parse and the rest fail in every possible place.
_GARBAGE = st.text(alphabet="0123456789abcdefkrc-.", max_size=14)


def _piece(draw: st.DrawFn, real: str, alternatives: st.SearchStrategy[str]) -> str:
    return real if draw(st.integers(0, 3)) else draw(st.one_of(alternatives, _GARBAGE))


@st.composite
def _near_misses(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)) == 0:
        host = draw(st.sampled_from(PUBLIC_HOSTS))
    else:
        region = draw(st.sampled_from(sorted(REGIONS)))
        service = draw(st.sampled_from(sorted(SERVICES)))
        home = REGIONS[region]
        home = "aws" if home == "aws-us-gov" else home
        table = DUALSTACK_SUFFIXES if SERVICES[service][1] else IPV4_SUFFIXES
        suffix = next(name for name, partition in table.items() if partition == home)
        all_suffixes = sorted(IPV4_SUFFIXES) + sorted(DUALSTACK_SUFFIXES)
        host = ".".join(
            (
                _piece(draw, ACCOUNT, st.text(alphabet="0123456789", min_size=11, max_size=13)),
                _piece(draw, service, st.sampled_from(sorted(SERVICES))),
                _piece(draw, region, st.sampled_from(sorted(REGIONS))),
                _piece(draw, suffix, st.sampled_from(all_suffixes)),
            )
        )
    before = _piece(draw, "", st.sampled_from([".", "x.", "x", "1"]))
    after = _piece(draw, "", st.sampled_from([".", ".evil", "x", ".cn"]))
    return before + host + after


@settings(max_examples=500, deadline=None)
@given(_near_misses())
def test_accepted_hosts_follow_the_grammar(host: str) -> None:
    found = registry.parse(host)
    if found is None:
        return
    assert found.host == host
    if found.public:
        assert host in PUBLIC_HOSTS
        assert (found.account, found.region, found.partition) == (None, "us-east-1", "aws")
        return
    assert host[:12].isascii() and host[:12].isdigit() and host[12] == "."
    assert found.account == host[:12]
    service = {flags: label for label, flags in SERVICES.items()}[(found.fips, found.dualstack)]
    suffixes = DUALSTACK_SUFFIXES if found.dualstack else IPV4_SUFFIXES
    suffix = host[len(f"{found.account}.{service}.{found.region}.") :]
    assert host == f"{found.account}.{service}.{found.region}.{suffix}"
    assert suffix in suffixes, host
    assert registry.is_region(found.region)
    if found.partition == "aws-us-gov":
        assert found.region.startswith("us-gov-") and suffixes[suffix] == "aws"
    else:
        assert found.partition == suffixes[suffix]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(REGIONS)),
    st.sampled_from(sorted(SERVICES)),
    st.text(alphabet="0123456789", min_size=12, max_size=12),
)
def test_a_region_parses_under_its_own_partition_suffixes_only(
    region: str, service: str, account: str
) -> None:
    fips, dualstack = SERVICES[service]
    home = REGIONS[region]
    suffix_home = "aws" if home == "aws-us-gov" else home  # GovCloud uses the commercial DNS
    suffixes = DUALSTACK_SUFFIXES if dualstack else IPV4_SUFFIXES
    for suffix, partition in suffixes.items():
        host = f"{account}.{service}.{region}.{suffix}"
        found = registry.parse(host)
        if partition != suffix_home:
            assert found is None, host
            continue
        assert found is not None, host
        assert fields(found) == (account, region, home, fips, dualstack, False)
