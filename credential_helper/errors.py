"""Why no token could be had: the error the AWS layer raises and the CLI turns into one line.

Kept apart from :mod:`ecr` so that code on the warm path can name it without importing
the AWS layer (and its typing, cachetools and base64 imports).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~13 ms of start-up (it imports re): types only for mypy
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


def redact(message: str, environ: Mapping[str, str]) -> str:
    """``message`` with every secret of the environment replaced by ``***``."""
    for name in SECRET_ENV:
        value = environ.get(name, "")
        if len(value) >= 8:
            message = message.replace(value, "***")
    return message


class TokenUnavailable(Exception):
    """No token could be had. ``kind`` (one of the constants above) tells how to answer.

    The message is redacted here, where every failure passes, because it travels on to
    stdout, stderr, the log and the failure record that waiting processes read.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(redact(message, os.environ))
        self.kind = kind
