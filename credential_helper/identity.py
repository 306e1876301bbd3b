"""Which AWS identity a token belongs to, decided without botocore and without the network.

A cached ECR token may only be served to the identity that fetched it. The Go helper keys its
cache on the access key id, which changes with every assumed-role or SSO session, and it
resolves credentials (often over the network) on every call. ecrpy instead fingerprints what
*decides* the identity: the credential environment variables, the AWS config and credentials
files, and ecrpy's own settings. Change any of them and the fingerprint changes, so another
identity's token is never served; keep them and a warm ``get`` needs no AWS call at all, even
for roles, SSO and web identity, whose short-lived credentials never enter the fingerprint.

What this deliberately does not see: credentials that change behind an unchanged
configuration (an EC2 instance profile swapped for another, a ``credential_process`` that
starts returning another user). Tokens then stay valid for their own identity until they
expire, as a ``docker login`` would; ``erase`` (``docker logout``) drops them at once.
"""

import os

from . import paths, safefile

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms), and
# annotations are quoted where Python would evaluate them, because the __future__ import
# that would defer them imports a module too (~0.25 ms of every get).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any, Callable

# AWS_* variables that never change who you are. Every other AWS_* variable counts: a variable
# added to the SDK later errs on the side of a cache miss, never of a token for someone else.
_NEUTRAL_ENV = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_DEFAULT_OUTPUT",
        "AWS_PAGER",
        "AWS_CA_BUNDLE",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_METADATA_SERVICE_TIMEOUT",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
        "AWS_ECR_CACHE_DIR",
        "AWS_ECR_DISABLE_CACHE",
        "AWS_EXECUTION_ENV",
        "AWS_CLI_AUTO_PROMPT",
        "AWS_CLI_FILE_ENCODING",
    }
)
_IDENTITY_ENV_PREFIXES = ("AWS_", "ECRPY_CONFIG")


def _sha256() -> "Callable[[bytes], Any]":
    """The C SHA-256 without ``hashlib``, whose OpenSSL import costs ~2 ms on every ``get``.

    ``_sha256`` (CPython <= 3.11) and ``_sha2`` (3.12+) are the modules hashlib falls back to.
    """
    for module in ("_sha256", "_sha2", "hashlib"):
        try:
            return __import__(module).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    raise ImportError("no SHA-256 implementation")  # pragma: no cover


def identity_env(environ: "Mapping[str, str]") -> tuple[tuple[str, str], ...]:
    """The environment variables that decide the AWS identity, sorted."""
    return tuple(
        sorted(
            (name, value)
            for name, value in environ.items()
            if name.startswith(_IDENTITY_ENV_PREFIXES) and name not in _NEUTRAL_ENV
        )
    )


def read_file(path: str) -> "bytes | None":
    """A file's bytes, or None when it cannot be read (missing counts as a state, too).

    A FIFO, socket or device there counts as missing, and is never waited on (safefile). The
    null device reads as empty, as botocore reads it (``AWS_CONFIG_FILE=/dev/null`` is the usual
    way to say "no AWS files").
    """
    try:
        return safefile.read(path, follow=True, null=True)
    except OSError:
        return None


def fingerprint(
    env: "Iterable[tuple[str, str]]", files: "Sequence[tuple[str, bytes | None]]"
) -> str:
    """A stable 128-bit hex digest of identity inputs. Pure: same inputs, same fingerprint.

    Secrets go into the digest (so new keys mean a new identity) but cannot be read back out.
    Every field is length-prefixed so that no two different inputs share a byte stream.
    """
    digest = _sha256()(b"ecrpy-identity-v1")
    for name, value in env:
        _feed(digest, b"env", name.encode(), value.encode("utf-8", "surrogateescape"))
    for path, content in files:
        _feed(digest, b"file", path.encode("utf-8", "surrogateescape"), content)
    return str(digest.hexdigest()[:32])


def _feed(digest: "Any", kind: bytes, name: bytes, value: "bytes | None") -> None:
    for part in (kind, name, value):
        if part is None:
            digest.update(b"-")
        else:
            digest.update(b"%d:" % len(part) + part)


def current(environ: "Mapping[str, str]") -> str:
    """The fingerprint of the identity in force: reads the AWS files and ecrpy's settings file."""
    files = (*paths.aws_files(environ), paths.settings_file(environ))
    return fingerprint(identity_env(environ), [(path, read_file(path)) for path in files])


def planted_aws_file(environ: "Mapping[str, str]") -> "str | None":
    """The AWS config or credentials file that is there but is no regular file (a FIFO ...).

    The fingerprint counts such a file as missing, but botocore would open it with a plain
    ``open()`` and wait on a FIFO forever: the cold path asks this first and refuses. The null
    device is no such file: botocore reads it as empty, and so does the fingerprint.
    """
    for path in paths.aws_files(environ):
        try:
            os.close(safefile.open_fd(path, follow=True, null=True))
        except safefile.NotRegular:
            return path
        except OSError:
            continue
    return None
