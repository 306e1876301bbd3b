"""Coverage-guided fuzzing (atheris) of everything that reads untrusted bytes.

    python fuzz/fuzz_input.py fuzz/corpus -max_total_time=30

One input drives four readers, each with the invariant a user relies on:

- stdin of ``get``/``erase`` -> server URL -> hostname -> registry: only the protocol's own
  error, and a registry only for a hostname that is exactly ECR's (12-digit account), and only
  when the URL's authority names that very host, as a URL parser reads it with and without
  backslashes read as slashes (the authority rule of ``protocol``; tests/test_authority.py);
- stdin of ``store``: only the protocol's own error;
- jsonlite.loads: the same verdict as the stdlib's json.loads;
- a cache file's text: an entry or None, never an exception.

A crash is saved as ``crash-<sha1>``: turn it into a test in tests/ (the inputs that found the
jsonlite SystemError live on in tests/test_jsonlite.py that way).
"""

from __future__ import annotations

import contextlib
import json
import sys

import atheris

with atheris.instrument_imports():
    from credential_helper import cache, jsonlite, protocol, registry

from tests.url_oracle import url_parser_host  # Python's URL parser, as an oracle


def check(data: bytes) -> None:
    try:
        url = protocol.server_url(data)
    except protocol.HelperError as exc:
        assert exc.message == protocol.MISSING_SERVER_URL, exc.message
    else:
        host = protocol.hostname(url)
        found = registry.parse(host)
        if found is not None:
            assert found.host == host
            assert host.isascii(), host
            assert found.public or (found.account is not None and found.account.isdigit())
            for backslash_is_slash in (False, True):
                assert url_parser_host(url, backslash_is_slash) == host, (url, host)

    with contextlib.suppress(protocol.HelperError):
        protocol.parse_store(data)

    text = data.decode("utf-8", "replace")
    try:
        ours: object = ("ok", jsonlite.loads(text))
    except ValueError:
        ours = "error"
    try:
        theirs: object = ("ok", json.loads(text))
    except ValueError:
        theirs = "error"
    if ours != theirs:  # NaN never equals itself: then the reprs must agree
        assert repr(ours) == repr(theirs), (text, ours, theirs)

    cache.decode(text)


def main() -> None:
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
