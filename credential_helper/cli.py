"""``docker-credential-ecrpy``: argv and stdin in, one answer on stdout, an exit code.

The protocol actions (``get``, ``store``, ``erase``, ``list``, ``version``) are dispatched by
hand: argparse costs milliseconds that every ``docker pull`` would pay. Whatever goes wrong,
the user sees one line on stdout (where Docker shows it) and exit code 1, never a traceback.
"""

import os
import sys

from . import __version__, log, protocol
from .protocol import HelperError

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Callable, NoReturn

    from .cache import Entry, TokenCache
    from .registry import Registry

PROGRAM = "docker-credential-ecrpy"
# The tools around the helper: command word -> module of commands/, each with a
# ``run(argv, environ) -> int``. The one table of them, kept here so that a protocol action
# never imports the commands package.
TOOLS = {
    "configure": "configure",
    "doctor": "doctor",
    "whoami": "whoami",
    "kubelet-provider": "kubelet",
    "export": "export",
    "login": "login",
}
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130

DOCS = "https://github.com/ecrpy/ecrpy/tree/main/docs#readme"  # pyproject's Documentation URL

HELP = f"""{protocol.usage(PROGRAM)}

Docker credential helper for Amazon ECR. Docker runs it; you name it in ~/.docker/config.json:

    {{"credHelpers": {{"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecrpy"}}}}

Docker's protocol (Docker runs these; the registry URL comes on stdin):
  get      print the registry's credentials as JSON (an ECR token, cached per AWS identity)
  store    accepted for ECR registries (docker login); ecrpy fetches tokens itself
  erase    drop the cached tokens of the registry (docker logout)
  list     print the registries with a cached, unexpired token for the current AWS identity,
           and its account's registry in the region AWS_REGION or the profile names
  version  print the version

Tools around it (each takes --help):
  configure [REGISTRY ...]   add ecrpy to Docker's config.json for these registries
  doctor                     check the whole set-up, with the fix for each problem
  whoami REGISTRY [--check]  which settings, AWS profile and role serve REGISTRY
  kubelet-provider           serve the kubelet's image credential provider protocol
  export REGISTRY ...        the credentials for tools that run no helper: a Docker auths
                             file, a Kubernetes Secret, or user:password
  login [REGISTRY ...]       on a terminal: answer MFA prompts or renew SSO, cache the tokens

Environment:
  AWS_PROFILE, AWS_ACCESS_KEY_ID, ... the AWS SDK's own settings choose the identity
  ECRPY_CONFIG           the settings file (default ~/.config/ecrpy/config.toml)
  AWS_ECR_CACHE_DIR      the token cache and log (default ~/.cache/ecrpy)
  AWS_ECR_DISABLE_CACHE  set to true: fetch a token on every get, cache nothing
  ECRPY_LOG_LEVEL        debug, info, warning (default), error
  ECRPY_TIMEOUT          seconds a token fetch may take in all (default 20)

Documentation: {DOCS}"""


def usage_error(problem: str) -> str:
    """What a person who typed a wrong word reads: the word, every command, where help is.

    The protocol's usage line stays first, as docker-credential-helpers prints it."""
    return (
        f"{PROGRAM}: {problem}\n{protocol.usage(PROGRAM)}\n"
        f"Tools: {', '.join(TOOLS)}\n"
        f"Run '{PROGRAM} --help' for what each command does."
    )


def _fail(line: str, quiet: bool = False) -> None:
    """The protocol's error line on stdout, and the same on stderr for people.

    The docker CLI never shows a failed helper's stdout (it goes on anonymously and the user
    sees "no basic auth credentials"), but it passes the helper's stderr through. Not-found
    stays quiet: it is the normal answer for every registry that is not ECR.
    """
    sys.stdout.write(line + "\n")
    if not quiet:
        sys.stderr.write(line + "\n")


def read_stdin(limit: int = protocol.MAX_INPUT, too_long: str = "") -> bytes:
    """At most ``limit`` bytes of stdin; more is an error (``too_long``, or the helper's line),
    never a request cut short."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return b""
    data: bytes = stream.read(limit + 1)
    if len(data) > limit:
        raise HelperError(too_long or f"ecrpy: input too long: more than {limit} bytes on stdin")
    return data


def _cache(environ: "Mapping[str, str]") -> "TokenCache | None":
    from .cache import from_environ

    return from_environ(environ)


class OtherRegistry(Exception):
    """The request is for a registry that is neither ECR nor an alias: :func:`run` hands it, as
    read, to ``store_mode.serve_other`` (the fallback store, or ecrpy's own)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("not an ECR registry")
        self.raw = raw


def _registry(url: str, raw: bytes, environ: "Mapping[str, str]") -> "Registry":
    """The registry ecrpy serves for this server URL, by :func:`registry.route`: any other
    host is another registry's request (OtherRegistry); an ECR-shaped host in a region ecrpy
    does not know is not-found (never forwarded), with why on stderr."""
    from .registry import EXTRA_REGIONS_ENV, OTHER, route

    found = route(url, environ)
    if found.registry is not None:
        return found.registry
    if found.kind == OTHER:
        raise OtherRegistry(raw)
    if found.region is not None:
        sys.stderr.write(
            f"ecrpy: {found.name}: region {found.region} is not one ecrpy knows, so no token "
            f"for it; if AWS opened it after this release, set {EXTRA_REGIONS_ENV}={found.region}\n"
        )
    raise HelperError(protocol.NOT_FOUND)  # a URL naming no host at all goes nowhere


def _identity(environ: "Mapping[str, str]") -> str:
    from .identity import current

    return current(environ)


def cmd_get(environ: "Mapping[str, str]") -> str:
    """The warm path ends at the first return: stdin, fingerprint, one cache file, JSON out."""
    import time

    from .cache import fresh_entry
    from .registry import token_host

    raw = read_stdin()
    url = protocol.server_url(raw)
    registry = _registry(url, raw, environ)
    cache, identity, key = _cache(environ), _identity(environ), token_host(registry)
    entry = fresh_entry(cache, key, identity, time.time())
    if entry is not None:
        log.hit(key, identity)
    else:
        entry = _refresh(identity, registry, environ)
    echoed = protocol.without_userinfo(url)  # never hand back a password the client sent
    return protocol.encode_credentials(protocol.Credentials(echoed, entry.username, entry.password))


def _refresh(identity: str, registry: "Registry", environ: "Mapping[str, str]") -> "Entry":
    """The cold path: under the deadline, with the Docker config's other registries (fan-out),
    for the identity the warm path looked up (its cache is the one ``access.resolver`` opens)."""
    from .access import resolver
    from .errors import TokenUnavailable
    from .tokens import anonymous

    source = resolver(
        environ, fingerprint=identity, companions=lambda: _companions(environ, registry)
    )
    try:
        return source.get(registry)
    except TokenUnavailable as exc:
        if anonymous(registry, exc):
            raise HelperError(protocol.NOT_FOUND) from None  # anonymous public pulls keep working
        raise HelperError(f"ecrpy: {exc}") from None


def _companions(environ: "Mapping[str, str]", registry: "Registry") -> "list[Registry]":
    """The Docker config's registries to fetch alongside: read by the fetching process only
    (the Docker config reader imports json and typing, which waiters need not pay for)."""
    from .fanout import companions

    return companions(environ, registry)


def cmd_store(environ: "Mapping[str, str]") -> str:
    raw = read_stdin()
    url = protocol.parse_store(raw).server_url
    if not protocol.hostname(url):  # no store, ecrpy's or another, gets a login for no host
        named = repr(protocol.without_userinfo(url))  # never a password
        raise HelperError(f"ecrpy: nothing stored: {named} names no registry host")
    bare = protocol.without_userinfo(url)
    if bare != url:  # kept as it is, the password would be a key of the store, and of list
        raise HelperError(
            f"ecrpy: nothing stored: the server URL {bare!r} carries a user name or password "
            "before its host; log in with the registry's address alone"
        )
    host = _registry(url, raw, environ).host
    sys.stderr.write(
        f"ecrpy: nothing stored for {host}: "
        "ecrpy fetches ECR tokens itself with your AWS credentials\n"
    )
    return ""


def cmd_erase(environ: "Mapping[str, str]") -> str:
    from .registry import token_host

    raw = read_stdin()
    host = token_host(_registry(protocol.server_url(raw), raw, environ))
    cache = _cache(environ)
    dropped = cache.erase_host(host) if cache else 0
    log.info("erase %s: %d cached token(s) dropped", host, dropped)
    return ""


def cmd_list(environ: "Mapping[str, str]") -> str:
    import time

    from .default_registry import listed
    from .store_mode import other_logins
    from .tokens import listing

    cache, identity = _cache(environ), _identity(environ)
    default = listed(environ, cache, identity)  # fetched first: then listed with the others
    entries = cache.entries() if cache else iter(())
    found = {**default, **listing(entries, identity, time.time())}
    # a login stored before store refused URLs with a password in them: listed without it
    others = {protocol.without_userinfo(url): user for url, user in other_logins(environ).items()}
    return protocol.encode_list({**others, **found, **_aliased(found, environ)})


def _aliased(found: dict[str, str], environ: "Mapping[str, str]") -> dict[str, str]:
    """``list``'s entries for the aliases of the registries listed (none if the settings are
    broken: ``list`` has no error to give, and the registries themselves are listed)."""
    from . import config

    try:
        loaded = config.load(environ)
    except config.ConfigError:
        return {}
    return {
        f"https://{alias}": found[f"https://{target}"]
        for alias, target in loaded.aliases
        if f"https://{target}" in found
    }


def cmd_version(environ: "Mapping[str, str]") -> str:
    return f"{PROGRAM} (ecrpy) {__version__}"


COMMANDS: "dict[str, Callable[[Mapping[str, str]], str]]" = {
    "get": cmd_get,
    "store": cmd_store,
    "erase": cmd_erase,
    "list": cmd_list,
    "version": cmd_version,
    "--version": cmd_version,
    "-v": cmd_version,  # what docker-credential-ecr-login answers to
}


def run(argv: list[str], environ: "Mapping[str, str]") -> int:
    """Run one action; write its answer; return the exit code. Never raises."""
    if len(argv) == 1 and argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(HELP + "\n")
        return EXIT_OK
    if argv[0] in TOOLS:
        return _tool(argv, environ)
    command = COMMANDS.get(argv[0])
    if command is None or len(argv) > 1:
        if not argv[0]:
            problem = "no command given"
        elif command is None:
            problem = f"unknown command '{protocol.one_line(argv[0])[:80]}'"
        else:
            problem = f"'{argv[0]}' takes no arguments (the registry comes on stdin)"
        sys.stdout.write(usage_error(problem) + "\n")
        return EXIT_ERROR
    try:
        try:
            answer = command(environ)
        except OtherRegistry as other:
            from .store_mode import serve_other

            return serve_other(argv[0], other.raw, environ)
    except HelperError as exc:
        from .errors import redact

        _fail(redact(exc.message, environ), quiet=exc.message == protocol.NOT_FOUND)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: no traceback ever reaches a user
        from .errors import TokenUnavailable, redact

        if isinstance(exc, TokenUnavailable):  # a broken settings file, read for an alias
            _fail(redact(f"ecrpy: {exc}", environ))
        else:
            _fail(crash(exc, f"'{argv[0]}'"))
        return EXIT_ERROR
    if answer:
        sys.stdout.write(answer + "\n")
    return EXIT_OK


def _tool(argv: list[str], environ: "Mapping[str, str]") -> int:
    """Run one of the tools around the helper (``commands/``), imported only when asked for.

    A tool writes for a person, on any console: a character the console's encoding lacks (a
    path or a message on a cp1252 Windows pipe) is printed as ``?``, never a crash."""
    import contextlib
    import importlib

    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # closed or detached: nobody reads
                reconfigure(errors="replace")
    try:
        module = importlib.import_module(f".commands.{TOOLS[argv[0]]}", __package__)
        code: int = module.run(argv[1:], environ)
        return code
    except SystemExit as exc:  # argparse's --help and usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        crash(exc, f"'{argv[0]}'")
        _fail(f"ecrpy: internal error ({type(exc).__name__}) in '{argv[0]}'")
        return EXIT_ERROR


def crash(exc: BaseException, where: str) -> str:
    """Log where it broke (the frames, not the exception's text, which might hold anything);
    return the one line that says so, for the front end to print its way."""
    import traceback

    frames = "".join(traceback.format_tb(exc.__traceback__))
    try:
        log.error("internal error %s:\n%s", type(exc).__name__, frames)
        details = log.path() or "the log (set ECRPY_LOG_LEVEL=debug)"
    except Exception:  # the log is what broke (a platform without an API it uses): say so, still
        details = "no log (it could not be written)"
    return f"ecrpy: internal error ({type(exc).__name__}) in {where}; details in {details}"


def main(argv: "list[str] | None" = None) -> int:
    environ = os.environ
    args = sys.argv[1:] if argv is None else argv
    from .paths import cache_dir

    # No log rather than a traceback: run still answers. (Not contextlib.suppress: an import
    # every warm get would pay.)
    try:  # noqa: SIM105
        log.configure(cache_dir(environ), environ.get(log.LEVEL_ENV))
    except Exception:  # noqa: S110
        pass
    try:
        code = run(args or [""], environ)
        sys.stdout.flush()
    except BrokenPipeError:
        # The client stopped reading; say nothing more (and let no flush at exit complain).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_ERROR
    return code


def exit_main() -> "NoReturn":
    """The console script's whole body: run, flush, and end the process without teardown.

    The interpreter's finalization (module teardown, garbage collection of botocore's object
    graph) costs ~1.5 ms after a warm answer and ~50 ms after a cold one, and achieves nothing
    that the kernel does not do at exit. Everything that must outlive the process is written
    before ``os._exit``: the answer and errors are flushed here, the log by :func:`log.close`,
    the cache files are written with ``os.write`` and renamed into place before the answer.
    """
    leave(main())


def leave(code: int) -> "NoReturn":
    """Flush the log, stdout and stderr, then ``os._exit(code)``."""
    log.close()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or a closed stream: nobody is listening
            if stream is sys.stdout and code == EXIT_OK:
                code = EXIT_ERROR
    os._exit(code)
