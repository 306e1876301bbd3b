"""ecrpy: a Docker credential helper for Amazon ECR.

Importing the package must stay free: the console script imports it on every ``docker pull``.
"""

__version__ = "0.1.0"
