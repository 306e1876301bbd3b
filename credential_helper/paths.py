"""Where ecrpy's files, and the files it reads, live: every location, decided in one place.

On Linux, macOS and other POSIX systems (XDG's conventions, as before):

- the **cache directory** (tokens, their locks and failure records, the log):
  ``$AWS_ECR_CACHE_DIR`` (the Go helper's variable), else ``$XDG_CACHE_HOME/ecrpy``, else
  ``~/.cache/ecrpy``;
- the **data directory** (ecrpy's own login store, the settings memo, the undo record of
  ``configure --store``): ``$XDG_DATA_HOME/ecrpy``, else ``~/.local/share/ecrpy``;
- ecrpy's **settings file**: ``$ECRPY_CONFIG``, else ``$XDG_CONFIG_HOME/ecrpy/config.toml``,
  else ``~/.config/ecrpy/config.toml``.

On Windows, the home directory is ``%USERPROFILE%`` (else ``%HOMEDRIVE%%HOMEPATH%``) and never
``%HOME%``, as botocore (through ``os.path.expanduser``) and Docker find it: Git Bash and some
roaming profiles set ``HOME`` to another directory, and reading other files than botocore
would fingerprint the wrong identity. The XDG variables are a POSIX convention and are not
read there. ecrpy's machine-local files go under ``%LOCALAPPDATA%\\ecrpy`` (``cache`` and
``data``; else ``~\\AppData\\Local\\ecrpy``), its settings roam with the profile under
``%APPDATA%\\ecrpy\\config.toml`` (as pip's ``pip.ini``).

Everywhere: the **AWS config and credentials files** botocore reads (``AWS_CONFIG_FILE``,
``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/config`` and ``~/.aws/credentials``; their bytes
are part of the identity fingerprint, so they must be the very files botocore reads), and
**Docker's config file** (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``).

Pure functions of the environment and the platform they are given (``sys.platform`` by
default): the one place where a platform's conventions go. A warm ``get`` imports this module,
so it imports nothing (``os`` and ``sys`` are loaded with the interpreter).
"""

import os
import sys

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType

LOGIN_STORE = "logins.json"
UNDO_RECORD = "configure-store.json"
WINDOWS = "win32"


def _flavour(platform: str) -> "ModuleType":
    """``os.path`` of ``platform`` (``ntpath`` or ``posixpath``): this system's own, loaded."""
    windows = platform == WINDOWS
    if windows == (os.name == "nt"):
        return os.path
    import ntpath
    import posixpath

    return ntpath if windows else posixpath


def home(environ: "Mapping[str, str]", platform: str = sys.platform) -> "str | None":
    """The user's home directory; None when there is none to put files in (a service account)."""
    if platform == WINDOWS:
        found = environ.get("USERPROFILE") or ""
        if not found and environ.get("HOMEPATH"):
            found = environ.get("HOMEDRIVE", "") + environ["HOMEPATH"]
        return found if found and _flavour(platform).isabs(found) else None
    found = environ.get("HOME") or os.path.expanduser("~")
    if not found or found == "~" or not os.path.isabs(found):
        return None
    return found


def expand(path: str, environ: "Mapping[str, str]", platform: str = sys.platform) -> str:
    """``~`` at the start of ``path`` expanded the way botocore and Docker expand it.

    On Windows, only ``~`` itself and ``~\\...``/``~/...`` (``~user`` is left as it is).
    """
    if platform == WINDOWS:
        if path == "~" or path.startswith(("~/", "~\\")):
            base = home(environ, platform)
            return base + path[1:] if base else path
        return path
    if path.startswith("~") and environ.get("HOME"):
        return environ["HOME"] + path[1:]
    return os.path.expanduser(path)


def _local(environ: "Mapping[str, str]", platform: str, room: str) -> "str | None":
    """``%LOCALAPPDATA%\\ecrpy\\<room>`` on Windows."""
    flavour = _flavour(platform)
    local = environ.get("LOCALAPPDATA")
    if not (local and flavour.isabs(local)):
        base = home(environ, platform)
        if base is None:
            return None
        local = flavour.join(base, "AppData", "Local")
    return str(flavour.join(local, "ecrpy", room))


def _xdg(environ: "Mapping[str, str]", variable: str, default: str) -> "str | None":
    """``$variable/ecrpy`` when it is an absolute path, else ``~/<default>/ecrpy`` (POSIX)."""
    xdg = environ.get(variable)
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "ecrpy")
    base = home(environ)
    return os.path.join(base, default, "ecrpy") if base else None


def cache_dir(environ: "Mapping[str, str]", platform: str = sys.platform) -> "str | None":
    """Where tokens (and the log) live; None when there is no home to put them in."""
    explicit = environ.get("AWS_ECR_CACHE_DIR")
    if platform == WINDOWS:
        return (
            expand(explicit, environ, platform) if explicit else _local(environ, platform, "cache")
        )
    if explicit:
        return os.path.expanduser(explicit)
    return _xdg(environ, "XDG_CACHE_HOME", ".cache")


def data_dir(environ: "Mapping[str, str]", platform: str = sys.platform) -> "str | None":
    """Where ecrpy keeps what it cannot fetch again; None without a home."""
    if platform == WINDOWS:
        return _local(environ, platform, "data")
    return _xdg(environ, "XDG_DATA_HOME", os.path.join(".local", "share"))


def login_store(environ: "Mapping[str, str]", platform: str = sys.platform) -> "str | None":
    """ecrpy's own store of other registries' logins; None without a home."""
    directory = data_dir(environ, platform)
    return str(_flavour(platform).join(directory, LOGIN_STORE)) if directory else None


def undo_record(environ: "Mapping[str, str]", platform: str = sys.platform) -> "str | None":
    """What ``configure --store`` changed, for ``--remove --store``; None without a home."""
    directory = data_dir(environ, platform)
    return str(_flavour(platform).join(directory, UNDO_RECORD)) if directory else None


def settings_file(environ: "Mapping[str, str]", platform: str = sys.platform) -> str:
    """ecrpy's settings file (it need not exist)."""
    explicit = environ.get("ECRPY_CONFIG")
    if explicit:
        return expand(explicit, environ, platform)
    if platform == WINDOWS:
        flavour = _flavour(platform)
        roaming = environ.get("APPDATA")
        if not (roaming and flavour.isabs(roaming)):
            roaming = expand("~\\AppData\\Roaming", environ, platform)
        return str(flavour.join(roaming, "ecrpy", "config.toml"))
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "ecrpy", "config.toml")
    return expand("~/.config/ecrpy/config.toml", environ)


def aws_files(environ: "Mapping[str, str]", platform: str = sys.platform) -> "tuple[str, str]":
    """The shared config and credentials files botocore would read in this environment.

    The same strings botocore opens (``~/.aws/config`` through ``expanduser``: on Windows
    ``C:\\Users\\me/.aws/config``, separators and all).
    """
    config = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    credentials = environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return (expand(config, environ, platform), expand(credentials, environ, platform))


def docker_config(environ: "Mapping[str, str]", platform: str = sys.platform) -> str:
    """The config file Docker itself would read in this environment."""
    flavour = _flavour(platform)
    directory = environ.get("DOCKER_CONFIG")
    if not directory and platform == WINDOWS:
        directory = flavour.join(home(environ, platform) or "", ".docker")
    elif not directory:
        directory = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".docker")
    return str(flavour.join(directory, "config.json"))
