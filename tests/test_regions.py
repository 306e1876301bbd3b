"""Known regions: a hostname names a registry only in a region AWS has, or one the user names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore
import botocore.loaders
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential_helper import config, registry
from credential_helper.config import ConfigError
from credential_helper.regions import BOTOCORE_VERSION, REGIONS
from fakeaws.server import FakeAWS
from tests.conftest import Helper

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
FAKE_REGION = "us-fake-1"
FAKE = f"{ACCOUNT}.dkr.ecr.{FAKE_REGION}.amazonaws.com"
NOT_FOUND = "credentials not found in native keychain\n"
HINT = (
    f"ecrpy: {FAKE}: region {FAKE_REGION} is not one ecrpy knows, so no token for it; "
    f"if AWS opened it after this release, set ECRPY_EXTRA_REGIONS={FAKE_REGION}\n"
)


def botocore_partitions() -> dict[str, str]:
    """region -> partition as the installed botocore's data files say (pseudo-regions too)."""
    loader = botocore.loaders.Loader()
    found = {
        region: partition["partition"]
        for partition in loader.load_data("endpoints")["partitions"]
        for region in partition["regions"]
    }
    for partition in loader.load_data("partitions")["partitions"]:
        for region in partition["regions"]:
            found.setdefault(region, partition["id"])
    return {r: p for r, p in found.items() if not r.endswith("-global")}


def test_the_table_has_every_region_botocore_knows_in_its_partition() -> None:
    theirs = botocore_partitions()
    missing = {r: p for r, p in theirs.items() if REGIONS.get(r) != p}
    assert not missing, f"regions.py lacks {missing}: run `make regions`"
    if botocore.__version__ == BOTOCORE_VERSION:  # the data it was made from: nothing else
        assert theirs == REGIONS


def test_the_generator_writes_botocore_s_regions(tmp_path: Path) -> None:
    """``make regions`` with this botocore: its table, and the repository's if it is the same."""
    out = tmp_path / "regions.py"
    tool = [sys.executable, "tools/gen_regions.py", "--output", str(out)]
    subprocess.run(tool, cwd=ROOT, capture_output=True, check=True)
    namespace: dict[str, object] = {}
    exec(out.read_text(), namespace)  # the file it just wrote
    assert namespace["REGIONS"] == botocore_partitions()
    assert namespace["BOTOCORE_VERSION"] == botocore.__version__
    if botocore.__version__ == BOTOCORE_VERSION:
        assert out.read_text() == (ROOT / "credential_helper" / "regions.py").read_text()
    check = [*tool, "--check"]
    assert subprocess.run(check, cwd=ROOT, capture_output=True, check=False).returncode == 0
    out.write_text(out.read_text().replace('    "us-west-2": "aws",\n', ""))  # a stale table
    stale = subprocess.run(check, cwd=ROOT, capture_output=True, text=True, check=False)
    assert (stale.returncode, stale.stderr) == (
        1,
        f"{out} is not what botocore says: run `make regions`\n",
    )


@pytest.mark.parametrize(("region", "partition"), sorted(REGIONS.items()))
def test_a_newer_region_named_by_the_user_falls_in_the_same_partition(
    region: str, partition: str
) -> None:
    """The prefix rule for ECRPY_EXTRA_REGIONS agrees with AWS on every region it has."""
    newer = region.rsplit("-", 1)[0] + "-99"
    assert registry.region_partition(newer, extra=()) is None
    assert registry.region_partition(newer, extra={newer}) == partition


_region_names = st.builds(
    "{}-{}-{}".format,
    st.sampled_from(["us", "eu", "ap", "cn", "us-gov", "us-iso", "me", "xx", "eusc-de"]),
    st.sampled_from(["east", "west", "north", "south", "central", "fake", "northeast"]),
    st.integers(1, 99),
)


@settings(max_examples=500, deadline=None)
@given(_region_names, st.sampled_from(["amazonaws.com", "amazonaws.com.cn", "c2s.ic.gov"]))
def test_a_region_aws_does_not_have_names_no_registry(region: str, suffix: str) -> None:
    host = f"{ACCOUNT}.dkr.ecr.{region}.{suffix}"
    found = registry.parse(host, extra=())
    if region in REGIONS:
        assert found is None or found.partition == REGIONS[region]
        return
    assert found is None, host
    if registry.parse(host, extra={region}) is not None:
        assert registry.unknown_region(host) == region


def probe(env: dict[str, str], stdin: str) -> tuple[int, str, str, list[str]]:
    """``get`` in a process that records every socket event (a DNS lookup is one)."""
    script = """
import sys
events = []
sys.addaudithook(lambda event, args: events.append(event) if event.startswith("socket.") else None)
from credential_helper.cli import main
code = main(["get"])
sys.stdout.flush()
sys.stderr.write("PROBE " + repr((code, events)) + "\\n")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=stdin.encode(),
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    err, _, report = result.stderr.decode().rpartition("PROBE ")
    code, events = eval(report)
    return code, result.stdout.decode(), err, events


def test_an_unknown_region_is_not_found_without_any_network(
    env: dict[str, str], fake: FakeAWS
) -> None:
    real_aws = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    for host in (FAKE, f"{ACCOUNT}.dkr.ecr.us-east-9.amazonaws.com"):
        code, out, err, events = probe(real_aws, host)
        assert (code, out, events) == (1, NOT_FOUND, []), host
        assert "is not one ecrpy knows" in err
    assert fake.requests == []


def test_the_not_found_of_an_unknown_region_says_how_to_allow_it(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    result = helper.run("get", stdin=f"https://{FAKE}/v2/", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (1, NOT_FOUND, HINT)
    assert fake.requests == []


def test_a_region_named_in_ecrpy_extra_regions_is_served(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    env["ECRPY_EXTRA_REGIONS"] = f"ap-newland-1, {FAKE_REGION}"
    for _ in range(2):  # cold, then warm from the cache
        answer = helper.get(FAKE, env)
        assert answer["Secret"] == f"{ACCOUNT}-auth-token"
    assert fake.count("GetAuthorizationToken") == 1
    assert [r.region for r in fake.requests] == [FAKE_REGION]
    other = f"{ACCOUNT}.dkr.ecr.us-fake-2.amazonaws.com"  # only what is named
    assert helper.run("get", stdin=other, env=env).stdout == NOT_FOUND


def test_whoami_and_configure_know_only_known_regions(helper: Helper, env: dict[str, str]) -> None:
    result = helper.run("whoami", FAKE, env=env)
    assert result.returncode == 1
    env["ECRPY_EXTRA_REGIONS"] = FAKE_REGION
    result = helper.run("whoami", FAKE, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"({ACCOUNT}, {FAKE_REGION}, partition aws)" in result.stdout.replace("account ", "")


def test_the_settings_file_refuses_an_sts_region_aws_does_not_have() -> None:
    text = f'[registries."{ACCOUNT}"]\nregion = "{FAKE_REGION}"\n'
    with pytest.raises(ConfigError, match="must be a region name such as us-east-1"):
        config.parse_text(text, "config.toml")
    assert config.parse_text(text.replace(FAKE_REGION, "eu-west-1"), "config.toml").entries


def test_the_warm_path_does_not_load_botocore_data(helper: Helper, env: dict[str, str]) -> None:
    helper.get(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com", env)
    script = (
        "import sys; from credential_helper.cli import main; main(['get']); "
        "sys.stderr.write(repr(sorted(m for m in sys.modules if 'botocore' in m or m == 'json')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout)["Secret"]
    assert result.stderr.endswith("[]")
