"""ecrpy's settings file: matching rules, and errors that name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from credential_helper import config, paths, registry

ETL = "210987654321.dkr.ecr.us-east-1.amazonaws.com"
TEXT = """
[registries."210987654321.dkr.ecr.us-east-1.amazonaws.com"]
role_arn = "arn:aws:iam::210987654321:role/ecr-push"
external_id = "jenkins"

[registries."210987654321"]
profile = "etl"

[registries."*.dkr.ecr.*.amazonaws.com"]
profile = "commercial"

[registries."*.dkr.ecr.eu-*.amazonaws.com"]
profile = "europe"

[registries."public.ecr.aws"]
profile = "public"
"""


def settings(host: str, text: str = TEXT) -> config.Settings:
    reg = registry.parse(host)
    assert reg is not None
    return config.settings_for(config.parse_text(text, "/cfg.toml"), reg)


@pytest.mark.parametrize(
    ("host", "profile", "role"),
    [
        (ETL, None, "arn:aws:iam::210987654321:role/ecr-push"),  # exact host beats account
        ("210987654321.dkr.ecr.eu-west-1.amazonaws.com", "etl", None),  # account beats globs
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "europe", None),  # the longer glob
        ("111122223333.dkr.ecr.us-west-2.amazonaws.com", "commercial", None),
        ("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn", None, None),  # nothing matches
        ("public.ecr.aws", "public", None),
    ],
)
def test_the_most_specific_entry_wins(host: str, profile: str | None, role: str | None) -> None:
    chosen = settings(host)
    assert (chosen.profile, chosen.role_arn) == (profile, role)


def test_matched_entry_is_named_for_whoami() -> None:
    assert settings(ETL).source == f'registries."{ETL}" in /cfg.toml'
    assert settings(ETL).external_id == "jenkins"


def test_hostnames_in_the_file_are_normalised() -> None:
    text = f'[registries."{ETL.upper()}."]\nprofile = "x"\n'
    assert settings(ETL, text).profile == "x"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[registries."x"\n', ["not valid TOML", "line 1"]),
        ('[registries."210987654321"]\nprofil = "etl"\n', ["line 2", "'profil'", "known:"]),
        (
            '[registries."210987654321"]\nprofile = "a"\nduration_seconds = 60\n',
            ["line 3", "duration_seconds", "900 to 43200"],
        ),
        ('[registries."210987654321"]\nrole_arn = "etl-role"\n', ["line 2", "IAM role ARN"]),
        ('[registries."210987654321"]\nregion = "mars"\n', ["line 2", "region name"]),
        ('[registries."210987654321"]\nrole_session_name = "a b"\n', ["line 2", "2 to 64"]),
        ('[registries."210987654321"]\nprofile = 3\n', ["line 2", "non-empty string"]),
        ('[registries."docker.io"]\nprofile = "x"\n', ["line 1", "neither an ECR registry"]),
        ('[registry."210987654321"]\nprofile = "x"\n', ["line 1", "'registry'"]),
        ("registries = 3\n", ["must be a table"]),
    ],
)
def test_a_broken_file_is_explained(text: str, fragments: list[str]) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse_text(text, "/etc/ecrpy.toml")
    message = str(caught.value)
    assert "/etc/ecrpy.toml" in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_a_missing_file_means_defaults(tmp_path: Path) -> None:
    loaded = config.load({"ECRPY_CONFIG": str(tmp_path / "none.toml")})
    assert loaded.entries == ()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"ECRPY_CONFIG": "/etc/ecrpy.toml", "HOME": "/h"}, "/etc/ecrpy.toml"),
        ({"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}, "/xdg/ecrpy/config.toml"),
        ({"HOME": "/h"}, "/h/.config/ecrpy/config.toml"),
    ],
)
def test_where_the_file_is(environ: dict[str, str], expected: str) -> None:
    assert paths.settings_file(environ) == expected
