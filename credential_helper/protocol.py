"""Docker's credential-helper protocol: what comes in on stdin, what goes out on stdout.

The protocol is the one ``docker/docker-credential-helpers`` defines: the action is the first
argument, the payload is on stdin, the answer is on stdout. A failure is one line on stdout and
exit code 1; clients compare that line with the exact strings below to tell "no credentials
here, go on anonymously" from a real error, so they must not change.
"""

from . import jsonlite

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    pass

NOT_FOUND = "credentials not found in native keychain"
MISSING_SERVER_URL = "no credentials server URL"
MISSING_USERNAME = "no credentials username"

# Docker sends a URL or a hostname, never more than a line. Anything longer is not a server URL,
# and reading it all would let a broken pipe feed us gigabytes.
MAX_INPUT = 64 * 1024

USERNAME = "AWS"


class HelperError(Exception):
    """An answer for the client: printed on stdout as one line, exit code 1.

    The message must never hold a secret: it is shown to users and pasted into tickets.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    @property
    def message(self) -> str:
        return str(self.args[0])


class Credentials:
    """What a client stores or receives: a plain class, as typing's NamedTuple costs start-up."""

    __slots__ = ("secret", "server_url", "username")

    def __init__(self, server_url: str, username: str, secret: str) -> None:
        self.server_url = server_url
        self.username = username
        self.secret = secret

    def __repr__(self) -> str:  # never show the secret, even in a debugger or a log
        return f"Credentials(server_url={self.server_url!r}, username={self.username!r})"


def one_line(text: str) -> str:
    """Collapse whitespace and control characters so an error is exactly one printable line."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())


def decode_input(raw: bytes) -> str:
    """stdin as text. Bytes that are not UTF-8 cannot be part of a hostname; they become U+FFFD."""
    return raw.decode("utf-8", "replace")


def server_url(raw: bytes) -> str:
    """The server URL of a ``get`` or ``erase``, stripped as docker-credential-helpers does."""
    url = decode_input(raw).strip()
    if not url:
        raise HelperError(MISSING_SERVER_URL)
    return url


# The authority rule. A server URL names its registry by its authority, read the way a URL parser
# (Go's net/url, WHATWG, Python's urlsplit) and Docker's registry.ConvertToHostname both read it:
#
# - an optional scheme, and only ``https://`` or ``http://`` at the very start (lowercase, as
#   ConvertToHostname strips them): any other ``x://`` is read differently by the two, so the
#   authority is then ``x:`` and names no host;
# - the authority ends at the first ``/``, ``?`` or ``#``; nothing after it names the registry;
# - ``userinfo@`` (up to the last ``@``) is dropped, and must be RFC 3986 userinfo characters;
# - then ``host``, ``host:port`` (ASCII digits, up to 65535) or ``[IPv6]``, ``[IPv6]:port``;
# - the host is ASCII letters, digits, ``-`` and ``.`` only, checked before any case folding (so
#   U+212A KELVIN SIGN never becomes a ``k``); one trailing dot is the same host.
#
# A backslash anywhere, or any other character in the authority, and the input names no host:
# WHATWG reads a backslash as ``/``, so ``https://evil.example<backslash>@<ecr>`` is evil.example to
# a browser-style parser and ``<ecr>`` to a naive one. Where readers could disagree: no host.
_SCHEMES = ("https://", "http://")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HOST_CHARS = frozenset(_ALNUM + "-.")
_USERINFO_CHARS = frozenset(_ALNUM + "-._~!$&'()*+,;=:%@")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")
_DIGITS = frozenset("0123456789")


def _split(url: str) -> tuple[str, str, str, str]:
    """``(scheme, userinfo@, host[:port], rest)`` of a URL: the authority rule's reading."""
    scheme = next((s for s in _SCHEMES if url.startswith(s)), "")
    start = len(scheme)
    end = len(url)
    for stop in "/?#":
        cut = url.find(stop, start, end)
        if cut != -1:
            end = cut
    userinfo, at, hostport = url[start:end].rpartition("@")
    return scheme, userinfo + at, hostport, url[end:]


def _port_ok(port: str) -> bool:
    """ASCII digits, at most 65535: past that, URL parsers refuse the URL (Go's does not)."""
    return bool(port) and set(port) <= _DIGITS and int(port) <= 65535


def _host_port(url: str) -> tuple[str, str]:
    """``(host, port)`` of a server URL by the authority rule above; ``("", "")`` for no host.

    The host is lowercase with no trailing dot, ``[addr]`` for an IPv6 literal; the port is ``""``
    when none is given."""
    text = url.strip()
    if "\\" in text:
        return "", ""
    _scheme, userinfo, hostport, _rest = _split(text)
    if not set(userinfo) <= _USERINFO_CHARS:
        return "", ""
    if hostport.startswith("["):  # IPv6 literal, maybe with a port: never ECR, but reduce it alike
        close = hostport.find("]")
        address, after = hostport[1:close], hostport[close + 1 :]
        if close == -1 or not address or not set(address) <= _IPV6_CHARS:
            return "", ""
        if after and not (after[0] == ":" and _port_ok(after[1:])):
            return "", ""
        return f"[{address.lower()}]", after[1:]
    host, colon, port = hostport.rpartition(":")
    if not colon:
        host, port = hostport, ""
    elif not _port_ok(port):
        return "", ""
    if host.endswith("."):
        host = host[:-1]
    if not host or not set(host) <= _HOST_CHARS:  # ASCII only, before lower() folds anything
        return "", ""
    return host.lower(), port


def hostname(url: str) -> str:
    """The registry hostname a server URL names, lowercase, without port or trailing dot.

    ``host``, ``host:443``, ``https://host``, ``https://host/v2/x``, ``http://user:pw@HOST.`` all
    give ``host``; an IPv6 literal gives ``[addr]``. ``""`` when the authority is not a hostname
    at all (see the authority rule above): that matches no registry, so the answer is not-found.
    """
    return _host_port(url)[0]


def authority(url: str) -> str:
    """``host[:port]`` by the same rule: what a registry alias is matched against (an alias may
    name a port). ``""`` when the URL names no host."""
    host, port = _host_port(url)
    return f"{host}:{port}" if host and port else host


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` before the host removed, the rest as sent."""
    scheme, _userinfo, hostport, rest = _split(url)
    return scheme + hostport + rest


def parse_store(raw: bytes) -> "Credentials":
    """The payload of ``store``: ``{"ServerURL": ..., "Username": ..., "Secret": ...}``."""
    try:
        payload = jsonlite.loads(decode_input(raw))
    except ValueError:
        raise HelperError(
            "store expects a JSON object with ServerURL, Username and Secret"
        ) from None
    if not isinstance(payload, dict):
        raise HelperError("store expects a JSON object with ServerURL, Username and Secret")
    fields = {key: payload.get(key) for key in ("ServerURL", "Username", "Secret")}
    if not all(isinstance(value, str) for value in fields.values()):
        raise HelperError("store expects ServerURL, Username and Secret as strings")
    url, username, secret = (str(value) for value in fields.values())
    if not url.strip():
        raise HelperError(MISSING_SERVER_URL)
    if not username.strip():
        raise HelperError(MISSING_USERNAME)
    return Credentials(url, username, secret)


def encode_credentials(creds: "Credentials") -> str:
    return jsonlite.dumps(
        {"ServerURL": creds.server_url, "Username": creds.username, "Secret": creds.secret}
    )


def encode_list(registries: dict[str, str]) -> str:
    return jsonlite.dumps(dict(registries))


def usage(program: str) -> str:
    return f"Usage: {program} <store|get|erase|list|version>"
