"""The tools around the helper: commands that are not Docker's credential-helper protocol.

Each module here is one command with a ``run(argv, environ) -> int`` entry point, named in
``cli.TOOLS`` (the one table of command words); the CLI imports a module only when its command
is asked for, so none of this code is on the ``get`` path. argparse and the stdlib ``json`` are
fine here: a person (or a kubelet, once per image) waits, not every ``docker pull``. What more
than one tool needs lives in :mod:`.common`.

The protocol core (``protocol``, ``registry``, ``identity``, ``tokens``, ``cache``, ``ecr``,
``config`` ...) lives one level up; these modules build on it and never the other way round.
"""
