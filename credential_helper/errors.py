"""Why no token could be had: the error the AWS layer raises and the CLI turns into one line.

Kept apart from :mod:`ecr` so that code on the warm path can name it without importing
the AWS layer (and its typing, cachetools and base64 imports).
"""

NO_CREDENTIALS = "no-credentials"  # no AWS identity at all, or AWS rejected its keys
DENIED = "denied"  # AWS answered: not allowed
NETWORK = "network"  # the ECR API could not be reached
CONFIG = "config"  # the AWS configuration is broken (profile, file, SSO, process)
BAD_RESPONSE = "bad-response"  # ECR answered with something that is not a usable token


class TokenUnavailable(Exception):
    """No token could be had. ``kind`` (one of the constants above) tells how to answer."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
