"""``python -m credential_helper get`` works like ``docker-credential-ecrpy get``."""

from .cli import exit_main

exit_main()
