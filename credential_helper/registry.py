"""ECR registry hostnames: which account, region and partition a hostname names.

The grammar is parsed by splitting on dots rather than with a regular expression: this module
is on the warm ``get`` path, and importing :mod:`re` costs about as much as the whole rest of
that path. Everything here is a pure function of its argument.

Accepted forms (``A`` = 12-digit account id, ``R`` = region)::

    A.dkr.ecr.R.<suffix>          IPv4 endpoint
    A.dkr.ecr-fips.R.<suffix>     FIPS endpoint
    A.dkr-ecr.R.<dual-stack>      dual-stack (IPv4 + IPv6) endpoint
    A.dkr-ecr-fips.R.<dual-stack> dual-stack FIPS endpoint
    public.ecr.aws, ecr-public.aws.com    ECR Public

where the suffix decides the partition (``amazonaws.com``, ``amazonaws.com.cn``,
``c2s.ic.gov`` ...). Anything else, including look-alikes such as
``A.dkr.ecr.R.amazonaws.com.evil.example``, is not ECR.

:func:`route` is the one rule every front end (``get``, ``store``, ``erase``, the tools, the
kubelet provider) applies to a server URL: an ECR host names itself, with no settings read; any
other name is looked up in the settings' ``[aliases]`` (:mod:`aliases`); what is left is
another registry's, or nobody's.
"""

from . import protocol

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

PUBLIC_HOSTS = ("public.ecr.aws", "ecr-public.aws.com")
PUBLIC_API_REGION = "us-east-1"

# suffix -> partition, for the IPv4 endpoints (``dkr.ecr``) ...
_IPV4_SUFFIXES = {
    "amazonaws.com": "aws",
    "amazonaws.com.cn": "aws-cn",
    "amazonaws.eu": "aws-eusc",
    "c2s.ic.gov": "aws-iso",
    "sc2s.sgov.gov": "aws-iso-b",
    "cloud.adc-e.uk": "aws-iso-e",
    "csp.hci.ic.gov": "aws-iso-f",
}
# ... and for the dual-stack endpoints (``dkr-ecr``).
_DUALSTACK_SUFFIXES = {
    "on.aws": "aws",
    "on.amazonwebservices.com.cn": "aws-cn",
    "on.amazonwebservices.eu": "aws-eusc",
    "on.aws.ic.gov": "aws-iso",
    "on.aws.scloud": "aws-iso-b",
    "on.cloud-aws.adc-e.uk": "aws-iso-e",
    "on.aws.hci.ic.gov": "aws-iso-f",
}
_SERVICE_LABELS = {
    # label: (fips, dualstack)
    "dkr.ecr": (False, False),
    "dkr.ecr-fips": (True, False),
    "dkr-ecr": (False, True),
    "dkr-ecr-fips": (True, True),
}
# Region name prefixes that only exist in one partition: the partition of a region that is not in
# the table (one listed in ECRPY_EXTRA_REGIONS). tests/test_regions.py checks that the table's
# regions follow the same rule.
_REGION_PREFIX_PARTITION = (
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("eusc-", "aws-eusc"),
)
# Regions newer than the generated table, named by the user: a comma- or space-separated list.
EXTRA_REGIONS_ENV = "ECRPY_EXTRA_REGIONS"
_DIGITS = frozenset("0123456789")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


class Registry:
    """An ECR registry, as named by its hostname.

    A plain class rather than a NamedTuple or dataclass: both would import typing or re.
    """

    __slots__ = ("account", "dualstack", "fips", "host", "partition", "public", "region")

    def __init__(
        self,
        host: str,
        account: "str | None",
        region: str,
        partition: str,
        *,
        fips: bool = False,
        dualstack: bool = False,
        public: bool = False,
    ) -> None:
        self.host = host  # normalised hostname: lowercase, no port, no trailing dot
        self.account = account  # 12-digit account id; None for ECR Public
        self.region = region  # region of the ECR API that hands out its tokens
        self.partition = partition  # aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...
        self.fips = fips
        self.dualstack = dualstack
        self.public = public

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Registry) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Registry({fields})"


def is_region(name: str) -> bool:
    """``us-east-1``, ``us-gov-west-1``, ``us-isob-east-1``, ``eusc-de-east-1``; not ``x``."""
    parts = name.split("-")
    if len(parts) < 3:
        return False
    *words, number = parts
    if not (number and len(number) <= 2 and set(number) <= _DIGITS):
        return False
    if not 2 <= len(words[0]) <= 4:
        return False
    return all(word and set(word) <= _LOWER for word in words)


def extra_regions(environ: "Mapping[str, str]") -> frozenset[str]:
    """The well-formed region names of ``ECRPY_EXTRA_REGIONS``."""
    value = environ.get(EXTRA_REGIONS_ENV, "")
    return frozenset(name for name in value.replace(",", " ").split() if is_region(name))


def region_partition(region: str, extra: "Collection[str] | None" = None) -> "str | None":
    """The partition of a region AWS has (the generated table), or of one in ``extra``.

    ``extra`` None: ``ECRPY_EXTRA_REGIONS`` of this process, read only for a region the table
    lacks. Any other region is None: it names no registry, and nothing asks the network.
    """
    from .regions import REGIONS

    known = REGIONS.get(region)
    if known is not None:
        return known
    if extra is None:
        import os

        extra = extra_regions(os.environ)
    if region not in extra:
        return None
    for prefix, partition in _REGION_PREFIX_PARTITION:
        if region.startswith(prefix):
            return partition
    return "aws"


def _partition(region: str, suffix_partition: str, extra: "Collection[str] | None") -> "str | None":
    """The partition of ``region`` under a suffix, or None when the two contradict each other."""
    partition = region_partition(region, extra)
    if partition == "aws-us-gov":  # GovCloud shares the commercial DNS suffixes
        return partition if suffix_partition == "aws" else None
    return partition if partition == suffix_partition else None


def parse(host: str, extra: "Collection[str] | None" = None) -> "Registry | None":
    """The registry a normalised hostname names, or None when it is not an ECR registry.

    ``extra``: regions beyond the table, see :func:`region_partition`.
    """
    if host in PUBLIC_HOSTS:
        return Registry(host, None, PUBLIC_API_REGION, "aws", public=True)
    labels = host.split(".")
    if len(labels) < 5:
        return None
    account = labels[0]
    if len(account) != 12 or not set(account) <= _DIGITS:
        return None
    # The service part is one label (``dkr-ecr``) or two (``dkr.ecr``).
    if labels[1] == "dkr" and len(labels) >= 6:
        service, rest = "dkr." + labels[2], labels[3:]
    else:
        service, rest = labels[1], labels[2:]
    flags = _SERVICE_LABELS.get(service)
    if flags is None or len(rest) < 2:
        return None
    fips, dualstack = flags
    region, suffix = rest[0], ".".join(rest[1:])
    if not is_region(region):
        return None
    suffixes = _DUALSTACK_SUFFIXES if dualstack else _IPV4_SUFFIXES
    suffix_partition = suffixes.get(suffix)
    if suffix_partition is None:
        return None
    partition = _partition(region, suffix_partition, extra)
    if partition is None:
        return None
    return Registry(host, account, region, partition, fips=fips, dualstack=dualstack)


def unknown_region(host: str) -> "str | None":
    """The region of a hostname that would be an ECR registry if only its region were known."""
    labels = host.split(".")
    for index in (3, 2):  # ``A.dkr.ecr.R.suffix`` or ``A.dkr-ecr.R.suffix``
        if len(labels) > index + 1 and is_region(labels[index]):
            region = labels[index]
            if region_partition(region) is None and parse(host, {region}) is not None:
                return region
    return None


_PARTITION_SUFFIX = {partition: suffix for suffix, partition in _IPV4_SUFFIXES.items()}
_PARTITION_SUFFIX["aws-us-gov"] = "amazonaws.com"


def private_host(account: str, region: str) -> "str | None":
    """The IPv4 registry hostname of an account in a region, or None if either is malformed."""
    partition = region_partition(region) if is_region(region) else None
    if partition is None:
        return None
    host = f"{account}.dkr.ecr.{region}.{_PARTITION_SUFFIX[partition]}"
    return host if parse(host) is not None else None


def token_host(registry: "Registry") -> str:
    """The hostname whose cached token serves ``registry``: one token per registry, not per name.

    ECR hands out one token per account and region, good for the IPv4 and the dual-stack names
    alike, so both are cached under the IPv4 name. A FIPS name keeps its own entry: its token
    must come from the FIPS endpoint. ECR Public's names keep their own, too.
    """
    if not registry.dualstack or registry.fips or registry.account is None:
        return registry.host
    suffix = registry.host.split("." + registry.region + ".", 1)[1]
    ipv4_suffix = _PARTITION_SUFFIX[_DUALSTACK_SUFFIXES[suffix]]
    return f"{registry.account}.dkr.ecr.{registry.region}.{ipv4_suffix}"


ECR, ALIAS, OTHER, NOT_FOUND = "ecr", "alias", "other", "not-found"


class Route:
    """Who serves a server URL (:func:`route`). ``registry`` is set for ``ECR`` and ``ALIAS``;
    ``name`` is the name as asked (the host, or ``host[:port]`` for an alias); ``region`` is
    set for an ECR-shaped host whose region ecrpy does not know (``NOT_FOUND``)."""

    __slots__ = ("kind", "name", "region", "registry")

    def __init__(
        self, kind: str, name: str, registry: "Registry | None" = None, region: "str | None" = None
    ) -> None:
        self.kind = kind
        self.name = name
        self.registry = registry
        self.region = region

    def __repr__(self) -> str:
        return f"Route({self.kind!r}, {self.name!r}, {self.registry!r}, {self.region!r})"


def route(url: str, environ: "Mapping[str, str]") -> "Route":
    """The one rule from a server URL (or image reference) to who serves it: an ECR registry,
    an alias of the settings, another registry, or nobody (no host; an ECR-shaped host in a
    region ecrpy does not know, which is never forwarded).

    Raises ``config.ConfigError`` when the settings must be read (a name that is not ECR) and
    are broken.
    """
    host = protocol.hostname(url)
    found = parse(host)  # an ECR host: no settings read, no aliases (the warm path)
    if found is not None:
        return Route(ECR, host, found)
    from .aliases import lookup

    found = lookup(url, environ)
    if found is not None:
        return Route(ALIAS, protocol.authority(url), found)
    region = unknown_region(host)
    if region is None and host:
        return Route(OTHER, host)
    return Route(NOT_FOUND, host, region=region)
