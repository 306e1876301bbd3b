"""``configure`` over real-world Docker config files, and ``doctor`` against healthy and broken worlds."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS, Fault
from tests.conftest import REGISTRY, SECRET_KEY, Helper

OTHER = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
PASSWORD_B64 = (
    "QVdTOmVjci1wYXNzd29yZC1mcm9tLWRvY2tlci1sb2dpbg=="  # AWS:ecr-password-from-docker-login
)


def config_file(env: dict[str, str]) -> Path:
    return Path(env["HOME"]) / ".docker" / "config.json"


def write_config(env: dict[str, str], content: str, mode: int = 0o600) -> Path:
    path = config_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    os.chmod(path, mode)
    return path


REAL_WORLD = {
    "auths": {
        f"https://{REGISTRY}": {"auth": PASSWORD_B64},
        "ghcr.io": {"auth": "dXNlcjp0b2tlbg=="},
    },
    "credsStore": "desktop",
    "currentContext": "colima",
    "credHelpers": {f"{OTHER}": "ecr-login", "gcr.io": "gcloud"},
    "plugins": {"buildx": {"default": "true"}},
}


def test_configure_takes_over_every_ecr_registry_and_keeps_everything_else(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    path = write_config(docker_env, json.dumps(REAL_WORLD, indent=2), mode=0o640)
    result = helper.run("configure", "--yes", env=docker_env)
    assert result.returncode == 0, result.stdout
    after = json.loads(path.read_text())
    assert list(after) == list(REAL_WORLD)  # every key kept, in order
    assert after["credHelpers"] == {OTHER: "ecrpy", "gcr.io": "gcloud", REGISTRY: "ecrpy"}
    assert after["auths"] == {"ghcr.io": {"auth": "dXNlcjp0b2tlbg=="}}
    assert after["plugins"] == REAL_WORLD["plugins"] and after["credsStore"] == "desktop"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the original mode
    assert f"{OTHER}: credHelpers -> ecrpy (was ecr-login)" in result.stdout
    assert f"{REGISTRY}: removed a saved password from auths" in result.stdout
    # no plaintext ECR password stays on disk, not even in the backup
    for file in path.parent.iterdir():
        assert PASSWORD_B64 not in file.read_text(), file
    backup = json.loads((path.parent / "config.json.bak").read_text())
    assert backup["credHelpers"] == REAL_WORLD["credHelpers"]  # the rest as it was


def test_configure_is_idempotent(helper: Helper, docker_env: dict[str, str]) -> None:
    path = write_config(docker_env, json.dumps(REAL_WORLD))
    helper.run("configure", "--yes", env=docker_env)
    first = path.read_text()
    result = helper.run("configure", "--yes", env=docker_env)
    assert result.returncode == 0 and "already configured" in result.stdout
    assert path.read_text() == first


def test_keep_auths_leaves_saved_passwords(helper: Helper, docker_env: dict[str, str]) -> None:
    path = write_config(docker_env, json.dumps(REAL_WORLD))
    helper.run("configure", REGISTRY, "--keep-auths", env=docker_env)
    assert f"https://{REGISTRY}" in json.loads(path.read_text())["auths"]


def test_dry_run_prints_the_diff_and_changes_nothing(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    path = write_config(docker_env, json.dumps(REAL_WORLD, indent="\t"))  # as Docker writes it
    before = path.read_text()
    result = helper.run("configure", "--dry-run", env=docker_env)
    assert result.returncode == 0
    assert (
        f'+\t\t"{REGISTRY}": "ecrpy"' in result.stdout
        and f'-\t\t"https://{REGISTRY}"' in result.stdout
    )
    assert path.read_text() == before and not (path.parent / "config.json.bak").exists()
    changed = [line for line in result.stdout.splitlines() if line[:1] in "+-"]
    assert len(changed) <= 12  # a diff of what changes, not of the whole file


def test_a_missing_file_is_created_private(helper: Helper, docker_env: dict[str, str]) -> None:
    result = helper.run("configure", f"{REGISTRY}/team/app:1.2", "--public", env=docker_env)
    assert result.returncode == 0, result.stdout
    path = config_file(docker_env)
    assert json.loads(path.read_text()) == {
        "credHelpers": {REGISTRY: "ecrpy", "public.ecr.aws": "ecrpy"}
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_file_is_an_empty_config(helper: Helper, docker_env: dict[str, str]) -> None:
    path = write_config(docker_env, "")
    helper.run("configure", "--account", "123456789012", "--region", "cn-north-1", env=docker_env)
    assert json.loads(path.read_text()) == {
        "credHelpers": {"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn": "ecrpy"}
    }


def test_docker_config_variable_is_honoured(
    helper: Helper, docker_env: dict[str, str], tmp_path: Path
) -> None:
    docker_env["DOCKER_CONFIG"] = str(tmp_path / "ci-docker")
    helper.run("configure", REGISTRY, env=docker_env)
    assert (tmp_path / "ci-docker" / "config.json").exists()
    assert not config_file(docker_env).exists()


def test_invalid_json_is_refused_with_the_place_it_breaks(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    path = write_config(docker_env, '{\n  "auths": {\n    "x": 1,\n  }\n}')
    before = path.read_text()
    result = helper.run("configure", REGISTRY, env=docker_env)
    assert result.returncode == 1
    assert "not valid JSON" in result.stdout and "line 4" in result.stdout
    assert path.read_text() == before


def test_a_symlinked_config_is_updated_at_its_target(
    helper: Helper, docker_env: dict[str, str], tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles" / "docker.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text('{"currentContext": "default"}')
    config_file(docker_env).parent.mkdir()
    config_file(docker_env).symlink_to(dotfiles)
    assert helper.run("configure", REGISTRY, env=docker_env).returncode == 0
    assert config_file(docker_env).is_symlink()  # the user's link survives
    assert json.loads(dotfiles.read_text())["credHelpers"] == {REGISTRY: "ecrpy"}


def test_a_read_only_config_fails_cleanly(helper: Helper, docker_env: dict[str, str]) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to make a read-only mount")
    path = write_config(docker_env, "{}")
    directory = path.parent
    script = f"mount --bind {directory} {directory} && mount -o remount,bind,ro {directory}"
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'{script} && exec "$0" configure "$1"',
            helper.path,
            REGISTRY,
        ],
        env=docker_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot write" in result.stdout and "Read-only file system" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert path.read_text() == "{}"


def test_remove_undoes_configure(helper: Helper, docker_env: dict[str, str]) -> None:
    path = write_config(docker_env, '{"credHelpers": {"gcr.io": "gcloud"}}')
    helper.run("configure", REGISTRY, OTHER, env=docker_env)
    helper.run("configure", "--remove", OTHER, env=docker_env)
    assert json.loads(path.read_text())["credHelpers"] == {"gcr.io": "gcloud", REGISTRY: "ecrpy"}
    helper.run("configure", "--remove", env=docker_env)
    assert json.loads(path.read_text()) == {"credHelpers": {"gcr.io": "gcloud"}}


def test_with_no_argument_and_no_terminal_it_asks_for_yes(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    path = write_config(docker_env, json.dumps(REAL_WORLD))
    before = path.read_text()
    result = helper.run("configure", env=docker_env)
    assert result.returncode == 1 and "--yes" in result.stdout and REGISTRY in result.stdout
    assert path.read_text() == before


def test_not_an_ecr_registry(helper: Helper, docker_env: dict[str, str]) -> None:
    result = helper.run("configure", "ghcr.io/me/app", env=docker_env)
    assert result.returncode == 1
    assert result.stdout == (
        "ecrpy: ghcr.io is not an Amazon ECR registry nor an alias in ecrpy's settings\n"
    )
    whoami = helper.run("whoami", "ghcr.io/me/app", env=docker_env)
    assert whoami.stdout == result.stdout  # one wording for every tool
    assert not config_file(docker_env).exists()


def test_warns_when_docker_cannot_find_the_helper(helper: Helper, env: dict[str, str]) -> None:
    env["PATH"] = "/usr/bin:/bin"  # the helper's directory is not on it
    result = helper.run("configure", REGISTRY, env=env)
    assert result.returncode == 0
    assert "not on your PATH" in result.stdout and str(Path(helper.path).parent) in result.stdout


# -- doctor -------------------------------------------------------------------------------------


def doctor(helper: Helper, env: dict[str, str]) -> tuple[int, dict[str, dict[str, object]], str]:
    text = helper.run("doctor", env=env)
    machine = helper.run("doctor", "--json", env=env)
    payload = json.loads(machine.stdout)
    assert payload["ok"] == (machine.returncode == 0) == (text.returncode == 0)
    assert SECRET_KEY not in text.stdout + machine.stdout
    return machine.returncode, {c["name"]: c for c in payload["checks"]}, text.stdout


def test_doctor_on_a_healthy_world(
    helper: Helper, docker_env: dict[str, str], fake: FakeAWS
) -> None:
    helper.run("configure", REGISTRY, env=docker_env)
    code, checks, text = doctor(helper, docker_env)
    assert code == 0, text
    assert checks[REGISTRY]["ok"] and "token obtainable" in str(checks[REGISTRY]["detail"])
    assert "✗" not in text and "\N{EN DASH}" not in text and text.count("✔") == len(checks)
    assert all(c["status"] == "ok" for c in checks.values())
    assert "123456789012-auth-token" not in text


def test_doctor_with_no_docker_config_still_checks_the_aws_identity(
    helper: Helper, docker_env: dict[str, str], fake: FakeAWS
) -> None:
    code, checks, text = doctor(helper, docker_env)
    assert code == 1, text  # no Docker config is a problem; the rest is still looked at
    assert checks["AWS identity"]["ok"] is True, text
    assert "caller arn:aws:" in str(checks["AWS identity"]["detail"])
    assert checks["clock"]["ok"] is True and "within" in str(checks["clock"]["detail"])
    assert fake.count("GetCallerIdentity") >= 1


def test_doctor_shows_a_check_it_could_not_make_as_not_made(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    del docker_env["AWS_ACCESS_KEY_ID"], docker_env["AWS_SECRET_ACCESS_KEY"]
    code, checks, text = doctor(helper, docker_env)
    assert code == 1
    assert checks["AWS identity"]["ok"] is False
    assert "set AWS_PROFILE" in str(checks["AWS identity"]["fix"])
    assert checks["clock"]["ok"] is None and checks["clock"]["status"] == "not made"
    assert "\N{EN DASH} clock: not compared: no reply from AWS to compare with" in text
    assert "✔ clock" not in text


@pytest.mark.parametrize(
    ("breakage", "check", "fix"),
    [
        ("no-path", "helper on PATH", "PATH"),
        ("saved-password", "saved ECR passwords", "configure --yes"),
        ("credsstore", "ECR registries not using ecrpy", "configure --yes"),
        ("denied", REGISTRY, "ecr:GetAuthorizationToken"),
        ("no-credentials", REGISTRY, "AWS_PROFILE"),
        ("bad-settings", "ecrpy settings", "line"),
        ("open-cache", "token cache", "chmod 700"),
        ("clock", "clock", "NTP"),
        ("bad-json", None, "fix the file"),
    ],
)
def test_doctor_names_each_problem_and_its_fix(
    helper: Helper,
    docker_env: dict[str, str],
    fake: FakeAWS,
    home: Path,
    breakage: str,
    check: str | None,
    fix: str,
) -> None:
    helper.run("configure", REGISTRY, env=docker_env)
    if breakage == "no-path":
        docker_env["PATH"] = "/usr/bin:/bin"
    elif breakage == "saved-password":
        data = json.loads(config_file(docker_env).read_text())
        data["auths"] = {f"https://{REGISTRY}": {"auth": PASSWORD_B64}}
        config_file(docker_env).write_text(json.dumps(data))
    elif breakage == "credsstore":
        data = json.loads(config_file(docker_env).read_text())
        data.update(credsStore="desktop", auths={OTHER: {}})
        config_file(docker_env).write_text(json.dumps(data))
    elif breakage == "denied":
        fake.add_fault(Fault(operation="GetAuthorizationToken", code="AccessDeniedException"))
    elif breakage == "no-credentials":
        del docker_env["AWS_ACCESS_KEY_ID"], docker_env["AWS_SECRET_ACCESS_KEY"]
    elif breakage == "bad-settings":
        settings = home / ".config" / "ecrpy" / "config.toml"
        settings.parent.mkdir(parents=True)
        settings.write_text('[registries."123456789012"]\nrole = "x"\n')
    elif breakage == "open-cache":
        (home / ".cache" / "ecrpy").mkdir(parents=True, mode=0o755)
        os.chmod(home / ".cache" / "ecrpy", 0o755)
    elif breakage == "clock":
        fake.clock_offset = 3600
    elif breakage == "bad-json":
        config_file(docker_env).write_text("{ not json")
    code, checks, text = doctor(helper, docker_env)
    assert code == 1, text
    failed = [c for c in checks.values() if c["ok"] is False]
    if check is not None:
        assert check in checks and checks[check]["ok"] is False, text
        assert fix in str(checks[check]["fix"]), checks[check]
    else:
        assert failed and any(fix in str(c["fix"]) for c in failed), text
    assert "fix: " in text and "Traceback" not in text
    for line in text.splitlines():  # a fix is an instruction, never a warning
        assert not line.strip().startswith("fix: warning"), line
