"""``python -m fakeaws serve``: the fake AWS as a process of its own (for e2e tests and benchmarks).

Prints one JSON line when it is listening (``{"url": ..., "port": ..., "ca": ...}``), then
serves until it is terminated. Control it over HTTP: ``GET /_fake/requests``,
``POST /_fake/faults`` (a Fault as JSON), ``POST /_fake/reset``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import FakeAWS, Server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakeaws")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the fake AWS until terminated")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--tls-dir", help="make a CA and a server certificate here and serve HTTPS")
    serve.add_argument(
        "--name",
        action="append",
        default=[],
        help="a hostname the certificate must cover (repeatable)",
    )
    serve.add_argument("--token-lifetime", type=float, default=12 * 3600)
    args = parser.parse_args(argv)

    certfile = keyfile = ca = None
    if args.tls_dir:
        from .tls import make

        certs = make(args.tls_dir, [*args.name, "localhost", "127.0.0.1", args.host])
        certfile, keyfile, ca = certs.cert, certs.key, certs.ca
    server = Server(FakeAWS(args.token_lifetime), args.host, args.port, certfile, keyfile)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    server.start()
    print(json.dumps({"url": server.url, "port": server.port, "ca": ca}), flush=True)
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
