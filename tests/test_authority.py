"""The server-URL authority rule: only the host a URL's authority names can ever get a token.

A client that builds the server URL from an image reference it does not control would send the
token to the host the URL parser connects to. So the host that counts is the authority as a URL
parser reads it (and as Docker's ``registry.ConvertToHostname`` reads the forms Docker sends);
everything after it, and anything readers could disagree on, names no registry.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential_helper import cli, protocol
from credential_helper.protocol import HelperError
from fakeaws.server import FakeAWS
from tests.conftest import Helper
from tests.test_hostile import _ECR
from tests.url_oracle import url_parser_host

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
OTHER_ECR = "210987654321.dkr.ecr.us-west-2.amazonaws.com"


NO_SETTINGS = {"ECRPY_CONFIG": "/nonexistent/ecrpy/config.toml"}  # so no alias is listed


def served(url: str) -> str | None:
    """The registry ``get`` would fetch a token for (the CLI's own decision), or None."""
    try:
        return cli._registry(url, url.encode(), NO_SETTINGS).host
    except cli.OtherRegistry:  # another registry's request: never an ECR token
        return None
    except HelperError as exc:
        assert exc.message == protocol.NOT_FOUND
        return None


# -- independent readers of a URL's host: the oracle ---------------------------------------------


def convert_to_hostname(url: str) -> str:
    """Docker's ``registry.ConvertToHostname``: trim ``http://``/``https://``, cut at ``/``."""
    for scheme in ("http://", "https://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
            break
    return url.split("/", 1)[0]


def check_authority_rule(url: str) -> None:
    """If ``get`` would serve ``url``, every reader reads that very ECR host from it."""
    host = served(url)
    if host is None:
        return
    assert _ECR.fullmatch(host), (url, host)
    for backslash_is_slash in (False, True):
        assert url_parser_host(url, backslash_is_slash) == host, (url, host)


# -- what clients send ---------------------------------------------------------------------------

# Forms the Docker CLI (credHelpers lookups, docker login), containerd/nerdctl and BuildKit (the
# registry host), podman/buildah/skopeo (containers/image: the registry, maybe with port), the
# Docker SDK and docker-compose (hostname or https URL) and go-containerregistry send.
SENT_BY_CLIENTS = [
    ECR,
    f"{ECR}:443",
    f"https://{ECR}",
    f"https://{ECR}/",
    f"https://{ECR}/v2/",
    f"https://{ECR}/v1/",
    f"http://{ECR}",
    f"https://{ECR}:443/v2/",
    f"{ECR}/v2/",
    f"{ECR}.",
    f"https://{ECR}./",
    ECR.upper(),
    f"https://{ECR.upper()}/V2/",
    f"{ECR}\n",
    f"https://user:p%40ss@{ECR}/v2/",
    f"{ECR}?x#y",
    f"{ECR}:65535",
    f"https://evil.example%2f@{ECR}",  # percent-encoded userinfo: every parser reads ECR's host
]


@pytest.mark.parametrize("url", SENT_BY_CLIENTS)
def test_every_form_clients_send_is_served(url: str) -> None:
    assert served(url) == ECR
    check_authority_rule(url)
    if "?" not in url and "@" not in url:  # where Docker's reading gives a host, it is this one
        assert protocol.hostname(convert_to_hostname(url.strip())) == ECR


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://index.docker.io/v1/", "index.docker.io"),  # Docker Hub, as the docker CLI asks
        ("registry-1.docker.io", "registry-1.docker.io"),
        ("localhost:5000", "localhost"),
        ("ghcr.io", "ghcr.io"),
        ("https://[::1]:5000/v2/", "[::1]"),
    ],
)
def test_other_registries_reduce_to_their_host_and_are_not_served(url: str, host: str) -> None:
    assert protocol.hostname(url) == host
    assert served(url) is None


ATTACKS = [
    # from the issue: ECR named after the authority's end
    f"evil.example#https://{ECR}",
    f"127.0.0.1/https://{OTHER_ECR}",
    f"https://attacker.test\\@{OTHER_ECR}",
    f"[::1]/?next=https://{ECR}",
    f"evil.example/x://{ECR}",
    # the same class, other separators
    f"evil.example?https://{ECR}",
    f"evil.example?x=1&u=https://{ECR}/v2/",
    f"https://evil.example#@{ECR}",
    f"evil.example:443/https://{ECR}",
    f"evil.example://{ECR}",
    f"evil.example:x://{ECR}",
    f"ftp://{ECR}",
    f"docker://{ECR}",
    f"HTTPS://{ECR}",  # ConvertToHostname does not strip it: readers disagree
    f"//{ECR}",
    f"http://https://{ECR}",
    f"https://evil.example\\{ECR}",
    f"https://{ECR}\\@evil.example",
    f"{ECR}\\",
    f"https://{ECR}@evil.example",
    # characters that are not a hostname's
    f"https://u p@{ECR}",
    f"https://\x00@{ECR}",
    f"https://evil.example\u2215@{ECR}",  # DIVISION SLASH, a look-alike of /
    f"https://u\u00e9@{ECR}",
    f"{ECR}\x00",
    f"{ECR} evil",
    f"{ECR}\tevil",
    f"{ECR}:",
    f"{ECR}:x",
    f"{ECR}:443:443",
    f"{ECR}:65536",  # no port: a URL parser refuses it
    f"u:p@{ECR}:44367890/v2/",
    f"{ECR}:\u0664\u0664\u0663",  # ARABIC-INDIC digits: str.isdigit() says yes
    f"{ECR}..",
    f"{ECR}%2e",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com%2Fevil",
    # non-ASCII look-alikes: not-found before any case folding
    "https://210987654321.d\u212ar.ecr.us-west-2.amazonaws.com",  # KELVIN SIGN
    "210987654321.dkr.ecr.us-west-2.amazonaws.\u0441om",  # CYRILLIC SMALL LETTER ES
    "\uff11" * 12 + ".dkr.ecr.us-east-1.amazonaws.com",  # FULLWIDTH DIGIT ONE
    "123456789012.dkr.ecr.us-east-1.amazonaws.com\u3002",  # IDEOGRAPHIC FULL STOP
    "public.ecr.\u0430ws",
    "PUBLIC.ECR.AW\u017f",  # LATIN SMALL LETTER LONG S, upper() is S
]


@pytest.mark.parametrize("url", ATTACKS)
def test_no_token_for_a_url_whose_authority_is_not_ecr(url: str) -> None:
    assert served(url) is None


def test_the_issue_examples_get_not_found_and_make_no_request(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    for url in [*ATTACKS[:5], "https://210987654321.d\u212ar.ecr.us-west-2.amazonaws.com"]:
        result = helper.run("get", stdin=url, env=env)
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            protocol.NOT_FOUND + "\n",
            "",
        ), url
    assert fake.requests == []


def test_a_served_url_is_echoed_without_its_userinfo(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    result = helper.run("get", stdin=f"https://AWS:hunter2@{ECR}/v2/?a=b@c", env=env)
    assert json.loads(result.stdout)["ServerURL"] == f"https://{ECR}/v2/?a=b@c"


# -- properties ----------------------------------------------------------------------------------

# Pieces of server URLs: schemes, userinfo, hosts, ports, what ends the authority, and what comes
# after it, including ECR names in every place except the authority's host.
SCHEMES = ["", "https://", "http://", "HTTPS://", "ftp://", "//", "evil.example://", "x:"]
USERINFO = ["", "u:p@", "evil.example@", "evil.example\\@", "u p@", f"{ECR}@", "\u212a@"]
HOSTS = [
    ECR,
    ECR.upper(),
    "123456789012.d\u212ar.ecr.us-east-1.amazonaws.com",
    "evil.example",
    "127.0.0.1",
    "[::1]",
    f"{ECR}.evil.example",
    "public.ecr.aws",
]
PORTS = ["", ":443", ":", ":x", ":\u0661", ":5000", "."]
SEPARATORS = ["", "/", "?", "#", "\\", " ", "\t", "\x00", "%2f", "@", "/x://", "#https://", "/?n="]
TAILS = ["", ECR, f"https://{ECR}", f"{ECR}/v2/", "v2/"]


def pieced_urls() -> itertools.product[tuple[str, ...]]:
    return itertools.product(SCHEMES, USERINFO, HOSTS, PORTS, SEPARATORS, TAILS)


def test_every_combination_of_url_pieces_follows_the_authority_rule() -> None:
    """All 8 x 7 x 8 x 7 x 13 x 5 = 203,840 combinations, exhaustively."""
    count = 0
    for pieces in pieced_urls():
        check_authority_rule("".join(pieces))
        count += 1
    assert count == 203_840


_pieced = st.tuples(*(st.sampled_from(p) for p in (SCHEMES, USERINFO, HOSTS, PORTS))).map("".join)


@settings(max_examples=1500, deadline=None)
@given(
    st.tuples(
        _pieced,
        st.text(max_size=12),  # anything at all, where the authority might end
        st.sampled_from(SEPARATORS),
        st.one_of(st.sampled_from(TAILS), st.text(max_size=20)),
    ).map("".join)
)
def test_no_input_whose_authority_is_not_ecr_gets_credentials(url: str) -> None:
    check_authority_rule(url)


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=80))
def test_no_text_at_all_gets_credentials_for_a_host_it_does_not_name(url: str) -> None:
    check_authority_rule(url)


@pytest.mark.parametrize(
    "image",
    [
        "210987654321.d\u212ar.ecr.us-west-2.amazonaws.com/app:1",
        "210987654321.dkr.ecr.us-west-2.amazonaws.com:\u0664\u0664\u0663/app",
        "evil.example#210987654321.dkr.ecr.us-west-2.amazonaws.com/app",
        "210987654321.dkr.ecr.us-west-2.amazonaws.com\\evil/app",
    ],
)
def test_the_kubelet_provider_reads_an_image_s_registry_by_the_same_rule(image: str) -> None:
    from credential_helper.commands import kubelet

    _key, host = kubelet.image_registry(image)
    assert host is None or served(host) is None


def test_a_password_in_an_unusable_server_url_is_never_echoed(
    helper: Helper, env: dict[str, str]
) -> None:
    payload = json.dumps(
        {"ServerURL": "https://u:hunter22@evil\\x", "Username": "u", "Secret": "s"}
    )
    result = helper.run("store", stdin=payload, env=env)
    assert result.returncode == 1 and "'https://evil\\\\x' names no registry host" in result.stdout
    assert "hunter22" not in result.stdout + result.stderr
