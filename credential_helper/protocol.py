"""Docker's credential-helper protocol: what comes in on stdin, what goes out on stdout.

The protocol is the one ``docker/docker-credential-helpers`` defines: the action is the first
argument, the payload is on stdin, the answer is on stdout. A failure is one line on stdout and
exit code 1; clients compare that line with the exact strings below to tell "no credentials
here, go on anonymously" from a real error, so they must not change.
"""

from . import jsonlite

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms), and
# annotations are quoted where Python would evaluate them, because the __future__ import
# that would defer them imports a module too (~0.25 ms of every get).
TYPE_CHECKING = False
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


def hostname(url: str) -> str:
    """Reduce any form a client sends to a bare lowercase hostname.

    ``host``, ``host:443``, ``https://host``, ``https://host/v2/x``, ``http://user:pw@HOST.`` all
    give ``host``. The result is only ever compared with the registry grammar, so an odd input
    gives an odd hostname that matches nothing, never an error.
    """
    text = url.strip()
    scheme_end = text.find("://")
    if scheme_end != -1:
        text = text[scheme_end + 3 :]
    for stop in "/?#":
        cut = text.find(stop)
        if cut != -1:
            text = text[:cut]
    text = text.rpartition("@")[2]  # user:password@ never takes part in the decision
    if text.startswith("["):  # IPv6 literal, maybe with a port: never ECR, but reduce it alike
        return text[: text.find("]") + 1 or len(text)].lower()
    host, colon, port = text.rpartition(":")
    if colon and port.isdigit():
        text = host
    return text.lower().rstrip(".")


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` before the host removed, the rest as sent."""
    scheme_end = url.find("://")
    start = scheme_end + 3 if scheme_end != -1 else 0
    end = len(url)
    for stop in "/?#":
        cut = url.find(stop, start)
        if cut != -1:
            end = min(end, cut)
    at = url.rfind("@", start, end)
    return url if at == -1 else url[:start] + url[at + 1 :]


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


def encode_list(registries: "dict[str, str]") -> str:
    return jsonlite.dumps(dict(registries))


def usage(program: str) -> str:
    return f"Usage: {program} <store|get|erase|list|version>"
