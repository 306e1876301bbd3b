"""paths: every location ecrpy uses, decided from an environment and a platform name.

The decisions are pure, so Windows' and macOS' are checked here on Linux. Where ecrpy must find
the very file another program reads (botocore's AWS files, Docker's config), the oracle is that
program's own rule: ``ntpath.expanduser`` is what botocore calls on Windows.
"""

from __future__ import annotations

import ntpath
import os

import pytest

from credential_helper import paths

PROFILE = "C:\\Users\\me"
WINDOWS = {
    "USERPROFILE": PROFILE,
    "HOME": "C:\\decoy",  # Git Bash, some roaming profiles: never ecrpy's, botocore's or Docker's
    "LOCALAPPDATA": "C:\\Users\\me\\AppData\\Local",
    "APPDATA": "C:\\Users\\me\\AppData\\Roaming",
    "XDG_CACHE_HOME": "C:\\xdg\\cache",  # a POSIX convention, not read on Windows
    "XDG_DATA_HOME": "C:\\xdg\\data",
    "XDG_CONFIG_HOME": "C:\\xdg\\config",
}


def botocore_expands(path: str, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """What botocore opens on Windows: ``os.path.expanduser`` (ntpath's) in that environment."""
    with monkeypatch.context() as patched:
        patched.setattr(os, "environ", dict(environ))
        return ntpath.expanduser(path)


def test_windows_locations_under_localappdata_and_appdata() -> None:
    local = "C:\\Users\\me\\AppData\\Local\\ecrpy"
    assert paths.cache_dir(WINDOWS, "win32") == local + "\\cache"
    assert paths.data_dir(WINDOWS, "win32") == local + "\\data"
    assert paths.login_store(WINDOWS, "win32") == local + "\\data\\logins.json"
    assert paths.undo_record(WINDOWS, "win32") == local + "\\data\\configure-store.json"
    assert (
        paths.settings_file(WINDOWS, "win32")
        == "C:\\Users\\me\\AppData\\Roaming\\ecrpy\\config.toml"
    )


def test_windows_without_appdata_variables_uses_the_profile() -> None:
    environ = {"USERPROFILE": PROFILE}
    assert paths.cache_dir(environ, "win32") == PROFILE + "\\AppData\\Local\\ecrpy\\cache"
    assert (
        paths.settings_file(environ, "win32") == PROFILE + "\\AppData\\Roaming\\ecrpy\\config.toml"
    )


def test_windows_never_takes_home_for_the_profile() -> None:
    environ = {"HOME": "C:\\decoy"}
    assert paths.home(environ, "win32") is None
    assert paths.cache_dir(environ, "win32") is None  # no profile: no cache, as with no HOME
    assert paths.data_dir(environ, "win32") is None
    assert "decoy" not in paths.docker_config(environ, "win32")
    assert paths.home({"HOMEDRIVE": "D:", "HOMEPATH": "\\Users\\me"}, "win32") == "D:\\Users\\me"


@pytest.mark.parametrize(
    "environ",
    [
        WINDOWS,
        {"USERPROFILE": PROFILE},
        {"HOMEDRIVE": "D:", "HOMEPATH": "\\Users\\me", "HOME": "C:\\decoy"},
        {"HOME": "C:\\decoy"},  # no profile at all: left unexpanded, as botocore leaves it
    ],
)
def test_windows_aws_files_are_the_ones_botocore_opens(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = tuple(
        botocore_expands(path, environ, monkeypatch)
        for path in ("~/.aws/config", "~/.aws/credentials")
    )
    assert paths.aws_files(environ, "win32") == expected


def test_windows_aws_file_variables_win_and_are_expanded_as_botocore_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {**WINDOWS, "AWS_CONFIG_FILE": "~\\aws\\cfg", "AWS_SHARED_CREDENTIALS_FILE": "D:\\c"}
    assert paths.aws_files(environ, "win32") == (
        botocore_expands("~\\aws\\cfg", environ, monkeypatch),
        "D:\\c",
    )


def test_windows_docker_config_is_in_the_profile_unless_docker_config_says() -> None:
    assert paths.docker_config(WINDOWS, "win32") == PROFILE + "\\.docker\\config.json"
    environ = {**WINDOWS, "DOCKER_CONFIG": "E:\\docker"}
    assert paths.docker_config(environ, "win32") == "E:\\docker\\config.json"


def test_windows_explicit_settings_and_cache_win() -> None:
    environ = {**WINDOWS, "ECRPY_CONFIG": "~\\ecrpy.toml", "AWS_ECR_CACHE_DIR": "~\\ecr-cache"}
    assert paths.settings_file(environ, "win32") == PROFILE + "\\ecrpy.toml"
    assert paths.cache_dir(environ, "win32") == PROFILE + "\\ecr-cache"


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_posix_locations_follow_home_and_xdg(platform: str) -> None:
    environ = {"HOME": "/home/me", "USERPROFILE": "C:\\ignored"}
    assert paths.cache_dir(environ, platform) == "/home/me/.cache/ecrpy"
    assert paths.data_dir(environ, platform) == "/home/me/.local/share/ecrpy"
    assert paths.login_store(environ, platform) == "/home/me/.local/share/ecrpy/logins.json"
    assert paths.settings_file(environ, platform) == "/home/me/.config/ecrpy/config.toml"
    assert paths.aws_files(environ, platform) == (
        "/home/me/.aws/config",
        "/home/me/.aws/credentials",
    )
    assert paths.docker_config(environ, platform) == "/home/me/.docker/config.json"
    xdg = {**environ, "XDG_CACHE_HOME": "/c", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/e"}
    assert paths.cache_dir(xdg, platform) == "/c/ecrpy"
    assert paths.data_dir(xdg, platform) == "/d/ecrpy"
    assert paths.settings_file(xdg, platform) == "/e/ecrpy/config.toml"
