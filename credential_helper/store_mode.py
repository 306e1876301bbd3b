"""Every registry that is not ECR, when ecrpy is Docker's ``credsStore``: one entry point.

Docker has no wildcards in ``credHelpers``, so the one way to let ecrpy serve every ECR registry
(every account, region, partition) without listing them is ``"credsStore": "ecrpy"``. Docker
then also sends ecrpy every other registry's ``docker login``, ``get`` and ``docker logout``.
:func:`serve_other` answers those, and only those (the CLI decides with the registry grammar,
before any of this is imported):

- with ``[store] fallback = "<name>"`` in ecrpy's settings, the request goes to
  ``docker-credential-<name>`` byte for byte (same action, same stdin; its stdout, its exit code,
  its stderr), within ecrpy's deadline (:mod:`fallback`);
- with none, ecrpy keeps the login in its own owner-only file (:mod:`login_store`), and answers
  with Docker's exact strings.

An ECR hostname never gets here: a ``docker login`` to ECR stores nothing anywhere.
"""

from __future__ import annotations

import sys

from . import protocol
from .protocol import HelperError

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .login_store import LoginStore


def configured(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """(the fallback's name or None for ecrpy's own store, the settings file that says so).

    The file is parsed only when it could hold a ``[store]`` table (TOML can only spell the key
    ``store`` with those letters, or with an escape), and then once per version of its bytes
    (:mod:`settings_memo`): TOML costs more than a warm ``get``.
    """
    from . import paths, safefile, settings_memo

    path = paths.settings_file(environ)
    try:
        raw = safefile.read(path, follow=True)  # never blocks on a FIFO put in its place
        if raw is None:
            return None, path  # no settings file: ecrpy's own store
    except OSError:
        raw = None  # unreadable, or not a regular file: config says so, in its words
    if raw is not None and b"store" not in raw and b"\\" not in raw:
        return None, path
    data = paths.data_dir(environ)
    memo = data if data and raw is not None else None
    key = settings_memo.digest(raw or b"", path)
    if memo is not None:
        found, name = settings_memo.recall(memo, key)
        if found:
            return name, path
    name = _parsed_fallback(raw, path, environ)
    if memo is not None:
        settings_memo.remember(memo, key, name)
    return name, path


def _parsed_fallback(raw: bytes | None, path: str, environ: Mapping[str, str]) -> str | None:
    """What :mod:`config`, the one reader of the settings file, says the fallback is."""
    from . import config

    try:
        if raw is None:
            return config.load(environ).fallback
        return config.parse_text(raw.decode("utf-8", "replace"), path).fallback
    except config.ConfigError as exc:
        raise HelperError(f"ecrpy: {exc}") from None


def serve_other(action: str, raw: bytes, environ: Mapping[str, str]) -> int:
    """Answer ``action`` (get, store, erase) with stdin ``raw`` for a registry that is not ECR.

    Writes the answer on stdout and returns the exit code; a problem of ecrpy's own (a missing
    fallback, an unusable store) is a HelperError, which the CLI prints as one line.
    """
    name, settings = configured(environ)
    if name is None:
        answer = _own_store(action, raw, environ)
        if answer:
            sys.stdout.write(answer + "\n")
        return 0
    code, output = forward(name, settings, action, raw, environ)
    sys.stdout.flush()
    sys.stdout.buffer.write(output)
    return code


def forward(
    name: str, settings: str, action: str, raw: bytes, environ: Mapping[str, str]
) -> tuple[int, bytes]:
    """Run ``docker-credential-<name> action`` with ``raw`` on stdin: (exit code, stdout)."""
    from . import fallback
    from .deadline import TIMEOUT_ENV, timeout_from

    program = fallback.program(name)
    path = fallback.find(name, environ)
    if path is None:
        raise HelperError(
            f"ecrpy: the fallback store {program} is not on PATH (named by [store] fallback "
            f"in {settings}): install it, or change or remove that line"
        )
    seconds = timeout_from(environ.get(TIMEOUT_ENV))
    try:
        return fallback.run(path, action, raw, environ, seconds)
    except fallback.FallbackError as exc:
        raise HelperError(
            f"ecrpy: the fallback store {program} {exc} (named by [store] fallback in "
            f"{settings}); fix it, change that line, or set {TIMEOUT_ENV} to wait longer"
        ) from None


def other_logins(environ: Mapping[str, str]) -> dict[str, str]:
    """``list`` of the other registries: the fallback's list, or the own store's.

    A fallback that fails its ``list`` is an error (Docker would have seen it fail, too); one
    that answers something other than a JSON object of strings is one as well.
    """
    from . import jsonlite
    from .login_store import StoreError

    name, settings = configured(environ)
    if name is None:
        try:
            return {url: login[0] for url, login in _store(environ).read().items()}
        except StoreError as exc:
            raise HelperError(f"ecrpy: {exc}") from None
    code, output = forward(name, settings, "list", b"", environ)
    text = output.decode("utf-8", "replace")
    try:
        listed = jsonlite.loads(text)
    except ValueError:
        listed = None
    if (
        code == 0
        and isinstance(listed, dict)
        and all(isinstance(value, str) for value in listed.values())
    ):
        return listed
    shown = protocol.one_line(text)[:200] or f"nothing, exit code {code}"
    raise HelperError(
        f"ecrpy: the fallback store docker-credential-{name} answered list with: {shown}"
    )


def _store(environ: Mapping[str, str]) -> LoginStore:
    from . import login_store, paths
    from .deadline import TIMEOUT_ENV, timeout_from

    path = paths.login_store(environ)
    if path is None:
        raise HelperError(
            "ecrpy: no HOME, so ecrpy has nowhere to keep logins of registries that are not ECR: "
            "set HOME or XDG_DATA_HOME, or name a fallback store in ecrpy's settings"
        )
    return login_store.LoginStore(path, timeout_from(environ.get(TIMEOUT_ENV)))


def _own_store(action: str, raw: bytes, environ: Mapping[str, str]) -> str:
    """One action on ecrpy's own store, answered as Docker's own helpers answer it."""
    from .login_store import StoreError

    store = _store(environ)
    try:
        if action == "store":
            store.store(protocol.parse_store(raw))
            return ""
        url = protocol.server_url(raw)
        if action == "erase":
            if not store.erase(url):
                raise HelperError(protocol.NOT_FOUND)
            return ""
        login = store.get(url)
    except StoreError as exc:
        raise HelperError(f"ecrpy: {exc}") from None
    if login is None:
        raise HelperError(protocol.NOT_FOUND)
    return protocol.encode_credentials(protocol.Credentials(url, *login))
