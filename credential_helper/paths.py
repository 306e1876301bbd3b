"""Where ecrpy's files, and the files it reads, live: every location, decided in one place.

- the **cache directory** (tokens, their locks and failure records, the log):
  ``$AWS_ECR_CACHE_DIR`` (the Go helper's variable), else ``$XDG_CACHE_HOME/ecrpy``, else
  ``~/.cache/ecrpy``;
- the **data directory** (ecrpy's own login store, the settings memo, the undo record of
  ``configure --store``): ``$XDG_DATA_HOME/ecrpy``, else ``~/.local/share/ecrpy``;
- ecrpy's **settings file**: ``$ECRPY_CONFIG``, else ``$XDG_CONFIG_HOME/ecrpy/config.toml``,
  else ``~/.config/ecrpy/config.toml``;
- the **AWS config and credentials files** botocore reads (their bytes are part of the identity
  fingerprint, so they must be the very files botocore reads);
- **Docker's config file**, the one Docker itself reads.

Pure functions of the environment they are given: the one place where a platform's
conventions go. A warm ``get`` imports this module, so it imports nothing (``os`` is loaded).
"""

import os

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

LOGIN_STORE = "logins.json"
UNDO_RECORD = "configure-store.json"


def home(environ: "Mapping[str, str]") -> "str | None":
    """The user's home directory; None when there is none to put files in (a service account)."""
    found = environ.get("HOME") or os.path.expanduser("~")
    if not found or found == "~" or not os.path.isabs(found):
        return None
    return found


def expand(path: str, environ: "Mapping[str, str]") -> str:
    """``~`` at the start of ``path`` expanded the way botocore and Docker expand it."""
    if path.startswith("~") and environ.get("HOME"):
        return environ["HOME"] + path[1:]
    return os.path.expanduser(path)


def _xdg(environ: "Mapping[str, str]", variable: str, default: str) -> "str | None":
    """``$variable/ecrpy`` when it is an absolute path, else ``~/<default>/ecrpy``."""
    xdg = environ.get(variable)
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "ecrpy")
    base = home(environ)
    return os.path.join(base, default, "ecrpy") if base else None


def cache_dir(environ: "Mapping[str, str]") -> "str | None":
    """Where tokens (and the log) live; None when there is no home to put them in."""
    explicit = environ.get("AWS_ECR_CACHE_DIR")
    if explicit:
        return os.path.expanduser(explicit)
    return _xdg(environ, "XDG_CACHE_HOME", ".cache")


def data_dir(environ: "Mapping[str, str]") -> "str | None":
    """Where ecrpy keeps what it cannot fetch again; None without a home."""
    return _xdg(environ, "XDG_DATA_HOME", os.path.join(".local", "share"))


def login_store(environ: "Mapping[str, str]") -> "str | None":
    """ecrpy's own store of other registries' logins; None without a home."""
    directory = data_dir(environ)
    return os.path.join(directory, LOGIN_STORE) if directory else None


def undo_record(environ: "Mapping[str, str]") -> "str | None":
    """What ``configure --store`` changed, for ``--remove --store``; None without a home."""
    directory = data_dir(environ)
    return os.path.join(directory, UNDO_RECORD) if directory else None


def settings_file(environ: "Mapping[str, str]") -> str:
    """ecrpy's settings file (it need not exist)."""
    explicit = environ.get("ECRPY_CONFIG")
    if explicit:
        return expand(explicit, environ)
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "ecrpy", "config.toml")
    return expand("~/.config/ecrpy/config.toml", environ)


def aws_files(environ: "Mapping[str, str]") -> "tuple[str, str]":
    """The shared config and credentials files botocore would read in this environment."""
    config = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    credentials = environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return (expand(config, environ), expand(credentials, environ))


def docker_config(environ: "Mapping[str, str]") -> str:
    """The config file Docker itself would read in this environment."""
    directory = environ.get("DOCKER_CONFIG") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".docker"
    )
    return os.path.join(directory, "config.json")
