"""When the AWS session behind a token ends, as far as botocore knows it.

ECR's ``expiresAt`` says twelve hours, but a token minted with temporary credentials stops
working when their session ends (an assumed role of one hour, a pod's web identity role, an SSO
role, an instance or container role, a ``credential_process`` or environment keys with an
expiry). ecrpy caches per identity, not per access key, so without this bound it would go on
serving a dead token for hours (GoogleContainerTools/kaniko#3199,
awslabs/amazon-ecr-credential-helper#625, bazel-contrib/rules_img#715).

Two places know the end: the ``Expiration`` of an STS reply that ecrpy asked for itself (its
settings' roles, the kubelet's service-account role), carried by :class:`TemporaryKeys`; and
botocore's own refreshable credentials (``_expiry_time``), for every source its chain resolves.
Long-term keys have no end: None. Imported on the cold path only (by :mod:`ecr`).
"""

from __future__ import annotations

import datetime
from typing import Any


class TemporaryKeys(tuple):  # type: ignore[type-arg]
    """(access key, secret key, session token), as before, plus when their session ends.

    A tuple, so every caller that unpacks three values or keys a cache on them is unchanged.
    """

    expires_at: float | None

    def __new__(cls, key: str, secret: str, token: str, expires_at: float | None) -> TemporaryKeys:
        keys = super().__new__(cls, (key, secret, token))
        keys.expires_at = expires_at
        return keys


def epoch(value: Any) -> float | None:
    """An expiry as botocore or STS gives it (datetime, ISO 8601 text, epoch) in epoch seconds."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return float(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        from botocore.utils import parse_timestamp

        try:
            return float(parse_timestamp(value).timestamp())
        except (TypeError, ValueError):
            return None
    return None


def of_credentials(credentials: Any) -> float | None:
    """The end of the session of credentials botocore resolved, or None (long-term keys).

    Reads what is resolved already, never refreshes: asking would call STS or IMDS again.
    """
    explicit = getattr(credentials, "expires_at", None)
    if explicit is not None or isinstance(credentials, TemporaryKeys):
        return float(explicit) if explicit is not None else None
    return epoch(getattr(credentials, "_expiry_time", None))
