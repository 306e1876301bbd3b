"""``docker-credential-ecrpy kubelet-provider``: the kubelet's image credential provider protocol.

The kubelet execs a credential provider once per image pull that its cache cannot answer
(``pkg/credentialprovider/plugin/plugin.go``): a ``CredentialProviderRequest`` on stdin, a
``CredentialProviderResponse`` on stdout, a one-minute timeout. Serving it from the same binary
means one tool, one settings file and one token cache for Docker, CI and the cluster: a kubelet
request and a ``docker pull`` on the same node, with the same AWS identity, share a cached token.

What the kubelet does with each kind of answer decided the shape of this module:

- A non-zero exit is logged at error level with our stderr and not cached, so the next pull of
  the image execs us again. That is right for a real failure (AWS said no, the network is down):
  one line on stderr, nothing on stdout, and the message lands in the kubelet's log.
- For an image that is not an ECR registry there is nothing to fail: the kubelet's own API
  documentation says a plugin "should set this field [auth] to null if no valid credentials can be
  returned for the requested image". Such an image gets an empty ``auth`` and ``cacheDuration``
  ``0s`` (the kubelet does not cache it), exit 0, and the pull goes on anonymously or with the
  pod's pull secrets, with no error line in the kubelet's log for every pull. The same answer
  serves ECR Public when there are no AWS credentials at all, as ``get`` does for Docker.
- ``auth`` is keyed by the image's registry exactly as the kubelet splits it off
  (``parseRegistry``: up to the first ``/``, port kept). The kubelet matches keys to images label
  by label and requires equal ports, so a key without the port would never match an image
  pulled as ``host:443/app``. The Go ``ecr-credential-provider`` drops the port and so misses it.
- ``cacheDuration`` is half of the token's remaining life as a Go duration (``5h59m30s``): by the
  time the kubelet asks again, ecrpy's own cache considers the token due for refresh too.

Service-account mode (KEP-4412): when the kubelet sends the pod's ``serviceAccountToken`` and a
role is named (the service account's ``eks.amazonaws.com/ecr-role-arn`` annotation, else the
``role_arn`` of ecrpy's settings for the registry), the ECR token is fetched with that role's
credentials from an unsigned ``AssumeRoleWithWebIdentity``. Its cache identity is the node's
identity fingerprint plus the role, the service account (issuer, namespace, name, uid) and the
annotations the kubelet passed, never the token itself, which is new on every pull: pods of one
service account share one ECR token, as the kubelet's own cache shares it. The token's claims are
read, not verified: only the kubelet writes our stdin, and STS verifies the token on every fetch.
``AWS_ECR_ROLE_ARN`` names the role when neither does, as cloud-provider-aws's provider reads it.
With a token but no role, the node's own identity serves the pull, as it would without the mode;
``requiredServiceAccountAnnotationKeys`` in the kubelet's config makes the role mandatory.

Everything ends within ``--timeout`` seconds (default 50, under the kubelet's 60): the same
:class:`deadline.Deadline` as a ``get``'s, armed around the whole request, turns a hung call, a
held lock or slow retries into one line on stderr (and ends the process if anything swallows it).
"""

from __future__ import annotations

import base64
import io
import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from .. import access, config, ecr, log, protocol, tokens
from ..cache import Entry
from ..cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, crash, read_stdin
from ..config import Settings
from ..deadline import Deadline
from ..ecr import Token
from ..errors import TokenUnavailable, redact
from ..identity import fingerprint, identity_env, read_file
from ..paths import aws_files, cache_dir, settings_file
from ..protocol import HelperError
from ..registry import Registry, route
from ..tokens import Fetch

GROUP = "credentialprovider.kubelet.k8s.io"
API_VERSIONS = (f"{GROUP}/v1", f"{GROUP}/v1beta1", f"{GROUP}/v1alpha1")
REQUEST_KIND = "CredentialProviderRequest"
RESPONSE_KIND = "CredentialProviderResponse"
ROLE_ANNOTATION = "eks.amazonaws.com/ecr-role-arn"
ROLE_ENV = "AWS_ECR_ROLE_ARN"  # service accounts' default role, as ecr-credential-provider reads it
PROGRAM = "docker-credential-ecrpy kubelet-provider"

# A request is an image reference, a service-account token (~1-2 KiB) and a few annotations.
MAX_REQUEST = 1024 * 1024
DEFAULT_TIMEOUT = 50.0  # the kubelet kills its plugins after 60 s
TIMEOUT_HINT = "the kubelet allows 60 s: is the ECR or STS API reachable from this node?"

USAGE = f"""Usage: {PROGRAM} [--timeout SECONDS]

Serves the kubelet's image credential provider protocol (credentialprovider.kubelet.k8s.io v1,
v1beta1, v1alpha1): reads a CredentialProviderRequest on stdin, writes a
CredentialProviderResponse on stdout. The kubelet runs it; see docs/kubernetes.md.

  --timeout SECONDS  give up (one line on stderr, exit 1) after this long;
                     default {DEFAULT_TIMEOUT:g}"""


class RequestError(Exception):
    """A request or an argument ecrpy cannot serve; the message is the one line on stderr."""


class Request:
    """A decoded ``CredentialProviderRequest``. A plain class: dataclasses import re and typing."""

    __slots__ = ("annotations", "api_version", "image", "token")

    def __init__(
        self,
        api_version: str,
        image: str,
        token: str = "",
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.api_version = api_version
        self.image = image
        self.token = token  # the pod's service-account token, "" when the kubelet sent none
        self.annotations = annotations or {}

    def __repr__(self) -> str:  # never the token
        return (
            f"Request(api_version={self.api_version!r}, image={self.image!r}, "
            f"token={'<set>' if self.token else '<none>'}, annotations={self.annotations!r})"
        )


class ServiceAccount:
    """Who a service-account token was issued to, from its (unverified) claims."""

    __slots__ = ("issuer", "name", "namespace", "uid")

    def __init__(self, issuer: str, namespace: str, name: str, uid: str) -> None:
        self.issuer = issuer
        self.namespace = namespace
        self.name = name
        self.uid = uid

    def __repr__(self) -> str:
        return f"ServiceAccount({self.namespace}/{self.name}, uid={self.uid!r})"


# -- the request -------------------------------------------------------------------------------


def parse_request(raw: bytes) -> Request:
    """Decode and check a request. Unknown fields are ignored: a newer kubelet may add some."""
    what = f"a {REQUEST_KIND} on stdin"
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[..."
        raise RequestError(f"the request is not JSON (expected {what})") from None
    if not isinstance(payload, dict):
        raise RequestError(f"the request is not a JSON object (expected {what})")
    api_version = payload.get("apiVersion")
    if api_version not in API_VERSIONS:
        shown = "none" if api_version is None else _quote(api_version)
        raise RequestError(f"unsupported apiVersion {shown} (supported: {', '.join(API_VERSIONS)})")
    kind = payload.get("kind")
    if kind != REQUEST_KIND:
        shown = "none" if kind is None else _quote(kind)
        raise RequestError(f"the request's kind is {shown}, not {REQUEST_KIND}")
    image = payload.get("image")
    if not isinstance(image, str) or not image.strip():
        raise RequestError("the request names no image (its 'image' field is missing or empty)")
    token = payload.get("serviceAccountToken") or ""
    if not isinstance(token, str):
        raise RequestError("the request's serviceAccountToken is not a string")
    annotations = payload.get("serviceAccountAnnotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(value, str) for value in annotations.values()
    ):
        raise RequestError("the request's serviceAccountAnnotations is not a map of strings")
    return Request(str(api_version), image.strip(), token, dict(annotations))


def _quote(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(protocol.one_line(text)[:100])


def image_registry(image: str) -> tuple[str, str | None]:
    """The image's registry as the kubelet keys it (``host[:port]``) and its bare hostname.

    The key is ``parseRegistry``'s: everything before the first ``/``. The hostname drops the
    port, lowercases, and is None for a key that cannot be a hostname at all (``user@host``,
    a Docker Hub short name with a tag or digest).
    """
    key = image.split("/", 1)[0]
    if not key or "@" in key:
        return key, None
    # "ubuntu:22.04" is a Docker Hub image, not a host:port; the rest is protocol's authority rule
    return key, protocol.hostname(key) or None


# -- the response ------------------------------------------------------------------------------


def go_duration(seconds: float) -> str:
    """Whole seconds as Go's ``time.Duration.String()`` writes them: ``5h59m30s``, ``1m0s``."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def response(api_version: str, key: str, entry: Entry | None, now: float) -> dict[str, Any]:
    """The response, with exactly the schema's fields, in the order Go's encoder writes them.

    ``entry`` None: no credentials (not ECR, or ECR Public without AWS credentials): empty
    ``auth`` and ``0s``, so the kubelet neither caches nor logs an error.
    """
    if entry is None:
        duration, auth = "0s", {}
    else:
        duration = go_duration((entry.expires_at - now) / 2)
        auth = {key: {"username": entry.username, "password": entry.password}}
    return {
        "kind": RESPONSE_KIND,
        "apiVersion": api_version,
        "cacheKeyType": "Registry",
        "cacheDuration": duration,
        "auth": auth,
    }


def encode(answer: dict[str, Any]) -> str:
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False) + "\n"


# -- service-account mode ----------------------------------------------------------------------


def service_account(token: str) -> ServiceAccount:
    """The service account a Kubernetes-issued JWT names (claims read, signature not checked)."""
    parts = token.split(".")
    claims: Any = None
    if len(parts) == 3:
        body = parts[1] + "=" * (-len(parts[1]) % 4)
        try:
            claims = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
        except (ValueError, UnicodeError):  # binascii.Error is a ValueError
            claims = None
    if not isinstance(claims, dict):
        raise RequestError("the request's serviceAccountToken is not a JWT")
    issuer, subject = claims.get("iss"), claims.get("sub")
    k8s = claims.get("kubernetes.io")
    k8s = k8s if isinstance(k8s, dict) else {}
    account = k8s.get("serviceaccount")
    account = account if isinstance(account, dict) else {}
    namespace, name, uid = k8s.get("namespace"), account.get("name"), account.get("uid")
    if not (isinstance(namespace, str) and isinstance(name, str)) and isinstance(subject, str):
        prefix, _, rest = subject.partition("system:serviceaccount:")
        namespace, _, name = rest.partition(":")
        if prefix:
            namespace = name = None
    if not (isinstance(issuer, str) and isinstance(namespace, str) and isinstance(name, str)):
        raise RequestError(
            "the request's serviceAccountToken has no issuer or service account in its claims"
        )
    if not (namespace and name):
        raise RequestError("the request's serviceAccountToken names no service account")
    return ServiceAccount(issuer, namespace, name, uid if isinstance(uid, str) else "")


def session_name(settings: Settings, account: ServiceAccount) -> str:
    """The role session name: the settings' one, else the service account (shows in CloudTrail)."""
    if settings.role_session_name:
        return settings.role_session_name
    name = f"ecrpy-{account.namespace}.{account.name}"
    return "".join(ch if ch in config.SESSION_NAME_CHARS else "-" for ch in name)[:64]


def sa_identity(
    environ: Mapping[str, str],
    role: str,
    account: ServiceAccount,
    annotations: Mapping[str, str],
) -> str:
    """The cache identity of a service-account request: the node's inputs, the role, the account.

    Never the token: it is minted per pod and per pull, and keying on it would make every pull a
    cold one. The pod's name and uid stay out too, so every pod of the account shares the token.
    """
    extra = [
        ("kubelet:role", role),
        ("kubelet:issuer", account.issuer),
        ("kubelet:namespace", account.namespace),
        ("kubelet:serviceaccount", account.name),
        ("kubelet:uid", account.uid),
    ]
    extra += [(f"kubelet:annotation:{k}", v) for k, v in sorted(annotations.items())]
    files = (*aws_files(environ), settings_file(environ))
    return fingerprint(
        (*identity_env(environ), *extra), [(path, read_file(path)) for path in files]
    )


def web_identity_fetch(settings: Settings, role: str, token: str, account: ServiceAccount) -> Fetch:
    """Fetch with the role's credentials, assumed with the pod's token."""

    def fetch(registry: Registry) -> Token:
        session = session_name(settings, account)
        log.debug("web identity %s as %s/%s", role, account.namespace, account.name)
        credentials = ecr.assume_role_with_web_identity(registry, settings, role, token, session)
        return ecr.fetch(registry, settings, credentials=credentials)

    return fetch


def _settings(registry: Registry, environ: Mapping[str, str]) -> Settings:
    """ecrpy's settings for the registry of a service-account request, with ``AWS_ECR_ROLE_ARN``
    as the role when they name none.

    ``AWS_ECR_ROLE_ARN`` (set in the ``env`` of the kubelet's ``CredentialProviderConfig``) is
    what cloud-provider-aws's ``ecr-credential-provider`` reads for the same purpose: the role
    that service accounts without the annotation assume with their token.
    """
    settings = access.settings_for(environ, registry)
    node_role = environ.get(ROLE_ENV, "").strip()
    if settings.role_arn or not node_role:
        return settings
    if not config.is_role_arn(node_role):
        raise RequestError(
            f"{ROLE_ENV} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>): "
            f"{_quote(node_role)}"
        )
    return settings._replace(role_arn=node_role, source=f"{ROLE_ENV} in the environment")


def _role(request: Request, registry: Registry, environ: Mapping[str, str]) -> tuple[str, Settings]:
    """The role of a service-account request: the annotation, else the settings' (or
    ``AWS_ECR_ROLE_ARN``); "" if none.

    Settings are parsed here, on service-account requests: they name the STS region, the session
    name and the lifetime, and the role when no annotation does.
    """
    settings = _settings(registry, environ)
    role = request.annotations.get(ROLE_ANNOTATION, "").strip()
    if role:
        if not config.is_role_arn(role):
            raise RequestError(
                f"the service account's {ROLE_ANNOTATION} annotation is not an IAM role ARN "
                f"(arn:aws:iam::<account>:role/<name>): {_quote(role)}"
            )
        return role, settings
    return settings.role_arn or "", settings


# -- serving -----------------------------------------------------------------------------------


def serve(request: Request, environ: Mapping[str, str], now: float) -> dict[str, Any]:
    """The response for a request; raises TokenUnavailable or RequestError when there is none."""
    key, host = image_registry(request.image)
    # the alias is looked up by ``host[:port]``: ``auth`` stays keyed by the name the kubelet
    # matches the image with
    registry = route(key, environ).registry if host else None
    if registry is None:
        log.info("kubelet %s: not an ECR registry, no credentials", key)
        return response(request.api_version, key, None, now)
    role, settings, account = "", None, None
    if request.token:
        role, settings = _role(request, registry, environ)
    if role and settings is not None:
        account = service_account(request.token)
        source = access.resolver(
            environ,
            timed=False,  # the whole request is under the kubelet's deadline (run)
            fingerprint=sa_identity(environ, role, account, request.annotations),
            fetch=web_identity_fetch(settings, role, request.token, account),
        )
    else:
        source = access.resolver(environ, timed=False)
    try:
        entry = source.get(registry)
    except TokenUnavailable as exc:
        if tokens.anonymous(registry, exc) and account is None:
            return response(request.api_version, key, None, now)  # anonymous public pulls
        raise
    return response(request.api_version, key, entry, now)


def _parse_args(argv: list[str]) -> float | None:
    """The --timeout, or None when help was asked for."""
    timeout = DEFAULT_TIMEOUT
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            return None
        if arg == "--timeout" and args:
            value = args.pop(0)
        elif arg.startswith("--timeout="):
            value = arg.partition("=")[2]
        else:
            raise RequestError(
                f"unexpected argument {_quote(arg)} (usage: {PROGRAM} [--timeout N])"
            )
        try:
            timeout = float(value)
        except ValueError:
            timeout = 0.0
        if not 0 < timeout <= 3600:
            raise RequestError(f"--timeout must be a number of seconds, not {_quote(value)}")
    return timeout


def _fail(message: str, environ: Mapping[str, str], token: str, stderr: TextIO) -> int:
    """Exactly one line on stderr, with no secret of the environment nor the pod's token."""
    line = redact(protocol.one_line(message), environ)
    if len(token) >= 8:
        line = line.replace(token, "***")
    stderr.write(line + "\n")
    stderr.flush()
    return EXIT_ERROR


def run(argv: list[str], environ: Mapping[str, str]) -> int:
    """Serve one request from stdin; write the response or one error line; never raises.

    The log goes to ``ecrpy.log`` in the cache directory. Where it cannot (no trustworthy
    directory), :mod:`log` falls back to stderr; here those records are held back while the
    request is served and written only after a success, when the kubelet ignores stderr: on a
    failure the kubelet logs our stderr, and it must be the one line that says why.
    """
    log.configure(cache_dir(environ), environ.get(log.LEVEL_ENV))
    stderr, held = sys.stderr, io.StringIO()
    sys.stderr = held
    try:
        code = _run(argv, environ, stderr)
    finally:
        sys.stderr = stderr
    if code == EXIT_OK and held.getvalue():
        stderr.write(held.getvalue())
    return code


def _run(argv: list[str], environ: Mapping[str, str], stderr: TextIO) -> int:
    token = ""
    try:
        timeout = _parse_args(argv)
        if timeout is None:
            sys.stdout.write(USAGE + "\n")
            return EXIT_OK
        with Deadline(timeout, "serving the kubelet's request", TIMEOUT_HINT):
            too_long = f"ecrpy: the request is larger than {MAX_REQUEST} bytes"
            request = parse_request(read_stdin(MAX_REQUEST, too_long))
            token = request.token
            answer = serve(request, environ, time.time())
    except (RequestError, TokenUnavailable) as exc:
        return _fail(f"ecrpy: {exc}", environ, token, stderr)
    except HelperError as exc:  # stdin too long
        return _fail(exc.message, environ, token, stderr)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _fail(crash(exc, "kubelet-provider"), environ, token, stderr)
    sys.stdout.write(encode(answer))
    sys.stdout.flush()
    return EXIT_OK
