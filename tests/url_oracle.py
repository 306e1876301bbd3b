"""An oracle for the authority rule, independent of credential_helper: Python's URL parser.

Shared by tests/test_authority.py and fuzz/fuzz_input.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def url_parser_host(url: str, backslash_is_slash: bool = False) -> str | None:
    """The host a URL parser connects to, as the Go helper and containers/image read a server
    URL: ``https://`` put in front unless it starts with ``http(s)://``. With
    ``backslash_is_slash``, as WHATWG parsers read special schemes. None: no host."""
    text = url.strip()
    if backslash_is_slash:
        text = text.replace("\\", "/")
    if not text.startswith(("https://", "http://")):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return None
    host = parts.hostname
    if not host:
        return None
    return host[:-1] if host.endswith(".") else host
