"""Which other registries a cold ``get`` fetches in the same request as the one asked for.

The classic builder (``DOCKER_BUILDKIT=0 docker build``, the Docker SDK's ``images.build``,
docker-compose v1) runs the helper once per ``credHelpers`` entry, one after the other. The
first cold ``get`` may as well ask ECR for the tokens of the other registries the Docker config
hands to ecrpy: one ``GetAuthorizationToken`` takes up to ten registry ids, and the next
``get`` of the build is then a warm one. Only registries that the same endpoint serves are
companions: same region, partition and FIPS-ness (the caller also requires the same settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import docker_config, paths, protocol
from .registry import Registry, parse, token_host


def handed_to_ecrpy(document: Mapping[str, Any]) -> list[str]:
    """The hostnames Docker asks ecrpy about: ``credHelpers`` entries naming ecrpy, and with
    ``credsStore: ecrpy`` the ``auths`` keys no other helper claims; in file order."""
    helpers = docker_config.section(document, "credHelpers")
    keys = [key for key, name in helpers.items() if name == docker_config.HELPER]
    if document.get("credsStore") == docker_config.HELPER:
        claimed = {protocol.hostname(key) for key in helpers}
        keys += [
            key
            for key in docker_config.section(document, "auths")
            if protocol.hostname(key) not in claimed
        ]
    return list(dict.fromkeys(protocol.hostname(key) for key in keys))


def companions_in(document: Mapping[str, Any], registry: Registry) -> list[Registry]:
    """The registries of ``document`` that one request to ``registry``'s endpoint can serve.

    All of them: which are due (not fresh in the cache) and how many fit in one request
    (:data:`ecr.MAX_REGISTRY_IDS`) is decided when the request is made.
    """
    if registry.public:
        return []
    found: dict[str, Registry] = {token_host(registry): registry}
    for host in handed_to_ecrpy(document):
        other = parse(host)
        if (
            other is not None
            and not other.public
            and (other.region, other.partition, other.fips)
            == (registry.region, registry.partition, registry.fips)
            and token_host(other) not in found
        ):
            found[token_host(other)] = other
    return [other for key, other in found.items() if key != token_host(registry)]


def companions(environ: Mapping[str, str], registry: Registry) -> list[Registry]:
    """:func:`companions_in` the Docker config of this environment; none if it is unreadable."""
    path = paths.docker_config(environ)
    try:
        text, _ = docker_config.read(path)
        document = docker_config.parse(text or "", path)
    except docker_config.DockerConfigError:
        return []
    return companions_in(document, registry)
