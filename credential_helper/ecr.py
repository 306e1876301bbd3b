"""The AWS calls: ECR's and ECR Public's GetAuthorizationToken. The one module importing botocore.

botocore, not boto3: boto3 adds ~100 ms of imports and nothing this needs. Credentials come from
botocore's own chain (environment, profiles with roles, SSO, web identity, containers, instance
metadata), endpoints from its own resolver: the registry's region and partition, its FIPS or
dual-stack endpoint, and whatever ``AWS_ENDPOINT_URL_ECR`` / profile ``endpoint_url`` says.

Every failure becomes a :class:`TokenUnavailable` with a one-line message that names the
registry and the cause, and never a secret.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import cachetools

from . import __version__, safefile, session_expiry
from .cache import usable_until
from .config import Settings
from .errors import (
    BAD_RESPONSE,
    CONFIG,
    DENIED,
    NETWORK,
    NO_CREDENTIALS,
    TokenUnavailable,
    keep_secret,
)
from .identity import planted_aws_file
from .registry import Registry, token_host
from .session_expiry import TemporaryKeys

if TYPE_CHECKING:
    import botocore.session

# Short timeouts and bounded retries: the whole cold ``get`` gives up within about
# CONNECT_TIMEOUT * MAX_ATTEMPTS + backoff when ECR is unreachable, instead of hanging a build.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
MAX_ATTEMPTS = 3
MAX_REGISTRY_IDS = 10  # GetAuthorizationToken's limit on registryIds

_CREDENTIAL_ERROR_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)


class Token:
    """A freshly fetched token, decoded. ``expires_at`` is its usable life: the earlier of ECR's
    expiry (``token_expires_at``) and the end of the AWS session that minted it
    (``session_expires_at``, None for long-term keys), as in :class:`cache.Entry`."""

    __slots__ = ("expires_at", "password", "session_expires_at", "token_expires_at", "username")

    def __init__(
        self,
        username: str,
        password: str,
        expires_at: float,
        session_expires_at: float | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.token_expires_at = expires_at
        self.session_expires_at = session_expires_at
        self.expires_at = usable_until(expires_at, session_expires_at)

    def __repr__(self) -> str:  # never the password
        return f"Token(username={self.username!r}, expires_at={self.expires_at!r})"


def decode_token(authorization_token: str) -> tuple[str, str]:
    """Split ECR's base64 ``user:password`` token on the first colon only."""
    try:
        decoded = base64.b64decode(authorization_token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("the token is not base64-encoded text") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username or not password:
        raise ValueError("the token has no user:password form")
    return username, password


def _expiry(value: Any) -> float:
    """ECR's ``expiresAt`` (a datetime from botocore) as epoch seconds."""
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError("the token has no expiry time")


def clock_skew(reply: Mapping[str, Any], now: float) -> float:
    """How far AWS's clock (the reply's ``Date`` header) is ahead of ours, in seconds.

    0 when the header is missing or unreadable. ECR judges a token's expiry by its own clock,
    so ecrpy keeps ``expiresAt`` in local time by subtracting this.
    """
    from email.utils import parsedate_to_datetime

    headers = reply.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        return parsedate_to_datetime(headers["date"]).timestamp() - now
    except (KeyError, TypeError, ValueError, IndexError):
        return 0.0


def endpoint_overridden(service_env: str, environ: Mapping[str, str]) -> bool:
    """True when the user points this service at an endpoint of their own (env settings).

    botocore refuses FIPS or dual-stack together with a custom endpoint, and the custom endpoint
    is what the user asked for, so the registry's FIPS/dual-stack flags then step aside.
    """
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return False
    return bool(environ.get(f"AWS_ENDPOINT_URL_{service_env}") or environ.get("AWS_ENDPOINT_URL"))


@cachetools.cached(cachetools.LRUCache(maxsize=8))
def _session(profile: str | None) -> botocore.session.Session:
    import botocore.session

    from .loader import install  # botocore's loader: imported with botocore, when a client is made

    planted = planted_aws_file(os.environ)
    if planted is not None:  # botocore would wait on it forever
        raise TokenUnavailable(
            f"the AWS file {planted} is not a regular file (a FIFO, socket or device): "
            "ecrpy will not let botocore read it; replace it with a regular file",
            CONFIG,
        )

    session = botocore.session.Session(profile=profile)
    session.user_agent_extra = f"ecrpy/{__version__}"
    install(session)
    _keep_file_secrets(session)
    return session


_SECRET_KEYS = ("aws_secret_access_key", "aws_session_token", "aws_security_token")


def _keep_file_secrets(session: botocore.session.Session) -> None:
    """The secrets of every profile in the AWS config and credentials files, and the web
    identity tokens botocore may send (``AWS_WEB_IDENTITY_TOKEN_FILE``, a profile's
    ``web_identity_token_file``), for redaction.

    Every profile, not only the one in use: a ``source_profile`` chain signs with another
    profile's keys, and an error may echo any of them. A file botocore cannot parse is left to
    the call itself to report.
    """
    try:
        profiles = session.full_config.get("profiles", {})
    except Exception:  # the call that follows explains it
        return
    token_files = {os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")}
    for profile in profiles.values():
        if isinstance(profile, dict):
            keep_secret(*(profile.get(key) for key in _SECRET_KEYS))
            token_files.add(profile.get("web_identity_token_file"))
    for path in token_files:
        if isinstance(path, str) and path:
            try:
                token = safefile.read(os.path.expanduser(path), 64 * 1024, follow=True)
            except OSError:
                continue
            keep_secret((token or b"").decode("utf-8", "replace").strip())


def _keep_resolved_secrets(session: botocore.session.Session) -> None:
    """The secret key and session token a client resolved (any source: files, SSO, a process,
    a container or instance role, web identity, a source_profile role), for redaction."""
    from botocore.credentials import RefreshableCredentials

    try:
        credentials = session.get_credentials()
        if isinstance(credentials, RefreshableCredentials):
            # Only what is resolved already: asking would refresh them, which may prompt for an
            # MFA code or call STS, before (and besides) the call that needs them.
            frozen = credentials._frozen_credentials
        else:
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except Exception:  # the call that follows explains it
        return
    if frozen is not None:
        keep_secret(frozen.secret_key, frozen.token)


@cachetools.cached(cachetools.LRUCache(maxsize=32))
def _client(
    service: str,
    region: str,
    fips: bool,
    dualstack: bool,
    profile: str | None,
    credentials: tuple[str, str, str] | None = None,
    unsigned: bool = False,
) -> Any:
    """A botocore client per endpoint and identity, kept for processes that fetch several tokens.

    ``unsigned``: a client that signs nothing and so never looks up credentials (STS's
    ``AssumeRoleWithWebIdentity``, whose proof is the token it carries).
    """
    from botocore.config import Config

    session = _session(profile)
    scoped = session.get_scoped_config()
    custom = endpoint_overridden(service.upper().replace("-", "_"), os.environ) or (
        "endpoint_url" in scoped or "services" in scoped
    )
    config = Config(
        region_name=region,
        use_fips_endpoint=fips and not custom,
        use_dualstack_endpoint=dualstack and not custom,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        user_agent_extra=f"ecrpy/{__version__}",
    )
    if unsigned:
        from botocore import UNSIGNED

        config = config.merge(Config(signature_version=UNSIGNED))
    if credentials is None:
        client = session.create_client(service, config=config)
        _keep_resolved_secrets(session)
        return client
    key, secret, token = credentials
    keep_secret(secret, token)
    return session.create_client(
        service,
        config=config,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def assume_role(registry: Registry, settings: Settings) -> tuple[str, str, str]:
    """Temporary credentials of ``settings.role_arn``, assumed with the base identity.

    STS is asked in the registry's own partition and region (or ``settings.region``), through
    its FIPS endpoint when the registry is a FIPS one.
    """
    role = settings.role_arn
    sts = _client("sts", settings.region or registry.region, registry.fips, False, settings.profile)
    params: dict[str, Any] = {
        "RoleArn": role,
        "RoleSessionName": settings.role_session_name or "ecrpy",
    }
    if settings.external_id:
        params["ExternalId"] = settings.external_id
    if settings.duration_seconds:
        params["DurationSeconds"] = settings.duration_seconds
    what = f"could not assume role {role} for {registry.host}"
    return _sts_credentials(lambda: sts.assume_role(**params), what, registry)


def assume_role_with_web_identity(
    registry: Registry, settings: Settings, role: str, token: str, session: str
) -> tuple[str, str, str]:
    """The role's credentials for a web identity token (a pod's): an unsigned STS call.

    No credential of this machine is looked up: the token is the proof. STS is asked as in
    :func:`assume_role`: the registry's region (or ``settings.region``), FIPS for FIPS registries.
    """
    params: dict[str, Any] = {
        "RoleArn": role,
        "RoleSessionName": session,
        "WebIdentityToken": token,
    }
    if settings.duration_seconds:
        params["DurationSeconds"] = settings.duration_seconds
    what = f"could not assume role {role} with the pod's service-account token for {registry.host}"

    def call() -> Any:  # the client is made inside: a missing profile fails as one line too
        region = settings.region or registry.region
        sts = _client("sts", region, registry.fips, False, settings.profile, unsigned=True)
        return sts.assume_role_with_web_identity(**params)

    return _sts_credentials(call, what, registry)


def _sts_credentials(call: Any, what: str, registry: Registry) -> tuple[str, str, str]:
    """Run an STS AssumeRole* call; its credentials, or a TokenUnavailable that says ``what``."""
    try:
        reply = call()["Credentials"]
        keep_secret(reply["SecretAccessKey"], reply["SessionToken"])
        ends = session_expiry.epoch(reply.get("Expiration"))
        return TemporaryKeys(
            reply["AccessKeyId"], reply["SecretAccessKey"], reply["SessionToken"], ends
        )
    except Exception as exc:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):  # STS said no: its code and reason, not ECR's words
            error = exc.response.get("Error", {})
            code, detail = error.get("Code", "Unknown"), error.get("Message", "")
            raise TokenUnavailable(f"{what}: {code}: {detail}", DENIED) from None
        message, kind = explain(exc, registry)
        raise TokenUnavailable(f"{what}: {message}", kind) from None


def profile_region(profile: str | None = None) -> str | None:
    """The region the AWS config gives the profile in force, as the AWS CLI reads it; or None."""
    try:
        value = _session(profile).get_config_variable("region")
    except Exception:  # a broken or planted file: no region known, the get that follows says why
        return None
    return value if isinstance(value, str) and value else None


def caller_account(region: str) -> str:
    """The account of the credentials in force (:func:`default_caller`, worded as a
    :class:`TokenUnavailable` for ``list``)."""
    try:
        reply = default_caller(None, region)
        if reply is None:  # no AWS at all: list says it quietly
            raise TokenUnavailable("no AWS credentials found", NO_CREDENTIALS)
        account = reply["Account"]
    except TokenUnavailable:
        raise
    except Exception as exc:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):  # no AWS at all: list says it quietly
            raise TokenUnavailable("no AWS credentials found", NO_CREDENTIALS) from None
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            detail = f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}"
        else:
            detail = type(exc).__name__
        raise TokenUnavailable(
            f"STS GetCallerIdentity in {region} failed: {detail}", CONFIG
        ) from None
    if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
        raise TokenUnavailable(f"STS GetCallerIdentity in {region} named no account", BAD_RESPONSE)
    return account


def credentials_for(registry: Registry, settings: Settings) -> tuple[str, str, str] | None:
    """The role's credentials, or None to use the base identity (profile or default chain)."""
    if settings.role_arn:
        return assume_role(registry, settings)
    if registry.public and _session(settings.profile).get_credentials() is None:
        raise TokenUnavailable(_no_credentials(registry), NO_CREDENTIALS)
    return None


def caller(
    registry: Registry, settings: Settings, credentials: tuple[str, str, str] | None = None
) -> Mapping[str, Any]:
    """STS ``GetCallerIdentity`` as a fetch for ``registry`` would sign (its STS region and
    FIPS-ness, the settings' profile, or ``credentials``): who AWS says the caller is, for
    ``whoami --check`` and ``doctor``. Raises what botocore raises (:func:`explain` words it)."""
    sts = _client(
        "sts",
        settings.region or registry.region,
        registry.fips,
        False,
        settings.profile,
        credentials,
    )
    reply: Mapping[str, Any] = sts.get_caller_identity()
    return reply


def default_caller(profile: str | None, region: str) -> Mapping[str, Any] | None:
    """STS ``GetCallerIdentity`` of the identity in force without ecrpy's settings (``profile``
    or the default chain), asked in ``region``; None when there are no AWS credentials at all."""
    if _session(profile).get_credentials() is None:
        return None
    reply: Mapping[str, Any] = _client("sts", region, False, False, profile).get_caller_identity()
    return reply


def profile_config(profile: str | None) -> Mapping[str, Any]:
    """The AWS config of a profile (None: the one in force) as botocore reads it; raises when
    the profile does not exist."""
    scoped: Mapping[str, Any] = _session(profile).get_scoped_config()
    return scoped


def fetch(
    registry: Registry,
    settings: Settings | None = None,
    credentials: tuple[str, str, str] | None = None,
) -> Token:
    """Ask ECR for a token of this registry, with the identity its settings name.

    ``credentials`` (key, secret, session token), when given, are used as they are: for callers
    that obtained them another way (the kubelet provider's service-account role).
    """
    settings = settings or Settings()
    accounts = [registry.account] if registry.account else []
    reply, session_ends = _ask(registry, settings, credentials, accounts)
    if registry.public:
        data = reply.get("authorizationData")
        if data is None:
            raise TokenUnavailable(*explain(KeyError("authorizationData"), registry))
    else:
        found = reply.get("authorizationData") or []
        if not found:
            raise TokenUnavailable(f"ECR returned no token for {registry.host}", BAD_RESPONSE)
        data = found[0]
    return _token(data, reply, registry, session_ends)


def fetch_many(
    registry: Registry, others: Sequence[Registry], settings: Settings | None = None
) -> dict[str, Token]:
    """The tokens of ``registry`` and ``others`` (private registries of its region, partition
    and FIPS-ness) from one ``GetAuthorizationToken``, by :func:`registry.token_host`.

    Sent to ``registry``'s endpoint; a token is good for every name of its account and region.
    As many of ``others`` as fit in one request (:data:`MAX_REGISTRY_IDS` accounts), in order.
    Raises TokenUnavailable when any asked-for token is missing or unusable.
    """
    wanted = {token_host(registry): registry}
    for other in others:
        asked = {reg.account for reg in wanted.values()}
        if other.account not in asked and len(asked) == MAX_REGISTRY_IDS:
            continue
        if other.public or (other.region, other.partition, other.fips) != (
            registry.region,
            registry.partition,
            registry.fips,
        ):
            raise ValueError(f"{other.host} cannot share a request with {registry.host}")
        wanted.setdefault(token_host(other), other)
    accounts = list(dict.fromkeys(str(reg.account) for reg in wanted.values()))
    reply, session_ends = _ask(registry, settings or Settings(), None, accounts)
    by_account: dict[str, Any] = {}
    for data in reply.get("authorizationData") or []:
        endpoint = data.get("proxyEndpoint") if isinstance(data, dict) else None
        if isinstance(endpoint, str):
            by_account[endpoint.split("://")[-1].split(".")[0]] = data
    tokens: dict[str, Token] = {}
    for host, reg in wanted.items():
        if reg.account not in by_account:
            raise TokenUnavailable(f"ECR returned no token for {reg.host}", BAD_RESPONSE)
        tokens[host] = _token(by_account[reg.account], reply, reg, session_ends)
    return tokens


def _ask(
    registry: Registry,
    settings: Settings,
    credentials: tuple[str, str, str] | None,
    accounts: list[str],
) -> tuple[Any, float | None]:
    """The raw reply of (ECR or ECR Public's) GetAuthorizationToken, and when the session of
    the credentials that signed it ends (None: long-term keys); failures explained."""
    try:
        if credentials is None:
            credentials = credentials_for(registry, settings)
        service = "ecr-public" if registry.public else "ecr"
        client = _client(
            service,
            registry.region,
            registry.fips and not registry.public,
            registry.dualstack,
            settings.profile,
            credentials,
        )
        if registry.public:
            reply = client.get_authorization_token()
        else:
            reply = client.get_authorization_token(registryIds=accounts)
        # the session's credentials are resolved by now: reading their expiry calls nothing
        signer = credentials or _session(settings.profile).get_credentials()
        return reply, session_expiry.of_credentials(signer)
    except TokenUnavailable:
        raise
    except Exception as exc:  # every botocore failure is explained, never raised raw
        if credentials is None:  # what the session resolved by now may be echoed in the error
            import contextlib

            with contextlib.suppress(Exception):  # the session itself may be what failed
                _keep_resolved_secrets(_session(settings.profile))
        raise TokenUnavailable(*explain(exc, registry)) from None


def _token(data: Any, reply: Any, registry: Registry, session_ends: float | None = None) -> Token:
    """One ``authorizationData`` item as a Token in this machine's time, checked."""
    try:
        username, password = decode_token(data["authorizationToken"])
        # In this machine's time: a clock hours off must neither expire a new token at once
        # nor keep a dead one alive. The session's end is in AWS's time too.
        skew = clock_skew(reply, time.time())
        expires_at = _expiry(data.get("expiresAt")) - skew
        session_ends = None if session_ends is None else session_ends - skew
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenUnavailable(
            f"ECR returned an unusable token for {registry.host}: {exc}", BAD_RESPONSE
        ) from None
    if expires_at <= time.time():
        raise TokenUnavailable(
            f"ECR returned a token for {registry.host} that has already expired "
            "(is this machine's clock right?)",
            BAD_RESPONSE,
        )
    return Token(username, password, expires_at, session_ends)


def _no_credentials(registry: Registry) -> str:
    return (
        f"no AWS credentials found to get a token for {registry.host}: set AWS_PROFILE, "
        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role"
    )


def explain(exc: BaseException, registry: Registry) -> tuple[str, str]:
    """A one-line, secret-free message and a kind for any failure of the AWS call."""
    from botocore import exceptions as bce

    host = registry.host
    if isinstance(exc, TokenUnavailable):  # already explained (a planted AWS file)
        return str(exc), exc.kind
    if isinstance(exc, bce.NoCredentialsError):
        return _no_credentials(registry), NO_CREDENTIALS
    if isinstance(exc, bce.ProfileNotFound):
        return f"{exc} (needed for {host})", CONFIG
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        detail = error.get("Message", "")
        if code in _CREDENTIAL_ERROR_CODES:
            return (
                f"AWS rejected the credentials used for {host}: {code}: {detail}",
                NO_CREDENTIALS,
            )
        operation = str(getattr(exc, "operation_name", ""))
        if operation.startswith("AssumeRole") or operation == "GetSessionToken":
            # botocore's own credential chain (a profile's role_arn, mfa_serial): STS said no
            return (
                f"STS refused {operation} for the AWS profile used for {host}: {code}: {detail}",
                DENIED,
            )
        return f"ECR refused a token for {host}: {code}: {detail}", DENIED
    if isinstance(
        exc,
        (
            bce.EndpointConnectionError,
            bce.ConnectTimeoutError,
            bce.ReadTimeoutError,
            bce.ConnectionClosedError,
            bce.SSLError,
            bce.ProxyConnectionError,
        ),
    ):
        return f"could not reach the ECR API for {host}: {exc}", NETWORK
    if isinstance(exc, bce.BotoCoreError):
        return f"AWS configuration problem while getting a token for {host}: {exc}", CONFIG
    if isinstance(exc, EOFError):  # botocore's MFA prompt read the end of a get's stdin
        return (
            f"the AWS profile used for {host} asks for an MFA code, and nothing can answer it "
            "here (no terminal): run 'docker-credential-ecrpy login' in a terminal first; "
            "the tokens it caches serve the next hours",
            CONFIG,
        )
    if isinstance(exc, (ValueError, KeyError, TypeError)):  # botocore could not parse the reply
        return (
            f"ECR's reply for {host} could not be read ({type(exc).__name__})",
            BAD_RESPONSE,
        )
    return f"unexpected {type(exc).__name__} while getting a token for {host}", CONFIG
