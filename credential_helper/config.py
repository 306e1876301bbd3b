"""ecrpy's own settings: which AWS profile and role serve which registry.

The file is TOML, found at ``$ECRPY_CONFIG``, else ``$XDG_CONFIG_HOME/ecrpy/config.toml``, else
``~/.config/ecrpy/config.toml``. A missing file means "use the default AWS identity for every
registry"::

    [registries."210987654321.dkr.ecr.us-east-1.amazonaws.com"]   # one registry
    role_arn = "arn:aws:iam::210987654321:role/ecr-push"
    external_id = "jenkins"

    [registries."111122223333"]                                   # every registry of an account
    profile = "prod"

    [registries."*.dkr.ecr.*.amazonaws.com.cn"]                   # a glob over hostnames
    profile = "china"

The most specific entry wins: an exact hostname, then an account id, then the glob with the most
literal characters. An ``[aliases]`` table maps names ECR does not know (a custom domain behind a
proxy, a mirror) to the ECR registry they stand for; see :mod:`aliases`::

    [aliases]
    "registry.corp.example" = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

A ``[store]`` table names the fallback store for every registry that is not
ECR, when ecrpy is Docker's ``credsStore`` (see :mod:`store_mode`)::

    [store]
    fallback = "pass"     # docker-credential-pass keeps the other registries' logins

Only the cold path (and a request for a registry that is not ECR) parses this file (``tomllib``
imports ``re``); the warm path hashes its bytes into the identity fingerprint, so editing it is a
new identity.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import safefile
from .errors import CONFIG, TokenUnavailable
from .paths import settings_file
from .protocol import authority
from .registry import Registry, is_region, parse, region_partition

KEYS = ("profile", "role_arn", "external_id", "role_session_name", "duration_seconds", "region")
SESSION_NAME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-"
)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
EXACT, ACCOUNT, GLOB = 3, 2, 1


class ConfigError(TokenUnavailable):
    """The settings file cannot be used; the message names the file, the line and the key.

    A broken settings file is one more reason no token can be had (kind ``CONFIG``): every
    front end answers it as it answers any other, with no translation of its own.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, CONFIG)


class Settings(NamedTuple):
    """How to get a token for one registry. All None: botocore's default chain, no role."""

    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str | None = None
    duration_seconds: int | None = None
    region: str | None = None  # region of the STS call; default: the registry's own
    source: str | None = None  # which entry matched, for whoami and error messages


class Entry(NamedTuple):
    pattern: str
    kind: int  # EXACT, ACCOUNT or GLOB
    settings: Settings

    def rank(self) -> tuple[int, int, int]:
        literal = sum(ch not in "*?[]" for ch in self.pattern)
        return (self.kind, literal, len(self.pattern))


class Config(NamedTuple):
    path: str
    entries: tuple[Entry, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # (alias host[:port], ECR registry host)
    fallback: str | None = None  # [store] fallback: docker-credential-<name> for other registries


def load(environ: Mapping[str, str]) -> Config:
    """The settings in force; an empty Config when the file does not exist."""
    path = settings_file(environ)
    try:
        raw = safefile.read(path, follow=True)  # a FIFO there is never waited on
    except OSError as exc:
        raise ConfigError(f"cannot read ecrpy config {path}: {exc.strerror}") from None
    if raw is None:
        return Config(path)
    return parse_text(raw.decode("utf-8", "replace"), path)


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    result: dict[str, Any] = tomllib.loads(text)
    return result


def parse_text(text: str, path: str) -> Config:
    """Parse and validate the file's text. Pure: the path only goes into messages."""
    try:
        data = _toml_loads(text)
    except ValueError as exc:  # TOMLDecodeError says "(at line N, column M)"
        raise ConfigError(f"ecrpy config {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"registries", "aliases", "store"})
    if unknown:
        raise ConfigError(
            f"ecrpy config {path}, line {_line_of(text, unknown[0])}: unknown table or key "
            f'{unknown[0]!r} (expected [registries."<registry>"] tables, [aliases] and [store])'
        )
    registries = data.get("registries", {})
    if not isinstance(registries, dict):
        raise ConfigError(f"ecrpy config {path}: 'registries' must be a table of tables")
    entries = [_entry(pattern, values, text, path) for pattern, values in registries.items()]
    return Config(
        path,
        tuple(entries),
        _aliases(data.get("aliases", {}), text, path),
        _fallback(data.get("store", {}), text, path),
    )


def _aliases(table: Any, text: str, path: str) -> tuple[tuple[str, str], ...]:
    """The ``[aliases]`` table, checked: exact names (port included when given) to ECR hosts."""
    if not isinstance(table, dict):
        raise ConfigError(f"ecrpy config {path}: 'aliases' must be a table of names to registries")
    found: dict[str, str] = {}
    for name, target in table.items():
        where = f"ecrpy config {path}, line {_line_of(text, name, after='aliases')}"
        key = authority(name)
        host = key.rpartition(":")[0] if key.rpartition(":")[2].isdigit() else key
        if key != name.lower().rstrip(".") or not host or not set(host) <= _HOST_CHARS:
            raise ConfigError(
                f'{where}: alias "{name}" must be a hostname, with a port if the images name '
                "one (no scheme, path or user)"
            )
        if parse(host) is not None:
            raise ConfigError(f'{where}: alias "{name}" is an ECR registry already')
        if not isinstance(target, str) or parse(target.lower().rstrip(".")) is None:
            raise ConfigError(
                f'{where}: alias "{name}" must name an ECR registry hostname such as '
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
            )
        if key in found:
            raise ConfigError(f'{where}: alias "{name}" is listed twice')
        found[key] = target.lower().rstrip(".")
    return tuple(found.items())


HELPER_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _fallback(store: Any, text: str, path: str) -> str | None:
    """``[store] fallback``: the name of a credential helper, docker-credential-<name>."""
    if not isinstance(store, dict):
        raise ConfigError(f"ecrpy config {path}: 'store' must be a table ([store])")
    for key in store:
        if key != "fallback":
            raise ConfigError(
                f"ecrpy config {path}, line {_line_of(text, key, after='store')}: unknown key "
                f"{key!r} in [store] (known: fallback)"
            )
    name = store.get("fallback")
    if name is None:
        return None
    where = f"ecrpy config {path}, line {_line_of(text, 'fallback', after='store')}"
    if not isinstance(name, str) or not name or not set(name) <= HELPER_NAME_CHARS:
        raise ConfigError(
            f"{where}: fallback in [store] must be a credential helper's name, the part after "
            'docker-credential- (such as "pass" or "desktop")'
        )
    if name == "ecrpy":
        raise ConfigError(
            f"{where}: fallback in [store] cannot be ecrpy itself: name the store that keeps "
            "the other registries' logins, or remove the line to use ecrpy's own"
        )
    return name


def _entry(pattern: str, values: Any, text: str, path: str) -> Entry:
    where = f"ecrpy config {path}, line {_line_of(text, pattern)}"
    if not isinstance(values, dict):
        raise ConfigError(f'{where}: registries."{pattern}" must be a table')
    kind = _kind(pattern)
    if kind is None:
        raise ConfigError(
            f'{where}: "{pattern}" is neither an ECR registry hostname, a 12-digit account id, '
            "nor a glob over hostnames"
        )
    for key, value in values.items():
        line = _line_of(text, key, after=pattern)
        if key not in KEYS:
            raise ConfigError(
                f'ecrpy config {path}, line {line}: unknown key {key!r} in registries."{pattern}" '
                f"(known: {', '.join(KEYS)})"
            )
        problem = _check(key, value)
        if problem:
            raise ConfigError(f'ecrpy config {path}, line {line}: {key} in "{pattern}" {problem}')
    settings = Settings(**values, source=f'registries."{pattern}" in {path}')
    return Entry(pattern.lower().rstrip("."), kind, settings)


def _kind(pattern: str) -> int | None:
    if len(pattern) == 12 and pattern.isdigit():
        return ACCOUNT
    if not pattern.isascii():  # registry hostnames are ASCII: nothing may fold into one
        return None
    if any(ch in pattern for ch in "*?["):
        return GLOB
    return EXACT if parse(pattern.lower().rstrip(".")) is not None else None


def _check(key: str, value: Any) -> str | None:
    """Why a value is unusable, or None."""
    if key == "duration_seconds":
        if not isinstance(value, int) or isinstance(value, bool) or not 900 <= value <= 43200:
            return "must be a whole number of seconds from 900 to 43200"
        return None
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if key == "role_arn" and not is_role_arn(value):
        return "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
    if key == "role_session_name" and not (
        2 <= len(value) <= 64 and set(value) <= SESSION_NAME_CHARS
    ):
        return "must be 2 to 64 letters, digits or +=,.@_-"
    if key == "region" and not (is_region(value) and region_partition(value)):
        return "must be a region name such as us-east-1 (a newer one: see ECRPY_EXTRA_REGIONS)"
    return None


def is_role_arn(value: str) -> bool:
    """The shape of an IAM role ARN (``arn:<partition>:iam::<account>:role/<name>``), loosely:
    STS judges the rest."""
    return value.startswith("arn:") and ":role/" in value


def _line_of(text: str, key: str, after: str | None = None) -> int:
    """The line where ``key`` is set or named (after the table ``after``), for messages."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        for number, line in enumerate(lines):
            if after in line and line.lstrip().startswith("["):
                start = number
                break
    for number in range(start, len(lines)):
        stripped = lines[number].strip().strip("[]").strip()
        if stripped.startswith((key, f'"{key}"', f"registries.{key}", f'registries."{key}"')):
            return number + 1
    return start + 1


def settings_for(config: Config, registry: Registry) -> Settings:
    """The settings of the most specific entry that matches this registry."""
    import fnmatch  # only here: a credsStore request reads [store] and never matches a registry

    best: Entry | None = None
    for entry in config.entries:
        if entry.kind == EXACT:
            matched = entry.pattern == registry.host
        elif entry.kind == ACCOUNT:
            matched = entry.pattern == registry.account
        else:
            matched = fnmatch.fnmatchcase(registry.host, entry.pattern)
        if matched and (best is None or entry.rank() > best.rank()):
            best = entry
    return best.settings if best else Settings()
