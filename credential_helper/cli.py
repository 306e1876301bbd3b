"""``docker-credential-ecrpy``: argv and stdin in, one answer on stdout, an exit code.

The protocol actions (``get``, ``store``, ``erase``, ``list``, ``version``) are dispatched by
hand: argparse costs milliseconds that every ``docker pull`` would pay. Whatever goes wrong,
the user sees one line on stdout (where Docker shows it) and exit code 1, never a traceback.
"""

import os
import sys

from . import __version__, log, protocol
from .protocol import HelperError

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms), and
# annotations are quoted where Python would evaluate them, because the __future__ import
# that would defer them imports a module too (~0.25 ms of every get).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Callable, NoReturn

    from .cache import Entry, TokenCache
    from .registry import Registry

PROGRAM = "docker-credential-ecrpy"
# The words of commands/ (kept here too, so that a protocol action never imports that package;
# tests/test_cli.py checks that the two lists agree).
TOOL_WORDS = ("configure", "doctor", "whoami", "kubelet-provider")
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130

HELP = f"""{protocol.usage(PROGRAM)}

Docker credential helper for Amazon ECR. Docker runs it; you name it in ~/.docker/config.json:

    {{"credHelpers": {{"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecrpy"}}}}

  get      read a registry URL on stdin, print its credentials as JSON
  store    accepted for ECR registries (docker login); ecrpy fetches tokens itself
  erase    drop the cached tokens of the registry read on stdin (docker logout)
  list     print the registries with a cached, unexpired token for the current AWS identity
  version  print the version
  configure [REGISTRY ...]
           add ecrpy to Docker's config.json for these registries (--help for more)
  doctor   check the whole set-up, with the fix for each problem (--json for machines)
  whoami REGISTRY [--check]
           which settings, AWS profile and role serve REGISTRY; --check asks AWS too
  kubelet-provider
           serve the kubelet's image credential provider protocol (docs/kubernetes.md)

Environment: AWS_PROFILE and the rest of the AWS SDK settings choose the identity;
AWS_ECR_CACHE_DIR, AWS_ECR_DISABLE_CACHE and ECRPY_LOG_LEVEL are described in docs/."""


def _fail(line: str, quiet: bool = False) -> None:
    """The protocol's error line on stdout, and the same on stderr for people.

    The docker CLI never shows a failed helper's stdout (it goes on anonymously and the user
    sees "no basic auth credentials"), but it passes the helper's stderr through. Not-found
    stays quiet: it is the normal answer for every registry that is not ECR.
    """
    sys.stdout.write(line + "\n")
    if not quiet:
        sys.stderr.write(line + "\n")


def read_stdin() -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return b""
    data: bytes = stream.read(protocol.MAX_INPUT + 1)
    if len(data) > protocol.MAX_INPUT:
        raise HelperError(f"input too long: more than {protocol.MAX_INPUT} bytes on stdin")
    return data


def _cache(environ: "Mapping[str, str]") -> "TokenCache | None":
    from .cache import TokenCache, default_dir, disabled

    directory = default_dir(environ)
    if directory is None or disabled(environ):
        return None
    return TokenCache(directory)


def _registry(url: str) -> "Registry":
    """The ECR registry a server URL names; not-found (go on anonymously) for any other host."""
    from .registry import parse

    registry = parse(protocol.hostname(url))
    if registry is None:
        raise HelperError(protocol.NOT_FOUND)
    return registry


def _identity(environ: "Mapping[str, str]") -> str:
    from .identity import current

    return current(environ)


def cmd_get(environ: "Mapping[str, str]") -> str:
    """The warm path ends at the first return: stdin, fingerprint, one cache file, JSON out."""
    import time

    from .cache import fresh_entry
    from .registry import token_host

    url = protocol.server_url(read_stdin())
    registry = _registry(url)
    cache, identity, key = _cache(environ), _identity(environ), token_host(registry)
    entry = fresh_entry(cache, key, identity, time.time())
    if entry is not None:
        log.hit(key, identity)
    else:
        entry = _refresh(cache, identity, registry, environ)
    echoed = protocol.without_userinfo(url)  # never hand back a password the client sent
    return protocol.encode_credentials(protocol.Credentials(echoed, entry.username, entry.password))


def _refresh(
    cache: "TokenCache | None", identity: str, registry: "Registry", environ: "Mapping[str, str]"
) -> "Entry":
    """The cold path: under the deadline, with the Docker config's other registries (fan-out)."""
    from .deadline import TIMEOUT_ENV, timeout_from
    from .errors import NO_CREDENTIALS, TokenUnavailable
    from .tokens import Resolver, configured_fetch, configured_fetch_many

    resolver = Resolver(
        cache,
        identity,
        configured_fetch(environ),
        deadline=timeout_from(environ.get(TIMEOUT_ENV)),
        fetch_many=configured_fetch_many(environ),
        companions=lambda: _companions(environ, registry),
    )
    try:
        return resolver.get(registry)
    except TokenUnavailable as exc:
        if registry.public and exc.kind == NO_CREDENTIALS:
            raise HelperError(protocol.NOT_FOUND) from None  # anonymous public pulls keep working
        raise HelperError(f"ecrpy: {exc}") from None


def _companions(environ: "Mapping[str, str]", registry: "Registry") -> "list[Registry]":
    """The Docker config's registries to fetch alongside: read by the fetching process only
    (the Docker config reader imports json and typing, which waiters need not pay for)."""
    from .fanout import companions

    return companions(environ, registry)


def cmd_store(environ: "Mapping[str, str]") -> str:
    from .registry import parse

    creds = protocol.parse_store(read_stdin())
    host = protocol.hostname(creds.server_url)
    if parse(host) is None:
        raise HelperError(
            f"ecrpy only serves Amazon ECR registries, not {host}: "
            "use another credential helper or credsStore for it"
        )
    sys.stderr.write(
        f"ecrpy: nothing stored for {host}: "
        "ecrpy fetches ECR tokens itself with your AWS credentials\n"
    )
    return ""


def cmd_erase(environ: "Mapping[str, str]") -> str:
    from .registry import token_host

    host = token_host(_registry(protocol.server_url(read_stdin())))
    cache = _cache(environ)
    dropped = cache.erase_host(host) if cache else 0
    log.info("erase %s: %d cached token(s) dropped", host, dropped)
    return ""


def cmd_list(environ: "Mapping[str, str]") -> str:
    import time

    from .tokens import listing

    cache = _cache(environ)
    entries = cache.entries() if cache else iter(())
    return protocol.encode_list(listing(entries, _identity(environ), time.time()))


def cmd_version(environ: "Mapping[str, str]") -> str:
    return f"{PROGRAM} (ecrpy) {__version__}"


COMMANDS: "dict[str, Callable[[Mapping[str, str]], str]]" = {
    "get": cmd_get,
    "store": cmd_store,
    "erase": cmd_erase,
    "list": cmd_list,
    "version": cmd_version,
    "--version": cmd_version,
}


def run(argv: "list[str]", environ: "Mapping[str, str]") -> int:
    """Run one action; write its answer; return the exit code. Never raises."""
    if len(argv) == 1 and argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(HELP + "\n")
        return EXIT_OK
    if argv[0] in TOOL_WORDS:
        return _tool(argv, environ)
    command = COMMANDS.get(argv[0]) if len(argv) == 1 else None
    if command is None:
        sys.stdout.write(protocol.usage(PROGRAM) + "\n")
        return EXIT_ERROR
    try:
        answer = command(environ)
    except HelperError as exc:
        from .errors import redact

        _fail(redact(exc.message, environ), quiet=exc.message == protocol.NOT_FOUND)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: no traceback ever reaches a user
        _log_crash(exc)
        where = log.path() or "the log (set ECRPY_LOG_LEVEL=debug)"
        _fail(f"ecrpy: internal error ({type(exc).__name__}) in '{argv[0]}'; details in {where}")
        return EXIT_ERROR
    if answer:
        sys.stdout.write(answer + "\n")
    return EXIT_OK


def _tool(argv: "list[str]", environ: "Mapping[str, str]") -> int:
    """Run one of the tools around the helper (``commands/``), imported only when asked for."""
    import importlib

    from .commands import COMMANDS as TOOLS

    try:
        module = importlib.import_module(f".commands.{TOOLS[argv[0]]}", __package__)
        code: int = module.run(argv[1:], environ)
        return code
    except SystemExit as exc:  # argparse's --help and usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        _log_crash(exc)
        _fail(f"ecrpy: internal error ({type(exc).__name__}) in '{argv[0]}'")
        return EXIT_ERROR


def _log_crash(exc: "BaseException") -> None:
    """Log where it broke (the frames), not the exception's text, which might hold anything."""
    import traceback

    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("internal error %s:\n%s", type(exc).__name__, frames)


def main(argv: "list[str] | None" = None) -> int:
    environ = os.environ
    args = sys.argv[1:] if argv is None else argv
    from .cache import default_dir

    log.configure(default_dir(environ), environ.get(log.LEVEL_ENV))
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
