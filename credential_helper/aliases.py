"""Registry aliases: names ECR does not know, which the user maps to the ECR registry behind them.

A custom domain in front of a Host-rewriting proxy, a containerd mirror, a pull-through cache
configured as a mirror of docker.io: clients ask for credentials by that name. The settings file
lists each such name exactly (``host`` or ``host:port``) in ``[aliases]``, with the registry it
stands for. ecrpy never guesses one and never derives an account from a name it does not know: a
registry name chosen by someone else must never collect a token.

Every front end resolves a server URL through :func:`registry.route`, the one rule: an ECR
hostname names itself (no settings read, so the warm ``get`` of a real ECR host pays nothing for
this); any other name is looked up here, in ``[aliases]``. An alias is served by ecrpy, with the
aliased registry's token (one cache entry per registry, whatever it is called), and never
forwarded to another credential store. The alias map is part of the settings file, so it is part
of the identity fingerprint, as every setting is.
"""

from . import protocol
from .registry import Registry, parse

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .config import Config


def resolve(name: str, loaded: "Config") -> "Registry | None":
    """The ECR registry the alias ``name`` (``host[:port]``, as :func:`protocol.authority`
    gives it) stands for in these settings; None when it is no alias."""
    for alias, target in loaded.aliases:
        if alias == name:
            return parse(target)
    return None


def lookup(url: str, environ: "Mapping[str, str]") -> "Registry | None":
    """The registry the settings alias this server URL (or image reference) to, or None.

    Reads and parses the settings file; raises ``config.ConfigError`` when it is broken.
    """
    from .identity import read_file
    from .paths import settings_file

    raw = read_file(settings_file(environ))
    if raw is None or (b"aliases" not in raw and b"\\" not in raw):
        # No [aliases] table can be in these bytes (a backslash could spell the name in a
        # quoted key), so no TOML parse: it costs more than a whole warm get, and every request
        # for another registry (credsStore mode) would pay it.
        return None
    from . import config

    return resolve(protocol.authority(url), config.load(environ))


def names(loaded: "Config", host: str) -> list[str]:
    """The aliases that stand for the registry ``host``."""
    return [alias for alias, target in loaded.aliases if target == host]
