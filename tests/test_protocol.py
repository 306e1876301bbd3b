"""Docker's credential-helper protocol: parsing what comes in, encoding what goes out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential_helper import protocol, registry
from credential_helper.protocol import Credentials, HelperError

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
SECRET = "eyJwYXlsb2FkIjoic2VjcmV0LXRva2VuLXZhbHVlIn0="
NOT_AN_OBJECT = "store expects a JSON object with ServerURL, Username and Secret"
NOT_STRINGS = "store expects ServerURL, Username and Secret as strings"

# Any text at all, lone surrogates included: clients can send anything.
ANY_TEXT = st.text(st.characters(exclude_categories=()))


@pytest.mark.parametrize(
    "url",
    [
        HOST,
        f"{HOST}:443",
        f"https://{HOST}",
        f"https://{HOST}/",
        f"https://{HOST}/v2/foo/manifests/x",
        f"http://{HOST}",
        f"https://{HOST}:443/v2/",
        f"https://{HOST}:5000/v2/",
        HOST.upper(),
        f"https://{HOST.upper()}:443/V2/",
        f"{HOST}.",
        f"{HOST}.:443",
        f"https://{HOST}./v2/",
        f"https://user:pw@{HOST}",
        f"https://user:p%40ss@{HOST}:443/v2/",
        f"user@{HOST}",
        f"{HOST}?x#y",
        f"{HOST}#y",
        f"https://{HOST}?x=1",
        f"  {HOST}  ",
        f"\t{HOST}\r\n",
        f" https://{HOST}/v2/ \n",
    ],
)
def test_hostname_reduces_every_form_to_the_bare_host(url: str) -> None:
    assert protocol.hostname(url) == HOST


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("localhost:5000", "localhost"),
        ("https://Docker.IO/v1/", "docker.io"),
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("public.ecr.aws", "public.ecr.aws"),
        ("https://PUBLIC.ECR.AWS./v2/", "public.ecr.aws"),
        ("https://evil.example/@" + HOST, "evil.example"),
        ("https://evil.example?@" + HOST, "evil.example"),
        ("https://evil.example#@" + HOST, "evil.example"),
        (f"https://{HOST}@evil.example", "evil.example"),
        (f"https://{HOST}.evil.example/", f"{HOST}.evil.example"),
    ],
)
def test_hostname_of_other_hosts(url: str, host: str) -> None:
    assert protocol.hostname(url) == host


def test_hostname_lets_no_look_alike_through_as_ecr() -> None:
    """Userinfo, paths and queries that name ECR must not make another host look like ECR."""
    for url in (
        f"https://{HOST}@evil.example/",
        f"https://evil.example/{HOST}",
        f"https://evil.example?{HOST}",
        f"https://{HOST}.evil.example/",
        f"{HOST}:443.evil.example",
    ):
        assert registry.parse(protocol.hostname(url)) is None, url


@pytest.mark.parametrize(
    ("url", "hosts"),
    [
        ("[::1]:5000", {"[::1]", "::1"}),
        ("https://[::1]:5000/v2/", {"[::1]", "::1"}),
        ("[::1]", {"[::1]", "::1"}),
        ("https://[2001:DB8::1]:443/v2/", {"[2001:db8::1]", "2001:db8::1"}),
    ],
)
def test_hostname_of_an_ipv6_literal_has_no_port(url: str, hosts: set[str]) -> None:
    assert protocol.hostname(url) in hosts


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_hostname_never_raises(url: str) -> None:
    host = protocol.hostname(url)
    assert isinstance(host, str)
    assert not set(host) & set("/?#@")


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        (HOST.encode(), HOST),
        (f"{HOST}\n".encode(), HOST),
        (f"{HOST}\r\n".encode(), HOST),
        (f"  https://{HOST}/v2/ \t\r\n".encode(), f"https://{HOST}/v2/"),
        (b"docker.io", "docker.io"),
    ],
)
def test_server_url_strips_surrounding_whitespace(raw: bytes, url: str) -> None:
    assert protocol.server_url(raw) == url


@pytest.mark.parametrize("raw", [b"", b" ", b"\n", b"\r\n", b" \t\r\n \x0b\x0c "])
def test_server_url_missing(raw: bytes) -> None:
    with pytest.raises(HelperError) as caught:
        protocol.server_url(raw)
    assert caught.value.message == "no credentials server URL"
    assert str(caught.value) == "no credentials server URL"


@pytest.mark.parametrize("raw", [b"\xff", b"\xfe\xff\n", HOST.encode() + b"\x80", b"\xc3("])
def test_server_url_of_invalid_utf8_is_text_not_an_error(raw: bytes) -> None:
    url = protocol.server_url(raw)
    assert isinstance(url, str)
    assert "\ufffd" in url
    assert registry.parse(protocol.hostname(url)) is None


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_server_url_returns_text_or_a_helper_error(raw: bytes) -> None:
    try:
        url = protocol.server_url(raw)
    except HelperError as exc:
        assert exc.message == protocol.MISSING_SERVER_URL
        assert not raw.decode("utf-8", "replace").strip()
    else:
        assert isinstance(url, str)
        assert url
        assert url == url.strip()


def _store(server_url: object = HOST, username: object = "AWS", secret: object = SECRET) -> bytes:
    return json.dumps({"ServerURL": server_url, "Username": username, "Secret": secret}).encode()


def test_parse_store_valid_payload() -> None:
    creds = protocol.parse_store(_store(f"https://{HOST}", "AWS", SECRET))
    assert (creds.server_url, creds.username, creds.secret) == (f"https://{HOST}", "AWS", SECRET)


def test_parse_store_keeps_extra_whitespace_and_ignores_extra_fields() -> None:
    raw = b'\n {"Secret": "s", "Extra": [1], "Username": "u", "ServerURL": "h"} \r\n'
    creds = protocol.parse_store(raw)
    assert (creds.server_url, creds.username, creds.secret) == ("h", "u", "s")


def test_parse_store_accepts_non_ascii_and_escapes() -> None:
    creds = protocol.parse_store(_store(HOST, 'ütf-8 "user"', "a\\b\n\u2603"))
    assert creds.username == 'ütf-8 "user"'
    assert creds.secret == "a\\b\n\u2603"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"{",
        b"not json",
        b'{"ServerURL": "x"',
        b'{"ServerURL": "x",}',
        b"{'ServerURL': 'x'}",
        b'{"ServerURL": "x"} trailing',
        b"\xff\xfe",
        b"[",
    ],
)
def test_parse_store_malformed_json(raw: bytes) -> None:
    with pytest.raises(HelperError) as caught:
        protocol.parse_store(raw)
    assert caught.value.message == NOT_AN_OBJECT


@pytest.mark.parametrize(
    "raw", [b"[]", b'["ServerURL", "Username", "Secret"]', b'"x"', b"1", b"null", b"true"]
)
def test_parse_store_json_that_is_not_an_object(raw: bytes) -> None:
    with pytest.raises(HelperError) as caught:
        protocol.parse_store(raw)
    assert caught.value.message == NOT_AN_OBJECT


@pytest.mark.parametrize(
    "raw",
    [
        b"{}",
        b'{"Username": "AWS", "Secret": "s"}',
        b'{"ServerURL": "h", "Secret": "s"}',
        b'{"ServerURL": "h", "Username": "AWS"}',
        b'{"serverurl": "h", "username": "AWS", "secret": "s"}',
        _store(None),
        _store(HOST, 1),
        _store(HOST, "AWS", None),
        _store(HOST, "AWS", ["s"]),
        _store({"host": HOST}),
        _store(HOST, True),
        _store(HOST, "AWS", 1.5),
    ],
)
def test_parse_store_missing_or_non_string_fields(raw: bytes) -> None:
    with pytest.raises(HelperError) as caught:
        protocol.parse_store(raw)
    assert caught.value.message == NOT_STRINGS


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_store(""), "no credentials server URL"),
        (_store("  \t"), "no credentials server URL"),
        (_store("", ""), "no credentials server URL"),
        (_store(HOST, ""), "no credentials username"),
        (_store(HOST, " \n"), "no credentials username"),
    ],
)
def test_parse_store_empty_fields(raw: bytes, message: str) -> None:
    with pytest.raises(HelperError) as caught:
        protocol.parse_store(raw)
    assert caught.value.message == message


def test_parse_store_allows_an_empty_secret() -> None:
    assert protocol.parse_store(_store(HOST, "AWS", "")).secret == ""


def test_parse_store_malformed_json_in_a_fresh_interpreter() -> None:
    """As the helper runs: a new process in which nothing has imported ``json`` yet."""
    code = (
        "import sys\n"
        "from credential_helper import protocol\n"
        "for text in sys.argv[1:]:\n"
        "    try:\n"
        "        protocol.parse_store(text.encode())\n"
        "    except protocol.HelperError as exc:\n"
        "        print('HelperError', exc.message)\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    payloads = ["{", '{"ServerURL": "x"', '"unterminated', "[1", "not json"]
    result = subprocess.run(
        [sys.executable, "-c", code, *payloads],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines() == [f"HelperError {NOT_AN_OBJECT}"] * len(payloads)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("plain", "plain"),
        ("one\ntwo", "one two"),
        ("one\r\ntwo\n", "one two"),
        ("one\ttwo", "one two"),
        ("one\x00two", "one two"),
        ("\x00\x01\x02", ""),
        ("  padded   out  ", "padded out"),
        ("a\u2028b\u2029c\x85d", "a b c d"),
        ("a\x1b[31mred", "a [31mred"),
        ("a\x7fb", "a b"),
        ("non-breaking\xa0space", "non-breaking space"),
        ("ünïcödé ☃ stays", "ünïcödé ☃ stays"),
        ("", ""),
    ],
)
def test_one_line(text: str, line: str) -> None:
    assert protocol.one_line(text) == line


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_one_line_is_one_printable_line(text: str) -> None:
    line = protocol.one_line(text)
    assert line.isprintable()
    assert "  " not in line
    assert line == line.strip()
    assert protocol.one_line(line) == line
    # nothing printable is lost but the spacing
    assert line.replace(" ", "") == "".join(
        ch for ch in text if ch.isprintable() and not ch.isspace()
    )


def test_helper_error_message_is_one_line() -> None:
    exc = HelperError("ecrpy: failed\n  Traceback (most recent call last):\r\n\tboom\x00")
    assert exc.message == "ecrpy: failed Traceback (most recent call last): boom"
    assert str(exc) == exc.message


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_helper_error_message_is_always_one_printable_line(text: str) -> None:
    message = HelperError(text).message
    assert message.isprintable()
    assert "\n" not in message
    assert message == str(HelperError(text))


def test_protocol_messages_are_the_docker_ones() -> None:
    """Clients compare these exact strings; they are part of the protocol."""
    assert protocol.NOT_FOUND == "credentials not found in native keychain"
    assert HelperError(protocol.NOT_FOUND).message == "credentials not found in native keychain"
    assert HelperError(protocol.MISSING_SERVER_URL).message == "no credentials server URL"
    assert HelperError(protocol.MISSING_USERNAME).message == "no credentials username"


def test_encode_credentials() -> None:
    text = protocol.encode_credentials(Credentials(f"https://{HOST}", "AWS", SECRET))
    assert "\n" not in text
    assert json.loads(text) == {"ServerURL": f"https://{HOST}", "Username": "AWS", "Secret": SECRET}


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_encode_credentials_round_trips_through_json(url: str, user: str, secret: str) -> None:
    text = protocol.encode_credentials(Credentials(url, user, secret))
    assert "\n" not in text
    assert json.loads(text) == {"ServerURL": url, "Username": user, "Secret": secret}


def test_encode_list() -> None:
    registries = {f"https://{HOST}": "AWS", "public.ecr.aws": "AWS"}
    assert json.loads(protocol.encode_list(registries)) == registries
    assert json.loads(protocol.encode_list({})) == {}


def test_credentials_repr_hides_the_secret() -> None:
    creds = Credentials(f"https://{HOST}", "AWS", SECRET)
    for shown in (repr(creds), str(creds), f"{creds}", f"{creds!r}", repr([creds])):
        assert SECRET not in shown
        assert HOST in shown


def test_usage_names_every_action() -> None:
    usage = protocol.usage("docker-credential-ecrpy")
    assert usage.startswith("Usage: docker-credential-ecrpy ")
    for action in ("store", "get", "erase", "list", "version"):
        assert action in usage
