"""``configure --store`` switches a machine to ``"credsStore": "ecrpy"``; ``--remove --store`` undoes it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import REGISTRY, Helper

OTHER = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
ECR_PASSWORD_B64 = "QVdTOmVjci1wYXNzd29yZA=="  # AWS:ecr-password

BEFORE = {
    "auths": {
        f"https://{REGISTRY}": {"auth": ECR_PASSWORD_B64},
        "ghcr.io": {},
        "https://index.docker.io/v1/": {},
    },
    "credsStore": "desktop",
    "credHelpers": {OTHER: "ecr-login", "gcr.io": "gcloud", REGISTRY: "ecrpy"},
    "currentContext": "colima",
}


def files(env: dict[str, str]) -> tuple[Path, Path]:
    home = Path(env["HOME"])
    return home / ".docker" / "config.json", home / ".config" / "ecrpy" / "config.toml"


def write(env: dict[str, str], document: dict[str, object]) -> Path:
    path = files(env)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent="\t") + "\n")
    path.chmod(0o600)
    return path


def test_switch_over_and_back_again(helper: Helper, docker_env: dict[str, str]) -> None:
    docker, settings = files(docker_env)
    write(docker_env, BEFORE)
    result = helper.run("configure", "--store", "--yes", env=docker_env)
    assert result.returncode == 0, result.stdout
    after = json.loads(docker.read_text())
    assert after == {
        "auths": {"ghcr.io": {}, "https://index.docker.io/v1/": {}},
        "credsStore": "ecrpy",
        "credHelpers": {"gcr.io": "gcloud"},
        "currentContext": "colima",
    }
    assert settings.read_text() == '[store]\nfallback = "desktop"  # added by configure --store\n'
    assert f'✔ {settings}: [store] fallback = "desktop"' in result.stdout
    assert "✔ credsStore -> ecrpy (was desktop, now ecrpy's fallback)" in result.stdout
    assert f"✔ {OTHER}: credHelpers entry (ecr-login) removed" in result.stdout
    assert f"✔ {REGISTRY}: removed a saved password from auths" in result.stdout
    for file in docker.parent.iterdir():  # no ECR password left on disk, not even the backup
        assert ECR_PASSWORD_B64 not in file.read_text()

    again = helper.run("configure", "--store", "--yes", env=docker_env)
    assert again.returncode == 0 and "Nothing to change" in again.stdout

    undone = helper.run("configure", "--remove", "--store", env=docker_env)
    assert undone.returncode == 0, undone.stdout
    restored = json.loads(docker.read_text())
    expected = json.loads(json.dumps(BEFORE))
    del expected["auths"][f"https://{REGISTRY}"]  # the stale ECR password is not put back
    assert restored == expected
    assert list(restored["credHelpers"]) == list(BEFORE["credHelpers"])  # in their places
    assert not settings.exists()  # it held only what --store added


def test_dry_run_shows_both_diffs_and_changes_nothing(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    docker, settings = files(docker_env)
    write(docker_env, BEFORE)
    before = docker.read_text()
    result = helper.run("configure", "--store", "--dry-run", env=docker_env)
    assert result.returncode == 0
    assert f"+++ {settings} (after)" in result.stdout
    assert '+fallback = "desktop"  # added by configure --store' in result.stdout
    assert f"+++ {docker} (after)" in result.stdout
    assert '-\t"credsStore": "desktop",' in result.stdout
    assert '+\t"credsStore": "ecrpy",' in result.stdout
    assert docker.read_text() == before and not settings.exists()


def test_without_a_terminal_or_yes_the_credhelpers_entries_stay(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    docker, _ = files(docker_env)
    write(docker_env, BEFORE)
    result = helper.run("configure", "--store", env=docker_env)
    assert result.returncode == 0
    assert "Kept them (they keep working and win over credsStore); --yes drops them." in (
        result.stdout
    )
    assert json.loads(docker.read_text())["credHelpers"] == BEFORE["credHelpers"]


def test_no_store_before_means_ecrpys_own_store_and_none_after(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    docker, settings = files(docker_env)
    write(docker_env, {"auths": {"ghcr.io": {"auth": "dXNlcjp0b2tlbg=="}}})
    result = helper.run("configure", "--store", "--yes", env=docker_env)
    assert result.returncode == 0
    assert json.loads(docker.read_text())["credsStore"] == "ecrpy"
    assert not settings.exists()  # no fallback: ecrpy keeps the other logins itself
    assert "warning: auths still holds passwords for ghcr.io" in result.stdout
    helper.run("configure", "--remove", "--store", env=docker_env)
    assert json.loads(docker.read_text()) == {"auths": {"ghcr.io": {"auth": "dXNlcjp0b2tlbg=="}}}


def test_settings_that_name_another_fallback_are_not_overwritten(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    docker, settings = files(docker_env)
    write(docker_env, BEFORE)
    settings.parent.mkdir(parents=True)
    settings.write_text('[store]\nfallback = "pass"\n')
    before = docker.read_text()
    result = helper.run("configure", "--store", "--yes", env=docker_env)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "ecrpy: ecrpy's settings already name the fallback store 'pass', and credsStore is "
        "'desktop'"
    )
    assert docker.read_text() == before
    assert settings.read_text() == '[store]\nfallback = "pass"\n'


def test_a_missing_fallback_is_warned_about(helper: Helper, docker_env: dict[str, str]) -> None:
    write(docker_env, {"credsStore": "osxkeychain"})
    result = helper.run("configure", "--store", "--yes", env=docker_env)
    assert result.returncode == 0
    assert "warning: the fallback store docker-credential-osxkeychain is not on PATH" in (
        result.stdout
    )


def test_store_takes_no_registries(helper: Helper, docker_env: dict[str, str]) -> None:
    result = helper.run("configure", "--store", REGISTRY, env=docker_env)
    assert result.returncode == 1 and "--store takes no registries" in result.stdout


def test_the_undo_record_holds_no_secret(helper: Helper, docker_env: dict[str, str]) -> None:
    write(docker_env, BEFORE)
    helper.run("configure", "--store", "--yes", env=docker_env)
    record = Path(docker_env["HOME"]) / ".local" / "share" / "ecrpy" / "configure-store.json"
    assert ECR_PASSWORD_B64 not in record.read_text()
    assert oct(os.stat(record).st_mode & 0o777) == "0o600"


# -- doctor ------------------------------------------------------------------------------------


def test_doctor_shows_the_store_mode_and_whether_the_fallback_answers(
    helper: Helper, docker_env: dict[str, str], tmp_path: Path
) -> None:
    _, settings = files(docker_env)
    write(docker_env, {"credsStore": "ecrpy", "credHelpers": {OTHER: "ecr-login"}})
    result = helper.run("doctor", env=docker_env)
    assert "✔ Docker config" in result.stdout
    assert "credsStore is ecrpy: ecrpy serves every ECR registry" in result.stdout
    own = Path(docker_env["HOME"]) / ".local" / "share" / "ecrpy" / "logins.json"
    assert f"✔ other registries: kept by ecrpy's own store {own} (answers: 0 logins)" in (
        result.stdout
    )
    assert f"✗ ECR registries not using ecrpy: {OTHER} go to another helper" in result.stdout

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    store = bin_dir / "docker-credential-teststore"
    store.write_text('#!/bin/sh\necho \'{"ghcr.io": "octo", "quay.io": "me"}\'\n')
    store.chmod(0o755)
    settings.parent.mkdir(parents=True)
    settings.write_text('[store]\nfallback = "teststore"\n')
    docker_env["PATH"] = f"{bin_dir}:{docker_env['PATH']}"
    result = helper.run("doctor", env=docker_env)
    assert (
        "✔ other registries: kept by fallback docker-credential-teststore (answers: 2 logins)"
        in result.stdout
    )

    store.write_text("#!/bin/sh\necho 'pass store not initialised' ; exit 1\n")
    result = helper.run("doctor", env=docker_env)
    assert result.returncode == 1
    assert (
        "✗ other registries: kept by fallback docker-credential-teststore, which does not "
        "answer: ecrpy: the fallback store docker-credential-teststore answered list with: "
        "pass store not initialised"
    ) in result.stdout


def test_doctor_without_credsstore_ecrpy_names_who_keeps_other_logins(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    _, settings = files(docker_env)
    write(docker_env, {"credsStore": "desktop", "credHelpers": {REGISTRY: "ecrpy"}})
    assert "other registries" not in helper.run("doctor", env=docker_env).stdout
    settings.parent.mkdir(parents=True)
    settings.write_text('[store]\nfallback = "desktop"\n')
    result = helper.run("doctor", env=docker_env)
    assert (
        "✔ other registries: kept by credsStore 'desktop': ecrpy serves only its credHelpers "
        "(the [store] fallback 'desktop' is unused)"
    ) in result.stdout


def test_a_credsstore_that_is_no_helper_name_is_left_alone(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    path = write({**docker_env}, {"credsStore": "../../bin/sh"})
    before = path.read_text()
    result = helper.run("configure", "--store", "--yes", env=docker_env)
    assert result.returncode == 1
    assert "is not a credential helper's name ecrpy can run as its fallback" in result.stdout
    assert path.read_text() == before
