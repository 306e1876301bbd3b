"""The tools around the helper: commands that are not Docker's credential-helper protocol.

Each module here is one command with a ``run(argv, environ) -> int`` entry point; the CLI imports
a module only when its command is asked for, so none of this code is on the ``get`` path.
argparse and the stdlib ``json`` are fine here: a person (or a kubelet, once per image) waits,
not every ``docker pull``.

The protocol core (``protocol``, ``registry``, ``identity``, ``tokens``, ``cache``, ``ecr``,
``config`` ...) lives one level up; these modules build on it and never the other way round.
"""

# command word -> module in this package
COMMANDS = {
    "configure": "configure",
    "doctor": "doctor",
    "whoami": "whoami",
    "kubelet-provider": "kubelet",
    "export": "export",
    "login": "login",
}


def not_ecr(name: str) -> str:
    """The one wording every tool uses for a name that is neither an ECR registry nor an alias."""
    return f"ecrpy: {not_ecr_reason(name)}"


def not_ecr_reason(name: str) -> str:
    """:func:`not_ecr` without the prefix, for a tool that adds its own."""
    from ..protocol import one_line

    return f"{one_line(name)} is not an Amazon ECR registry nor an alias in ecrpy's settings"
