"""The kubelet's side of the exec credential provider protocol, as the Kubernetes source states it.

The one real kubelet here is 1.20.2 (``tests/e2e/test_kubelet.py``, v1alpha1 only), so for every
request version the tests hold ecrpy's ``kubelet-provider`` to the kubelet's rules written out
from its source. Every rule names where it comes from; the files are:

- ``plugin.go``: kubernetes/kubernetes ``pkg/credentialprovider/plugin/plugin.go``
- ``config.go``: kubernetes/kubernetes ``pkg/credentialprovider/plugin/config.go``
- ``keyring.go``: kubernetes/kubernetes ``pkg/credentialprovider/keyring.go`` (URLsMatch ...)
- ``parsers.go``: kubernetes/kubernetes ``pkg/util/parsers/parsers.go``
- ``kuberuntime_image.go``: kubernetes/kubernetes ``pkg/kubelet/kuberuntime/kuberuntime_image.go``
- ``api/<version>/types.go``: kubernetes/kubelet ``pkg/apis/credentialprovider/<version>/types.go``
  (staging/src/k8s.io/kubelet in kubernetes/kubernetes)
- ``config/v1/types.go``: kubernetes/kubelet ``config/v1/types.go`` (CredentialProviderConfig)
- Go itself: ``time.ParseDuration`` (metav1.Duration's UnmarshalJSON calls it), ``net/url.Parse``,
  ``path/filepath.Match``, ``encoding/json`` (the encoder the kubelet writes requests with).

The checker is strict where the kubelet is: ``plugin.go`` builds its codecs with
``serializer.NewCodecFactory(scheme, serializer.EnableStrict)``, so decoding a response or the
config fails on an unknown field (matched case-sensitively) or a field given twice.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

import yaml

from tests.conftest import helper_path

GROUP = "credentialprovider.kubelet.k8s.io"
V1, V1BETA1, V1ALPHA1 = f"{GROUP}/v1", f"{GROUP}/v1beta1", f"{GROUP}/v1alpha1"
# plugin.go, var apiVersions: the versions the kubelet can speak with a plugin.
API_VERSIONS = (V1ALPHA1, V1BETA1, V1)
CONFIG_GROUP = "kubelet.config.k8s.io"
# plugin.go, init(): kubeletconfig v1alpha1, v1beta1 and v1 are registered for the config file.
CONFIG_VERSIONS = tuple(f"{CONFIG_GROUP}/{v}" for v in ("v1alpha1", "v1beta1", "v1"))
EXEC_TIMEOUT = 60.0  # plugin.go, ExecPlugin: context.WithTimeout(ctx, 1*time.Minute)

# api/<version>/types.go, CredentialProviderRequest: TypeMeta inline, then the fields in order.
REQUEST_FIELDS = {
    V1ALPHA1: ("image",),
    V1BETA1: ("image",),
    V1: ("image", "serviceAccountToken", "serviceAccountAnnotations"),
}
# api/<version>/types.go, CredentialProviderResponse and AuthConfig: the same in all three.
RESPONSE_FIELDS = ("kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth")
AUTH_FIELDS = ("username", "password")
# api/<version>/types.go, PluginCacheKeyType; plugin.go, provide(): any other value, not used.
CACHE_KEY_TYPES = ("Image", "Registry", "Global")

# config/v1/types.go, CredentialProvider and ExecEnvVar; tokenAttributes is
# ServiceAccountTokenAttributes (its cacheType: config.go, validCacheTypes).
PROVIDER_FIELDS = {
    "name",
    "matchImages",
    "defaultCacheDuration",
    "apiVersion",
    "args",
    "env",
    "tokenAttributes",
}
TOKEN_FIELDS = {
    "serviceAccountTokenAudience",
    "cacheType",
    "requireServiceAccount",
    "requiredServiceAccountAnnotationKeys",
    "optionalServiceAccountAnnotationKeys",
}
ENV_FIELDS = {"name", "value"}
CACHE_TYPES = ("ServiceAccount", "Token")  # config.go, validCacheTypes


class PluginError(Exception):
    """What the kubelet logs instead of using an answer; it then caches nothing
    (plugin.go, provide(): ``klog.Errorf("Failed getting credential ...")``, empty DockerConfig)."""


class ConfigError(Exception):
    """A CredentialProviderConfig the kubelet refuses to start with (config.go)."""


# -- Go's grammars -----------------------------------------------------------------------------

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_MAX_DURATION = (2**63 - 1) / 1e9  # time.Duration is an int64 of nanoseconds


def parse_go_duration(text: str) -> float:
    """Seconds, as Go's ``time.ParseDuration`` reads ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+``.

    "0" alone needs no unit; every other number does; a number needs a digit before or after
    its point; units are ns us µs μs ms s m h; more than int64 nanoseconds is an overflow.
    """
    rest, sign = text, 1.0
    if rest[:1] in ("+", "-"):
        sign, rest = (-1.0 if rest[0] == "-" else 1.0), rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"time: invalid duration {text!r}")
    total = 0.0
    while rest:
        number = re.match(r"[0-9]*(\.[0-9]*)?", rest)
        digits = number.group(0) if number else ""
        if digits in ("", "."):
            raise ValueError(f"time: invalid duration {text!r}")
        rest = rest[len(digits) :]
        unit = re.match(r"[^0-9.]*", rest)
        name = unit.group(0) if unit else ""
        if not name:
            raise ValueError(f"time: missing unit in duration {text!r}")
        if name not in _GO_UNITS:
            raise ValueError(f"time: unknown unit {name!r} in duration {text!r}")
        rest = rest[len(name) :]
        total += float(digits) * _GO_UNITS[name]
        if total > _MAX_DURATION:
            raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


# net/url: shouldEscape(c, encodeHost) is false for these ASCII bytes; any other is an error.
_HOST_BYTES = set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,;=:[]<>\"%"
)


@dataclass(frozen=True)
class SchemelessURL:
    host: str  # url.URL.Host: the port included, brackets kept
    path: str


def parse_schemeless_url(text: str) -> SchemelessURL:
    """``ParseSchemelessURL`` (keyring.go): ``url.Parse("https://" + text)``, or ValueError.

    What ``url.Parse`` refuses here: control bytes, a bad %-escape, a byte not allowed in a
    host, an unclosed ``[``, a port that is not digits.
    """
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise ValueError(f"net/url: invalid control character in URL: {text!r}")
    rest = text.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        end = host.rfind("]")
        if end == -1:
            raise ValueError(f"missing ']' in host: {text!r}")
        after = host[end + 1 :]
        if not _valid_optional_port(after):
            raise ValueError(f"invalid port {after!r} after host: {text!r}")
    elif ":" in host:
        after = host[host.rfind(":") :]
        if not _valid_optional_port(after):
            raise ValueError(f"invalid port {after!r} after host: {text!r}")
    for ch in host:
        if ord(ch) < 0x80 and ch not in _HOST_BYTES:
            raise ValueError(f"invalid character {ch!r} in host name: {text!r}")
    for part in (host, path):
        for match in re.finditer("%(.{0,2})", part):
            if not re.fullmatch("[0-9A-Fa-f]{2}", match.group(1)):
                raise ValueError(f"invalid URL escape {match.group(0)!r}: {text!r}")
    return SchemelessURL(host, slash + path)


def _valid_optional_port(port: str) -> bool:
    """net/url, validOptionalPort: empty, or a colon and digits (none is fine too)."""
    return port == "" or (port[0] == ":" and all(ch in "0123456789" for ch in port[1:]))


def _split_url(url: SchemelessURL) -> tuple[list[str], str]:
    """keyring.go, SplitURL: ``net.SplitHostPort(url.Host)``, else the host whole, no port."""
    host, port = url.host, ""
    if host.startswith("["):
        end = host.find("]")
        if host[end + 1 : end + 2] == ":":
            host, port = host[1:end], host[end + 2 :]
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    return host.split("."), port


def go_filepath_match(pattern: str, name: str) -> bool:
    """``path/filepath.Match`` on one label: ``*`` ``?`` ``[...]`` (``^`` negates), ``\\``
    escapes; ValueError for a bad pattern (ErrBadPattern)."""
    regex, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            regex += "[^/]*"
        elif ch == "?":
            regex += "[^/]"
        elif ch == "\\":
            i += 1
            if i == len(pattern):
                raise ValueError("syntax error in pattern")
            regex += re.escape(pattern[i])
        elif ch == "[":
            i += 1
            negate = pattern[i : i + 1] == "^"
            i += negate
            ranges = []
            while True:
                if i >= len(pattern):
                    raise ValueError("syntax error in pattern")
                if pattern[i] == "]" and ranges:
                    break
                low, i = _class_char(pattern, i)
                high = low
                if pattern[i : i + 1] == "-":
                    high, i = _class_char(pattern, i + 1)
                    if high < low:
                        raise ValueError("syntax error in pattern")
                ranges.append(f"{re.escape(low)}-{re.escape(high)}")
            regex += "[" + ("^/" if negate else "") + "".join(ranges) + "]"
        else:
            regex += re.escape(ch)
        i += 1
    return re.fullmatch(regex, name, re.S) is not None


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """filepath.getEsc: one character of a class, unescaped; ``-`` and ``]`` must be escaped."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise ValueError("syntax error in pattern")
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise ValueError("syntax error in pattern")
    return pattern[i], i + 1


def urls_match(glob: str, target: str) -> bool:
    """keyring.go, URLsMatchStr / URLsMatch: the same port, the same number of host labels,
    one glob per label (filepath.Match), and the glob's path a prefix of the target's."""
    try:
        glob_url, target_url = parse_schemeless_url(glob), parse_schemeless_url(target)
    except ValueError:
        return False  # plugin.go, isImageAllowed: an error is no match
    glob_parts, glob_port = _split_url(glob_url)
    parts, port = _split_url(target_url)
    if glob_port != port or len(glob_parts) != len(parts):
        return False
    if not target_url.path.startswith(glob_url.path):
        return False
    try:
        return all(go_filepath_match(g, p) for g, p in zip(glob_parts, parts))
    except ValueError:
        return False


# -- the request -------------------------------------------------------------------------------


def repo_to_pull(image: str) -> str:
    """The image the kubelet asks about: the pod's image without tag or digest, normalised.

    kuberuntime_image.go, PullImage: ``repoToPull, _, _, err := parsers.ParseImageName(img)``
    and the keyring (so the plugin) is asked for ``repoToPull``; parsers.go, ParseImageName
    returns ``named.Name()`` of the parsed reference: docker.io and library/ added to short names.
    """
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    elif first == "index.docker.io":
        name = f"docker.io/{rest}"
    return name


_GO_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}
_GO_HTML_ESCAPES["\u2029"] = "\\u2029"


def encode_request(
    api_version: str, image: str, token: str = "", annotations: dict[str, str] | None = None
) -> bytes:
    """The request's bytes as the kubelet writes them on the plugin's stdin.

    plugin.go, ExecPlugin/encodeRequest: ``runtime.Encode`` with the JSON serializer, which is
    ``encoding/json``'s Encoder: compact, struct fields in declaration order (TypeMeta's
    ``kind`` then ``apiVersion``, then api/<version>/types.go's fields), ``omitempty`` fields
    left out when empty, map keys sorted, ``<>&`` escaped, and a final newline. The service
    account fields exist in v1 only (and config.go only allows tokenAttributes with v1).
    """
    if (token or annotations) and api_version != V1:
        raise ValueError(f"{api_version} has no service-account fields")
    body: dict[str, Any] = {"kind": "CredentialProviderRequest", "apiVersion": api_version}
    body["image"] = image
    if token:
        body["serviceAccountToken"] = token
    if annotations:
        body["serviceAccountAnnotations"] = dict(sorted(annotations.items()))
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _GO_HTML_ESCAPES.items():
        text = text.replace(raw, escaped)
    return (text + "\n").encode()


# -- the response ------------------------------------------------------------------------------


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object with every key once (EnableStrict: a duplicate field is an error)."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise PluginError(f'strict decoding error: duplicate field "{key}"')
        seen[key] = value
    return seen


def _no_constant(name: str) -> None:
    raise PluginError(f"invalid JSON: {name} (Go has no NaN or Infinity)")


def decode_json(data: bytes) -> Any:
    """JSON as Go decodes it strictly: valid UTF-8, no NaN/Infinity, no duplicate field."""
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PluginError(f"invalid JSON: {exc}") from None


def _string_or_null(value: Any, where: str) -> None:
    """encoding/json: a string field takes a string, or null (which leaves it empty)."""
    if value is not None and not isinstance(value, str):
        raise PluginError(f"json: cannot unmarshal {type(value).__name__} into {where} (string)")


def _fields(obj: dict[str, Any], allowed: tuple[str, ...] | set[str], where: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise PluginError(f"strict decoding error: unknown field(s) {unknown} in {where}")


def check_response(data: bytes, api_version: str) -> dict[str, Any]:
    """A response decoded as the kubelet decodes it, or PluginError with the kubelet's reason.

    plugin.go, ExecPlugin: ``json.DefaultMetaFactory.Interpret`` reads apiVersion and kind
    ("error reading GVK from response"); the apiVersion must equal the configured one, which is
    the request's ("apiVersion from credential plugin response did not match"); then
    decodeResponse: strict decoding into the version's CredentialProviderResponse, kind
    CredentialProviderResponse, group credentialprovider.kubelet.k8s.io. The field types are
    api/<version>/types.go's; cacheDuration is a metav1.Duration (a string ParseDuration takes);
    provide() uses the answer only with a known cacheKeyType.
    """
    answer = decode_json(data)
    if not isinstance(answer, dict):
        raise PluginError("error reading GVK from response: not a JSON object")
    _string_or_null(answer.get("apiVersion"), "TypeMeta.apiVersion")
    _string_or_null(answer.get("kind"), "TypeMeta.kind")
    if answer.get("apiVersion") != api_version:
        raise PluginError(
            "apiVersion from credential plugin response did not match expected apiVersion:"
            f"{api_version}, actual apiVersion:{answer.get('apiVersion')}"
        )
    if answer.get("kind") != "CredentialProviderResponse":
        raise PluginError(f"unexpected Kind: {answer.get('kind')!r}")
    _fields(answer, RESPONSE_FIELDS, "CredentialProviderResponse")
    _string_or_null(answer.get("cacheKeyType"), "CredentialProviderResponse.cacheKeyType")
    duration = answer.get("cacheDuration")
    if duration is not None:
        if not isinstance(duration, str):
            raise PluginError("cacheDuration: metav1.Duration must be a JSON string")
        try:
            parse_go_duration(duration)
        except ValueError as exc:
            raise PluginError(str(exc)) from None
    auth = answer.get("auth")
    if auth is not None:
        if not isinstance(auth, dict):
            raise PluginError("json: cannot unmarshal into map[string]AuthConfig")
        for key, config in auth.items():
            if config is None:
                continue
            if not isinstance(config, dict):
                raise PluginError(f"json: cannot unmarshal auth[{key!r}] into AuthConfig")
            _fields(config, AUTH_FIELDS, f"auth[{key!r}]")
            for field in AUTH_FIELDS:
                _string_or_null(config.get(field), f"AuthConfig.{field}")
    if answer.get("cacheKeyType") not in CACHE_KEY_TYPES:
        raise PluginError(
            "credential provider plugin did not return a valid cacheKeyType: "
            f"{answer.get('cacheKeyType')!r}"
        )
    return answer


@dataclass(frozen=True)
class Cached:
    """What plugin.go's provide() puts in the kubelet's cache for an answer."""

    key: str  # the image, its registry (parseRegistry), or "global"
    seconds: float


def cached(answer: dict[str, Any], image: str, default_seconds: float) -> Cached | None:
    """plugin.go, provide(): the cache key by cacheKeyType; cacheDuration 0 caches nothing,
    null falls back to defaultCacheDuration (and a 0 default caches nothing either)."""
    kind = answer["cacheKeyType"]
    key = {"Image": image, "Registry": image.split("/", 1)[0], "Global": "global"}[kind]
    duration = answer.get("cacheDuration")
    seconds = default_seconds if duration is None else parse_go_duration(duration)
    return None if seconds == 0 else Cached(key, seconds)


# -- the CredentialProviderConfig --------------------------------------------------------------


class _StrictYAML(yaml.SafeLoader):
    """YAML whose mappings refuse a key given twice (EnableStrict, as for JSON)."""


def _strict_mapping(loader: _StrictYAML, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ConfigError(f"strict decoding error: duplicate field(s) {duplicates}")
    return loader.construct_mapping(node, deep=deep)


_StrictYAML.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_StrictYAML)  # a SafeLoader subclass


_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_qualified_name(key: str) -> bool:
    """apimachinery validation.IsQualifiedName: ``[prefix/]name``, name <= 63 characters of
    ``[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]``, prefix a DNS subdomain <= 253."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return 0 < len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _string_list(value: Any, where: str) -> list[str]:
    _require(
        value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
        f"{where} must be a list of strings",
    )
    return list(value or [])


def check_config(config: Any) -> None:
    """A CredentialProviderConfig the kubelet starts with, or ConfigError.

    plugin.go, readCredentialProviderConfigFile/decode: strict decoding, kind
    CredentialProviderConfig in group kubelet.config.k8s.io; the fields and their types are
    config/v1/types.go's. config.go, validateCredentialProviderConfig: the rest, rule by rule.
    """
    _require(isinstance(config, dict), "the config is not a mapping")
    _require(config.get("kind") == "CredentialProviderConfig", "wrong Kind")
    _require(config.get("apiVersion") in CONFIG_VERSIONS, "unexpected Group or version")
    _require(set(config) <= {"kind", "apiVersion", "providers"}, f"unknown field in {config}")
    providers = config.get("providers")
    _require(isinstance(providers, list) and bool(providers), "at least 1 item in plugins")
    names: set[str] = set()
    for provider in providers:
        _require(isinstance(provider, dict), "a provider is not a mapping")
        unknown = set(provider) - PROVIDER_FIELDS
        _require(not unknown, f"strict decoding error: unknown field(s) {sorted(unknown)}")
        name = provider.get("name")
        _require(isinstance(name, str), "providers.name must be a string")
        _require("/" not in name, "provider name cannot contain '/'")
        _require(" " not in name, "provider name cannot contain spaces")
        _require(name not in (".", ".."), "provider name cannot be '.' or '..'")
        _require(name not in names, f"Duplicate value: {name!r}")
        names.add(name)
        api_version = provider.get("apiVersion")
        _require(bool(api_version), "providers.apiVersion: Required value")
        _require(api_version in API_VERSIONS, f"providers.apiVersion: Unsupported {api_version}")
        images = _string_list(provider.get("matchImages"), "providers.matchImages")
        _require(bool(images), "at least 1 item in matchImages is required")
        for image in images:
            try:
                parse_schemeless_url(image)
            except ValueError as exc:
                raise ConfigError(f"match image is invalid: {exc}") from None
        duration = provider.get("defaultCacheDuration")
        _require(duration is not None, "providers.defaultCacheDuration: Required value")
        _require(isinstance(duration, str), "defaultCacheDuration must be a string")
        try:
            seconds = parse_go_duration(duration)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        _require(seconds >= 0, "defaultCacheDuration must be greater than or equal to 0")
        _string_list(provider.get("args"), "providers.args")
        env = provider.get("env") or []
        _require(isinstance(env, list), "providers.env must be a list")
        for var in env:
            _require(isinstance(var, dict) and set(var) <= ENV_FIELDS, f"bad env entry {var}")
            _require(all(isinstance(v, str) for v in var.values()), "env values are strings")
        tokens = provider.get("tokenAttributes")
        if tokens is not None:
            _check_token_attributes(tokens, str(api_version))


def _check_token_attributes(tokens: Any, api_version: str) -> None:
    """config.go, validateCredentialProviderConfig, the ``provider.TokenAttributes`` branch."""
    _require(isinstance(tokens, dict), "tokenAttributes is not a mapping")
    unknown = set(tokens) - TOKEN_FIELDS
    _require(not unknown, f"strict decoding error: unknown field(s) {sorted(unknown)}")
    audience = tokens.get("serviceAccountTokenAudience")
    _require(isinstance(audience, str) and bool(audience), "serviceAccountTokenAudience: Required")
    require = tokens.get("requireServiceAccount")
    _require(isinstance(require, bool), "requireServiceAccount: Required value (a bool)")
    _require(api_version == V1, f"tokenAttributes is only supported for {V1} API version")
    required = _string_list(tokens.get("requiredServiceAccountAnnotationKeys"), "required keys")
    optional = _string_list(tokens.get("optionalServiceAccountAnnotationKeys"), "optional keys")
    _require(
        require or not required,
        "requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set",
    )
    for keys in (required, optional):  # validateServiceAccountAnnotationKeys
        _require(len(keys) == len(set(keys)), f"Duplicate value in {keys}")
        for key in keys:
            _require(is_qualified_name(key.lower()), f"invalid annotation key {key!r}")
    both = set(required) & set(optional)
    _require(not both, f"annotation keys cannot be both required and optional: {sorted(both)}")
    _require(tokens.get("cacheType") in CACHE_TYPES, f"cacheType: one of {CACHE_TYPES}")


# -- the exec plugin client --------------------------------------------------------------------


def plugin_command(args: list[str]) -> list[str]:
    """The plugin's argv as the kubelet builds it (plugin.go, ExecPlugin:
    ``exec.CommandContext(ctx, filepath.Join(e.pluginBinDir, e.name), e.args...)``)."""
    assert args[:1] == ["kubelet-provider"], args
    return [helper_path(), *args]


class Exec:
    """One run of the plugin."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


class Kubelet:
    """The kubelet's exec plugin client for one ``providers[]`` entry of a config."""

    def __init__(self, provider: dict[str, Any], environ: dict[str, str]) -> None:
        self.provider = provider
        self.environ = environ  # the kubelet's own environment
        self.last: Exec | None = None

    def request(
        self, image: str, token: str = "", annotations: dict[str, str] | None = None
    ) -> bytes:
        return encode_request(self.provider["apiVersion"], image, token, annotations)

    def exec(self, stdin: bytes) -> Exec:
        """plugin.go, ExecPlugin: the kubelet's environment with the config's ``env`` after it
        (mergeEnvVars; the last value of a name wins in os/exec), stdin, the one-minute bound."""
        env = dict(self.environ)
        env.update({var["name"]: var["value"] for var in self.provider.get("env", [])})
        result = subprocess.run(
            plugin_command(list(self.provider.get("args", []))),
            input=stdin,
            env=env,
            capture_output=True,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
        self.last = Exec(
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )
        return self.last

    def allowed(self, image: str) -> bool:
        """plugin.go, isImageAllowed: some matchImages entry matches the image."""
        return any(urls_match(pattern, image) for pattern in self.provider["matchImages"])

    def provide(
        self, image: str, token: str = "", annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The checked response for a pod's image, or {} when ``matchImages`` do not cover it.

        The pod's image becomes what the kubelet asks about (:func:`repo_to_pull`); a non-zero
        exit is an error with the plugin's stderr (plugin.go, ExecPlugin:
        ``fmt.Errorf("%w: %s", err, stderr.String())``).
        """
        repo = repo_to_pull(image)
        if not self.allowed(repo):
            return {}
        result = self.exec(self.request(repo, token, annotations))
        if result.returncode != 0:
            raise PluginError(f"exit status {result.returncode}: {result.stderr}")
        return check_response(result.stdout.encode(), self.provider["apiVersion"])

    def lookup(
        self, image: str, token: str = "", annotations: dict[str, str] | None = None
    ) -> list[tuple[str, str]]:
        """The (username, password) pairs the kubelet's keyring would try for the image
        (keyring.go, BasicDockerKeyring.Lookup: every key that URLsMatch the image)."""
        repo = repo_to_pull(image)
        auth = self.provide(image, token, annotations).get("auth") or {}
        return [
            ((config or {}).get("username") or "", (config or {}).get("password") or "")
            for key, config in auth.items()
            if urls_match(key, repo)
        ]
