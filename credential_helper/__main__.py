"""``python -m credential_helper get`` works like ``docker-credential-ecrpy get``."""

import sys

from .cli import main

sys.exit(main())
