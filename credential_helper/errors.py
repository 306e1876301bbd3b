"""Why no token could be had: the error the AWS layer raises and the CLI turns into one line.

Kept apart from :mod:`ecr` so that code on the warm path can name it without importing
the AWS layer (and its typing, cachetools and base64 imports).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    from collections.abc import Mapping

NO_CREDENTIALS = "no-credentials"  # no AWS identity at all, or AWS rejected its keys
DENIED = "denied"  # AWS answered: not allowed
NETWORK = "network"  # the ECR API could not be reached
CONFIG = "config"  # the AWS configuration is broken (profile, file, SSO, process)
BAD_RESPONSE = "bad-response"  # ECR answered with something that is not a usable token


# Values that must never be printed or logged, even if an AWS library echoes them in an error.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


# Secrets ecrpy has in hand in this process besides the environment's: the secret keys and
# session tokens of the AWS profiles botocore read, and of the credentials a call resolved or
# assumed, whatever their source. The AWS layer adds them (keep_secret) before it can fail.
_IN_HAND: set[str] = set()


def keep_secret(*values: object) -> None:
    """Make :func:`redact` hide these values from now on (too short ones cannot be told apart)."""
    for value in values:
        if isinstance(value, str) and len(value) >= 8:
            _IN_HAND.add(value)


def redact(message: str, environ: Mapping[str, str]) -> str:
    """``message`` with every secret of the environment, or in hand, replaced by ``***``.

    Also their percent-encoded forms (``/``, ``+``, ``=``), as an echoed request would hold them.
    """
    secrets = {environ.get(name, "") for name in SECRET_ENV} | _IN_HAND
    for value in sorted(secrets, key=len, reverse=True):  # a longer secret may hold a shorter one
        if len(value) >= 8:
            encoded = value.replace("%", "%25").replace("/", "%2F").replace("+", "%2B")
            encoded = encoded.replace("=", "%3D")
            message = message.replace(value, "***").replace(encoded, "***")
    return message


class TokenUnavailable(Exception):
    """No token could be had. ``kind`` (one of the constants above) tells how to answer.

    The message is redacted here, where every failure passes, because it travels on to
    stdout, stderr, the log and the failure record that waiting processes read.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(redact(message, os.environ))
        self.kind = kind
