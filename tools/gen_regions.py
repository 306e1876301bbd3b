"""Write credential_helper/regions.py: every region of every partition, from botocore's data.

    make regions        # or: python tools/gen_regions.py [--check] [--output PATH]

botocore's ``endpoints.json`` and ``partitions.json`` are the source. The warm ``get`` path must
not load them (they are megabytes of JSON, and botocore with them), so ecrpy ships this compact
table, generated here and compared with botocore's data by tests/test_regions.py. ``--check``
exits 1, without writing, when the table in the repository differs from what botocore says.
"""

from __future__ import annotations

import sys
from pathlib import Path

import botocore
import botocore.loaders

from credential_helper.registry import is_region

TARGET = Path(__file__).resolve().parent.parent / "credential_helper" / "regions.py"

HEADER = '''"""The regions of every AWS partition (botocore {version}). GENERATED: do not edit.

Written by ``make regions`` (tools/gen_regions.py) from botocore's endpoints.json and
partitions.json; tests/test_regions.py fails when botocore knows a region this table lacks.
A hostname whose region is not here names no registry (not-found, no network), unless the
region is listed in ``ECRPY_EXTRA_REGIONS`` (docs/configuration.md).
"""

BOTOCORE_VERSION = "{version}"

# region -> partition
REGIONS = {{
'''


def botocore_regions() -> dict[str, str]:
    """region -> partition, from both of botocore's data files; pseudo-regions left out."""
    loader = botocore.loaders.Loader()
    found: dict[str, str] = {}
    for partition in loader.load_data("endpoints")["partitions"]:
        for region in partition["regions"]:
            found[region] = partition["partition"]
    for partition in loader.load_data("partitions")["partitions"]:
        for region in partition["regions"]:
            if found.setdefault(region, partition["id"]) != partition["id"]:
                raise SystemExit(f"botocore puts {region} in two partitions")
    return {region: found[region] for region in sorted(found) if is_region(region)}


def render(regions: dict[str, str], version: str) -> str:
    lines = [HEADER.format(version=version)]
    lines += [f'    "{region}": "{partition}",\n' for region, partition in regions.items()]
    lines.append("}\n")
    return "".join(lines)


def main(argv: list[str]) -> int:
    target = Path(argv[argv.index("--output") + 1]) if "--output" in argv else TARGET
    text = render(botocore_regions(), botocore.__version__)
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            sys.stderr.write(f"{target} is not what botocore says: run `make regions`\n")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    sys.stdout.write(f"{target}: {text.count(chr(10) + '    ')} regions\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
