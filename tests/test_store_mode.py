"""``"credsStore": "ecrpy"``: registries that are not ECR go to the fallback store, or ecrpy's own.

The installed helper runs as Docker runs it. The fallback is a real program on PATH (a small
script named ``docker-credential-recorder``) that records its argv and stdin bytes and answers
what each test tells it to, so each test can see exactly what crossed the boundary both ways.
The real stores (pass, with gpg) are in tests/e2e/test_store_mode.py.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from credential_helper import login_store, protocol, registry
from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper
from tests.startup import ecrpy_modules

NOT_FOUND = "credentials not found in native keychain\n"

RECORDER = """#!{python}
import os, sys, time
record = os.environ["RECORD_DIR"]
data = sys.stdin.buffer.read()
n = len(os.listdir(record))
with open(os.path.join(record, f"{{n:03d}}"), "wb") as f:
    f.write(sys.argv[1].encode() + b"\\0" + data)
with open(os.path.join(record, "pid"), "w") as f:
    f.write(str(os.getpid()))
if os.environ.get("ANSWER_DAEMON") and os.fork() == 0:  # a child that keeps stdout open
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    with open(os.path.join(record, "daemon"), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
    os._exit(0)
while os.environ.get("ANSWER_DAEMON") and not os.path.exists(os.path.join(record, "daemon")):
    time.sleep(0.01)
time.sleep(float(os.environ.get("ANSWER_SLEEP", "0")))
sys.stderr.buffer.write(bytes.fromhex(os.environ.get("ANSWER_STDERR", "")))
sys.stdout.buffer.write(bytes.fromhex(os.environ.get("ANSWER_STDOUT", "")))
sys.stdout.flush()
sys.exit(int(os.environ.get("ANSWER_CODE", "0")))
"""


@pytest.fixture
def store_env(env: dict[str, str], home: Path, tmp_path: Path) -> dict[str, str]:
    """The helper with ``[store] fallback = "recorder"``, the recorder first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-recorder"
    script.write_text(RECORDER.format(python=sys.executable))
    script.chmod(0o755)
    record = tmp_path / "record"
    record.mkdir()
    settings_file = home / ".config" / "ecrpy" / "config.toml"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('[store]\nfallback = "recorder"\n')
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}", "RECORD_DIR": str(record)}


def recorded(env: dict[str, str]) -> list[tuple[str, bytes]]:
    """(action, stdin bytes) of every run of the fallback, in order."""
    record = Path(env["RECORD_DIR"])
    runs = []
    for path in sorted(record.glob("[0-9]*")):
        action, _, data = path.read_bytes().partition(b"\0")
        runs.append((action.decode(), data))
    return runs


def answer(env: dict[str, str], stdout: bytes = b"", code: int = 0, stderr: bytes = b"") -> None:
    env.update(ANSWER_STDOUT=stdout.hex(), ANSWER_CODE=str(code), ANSWER_STDERR=stderr.hex())


def run_bytes(helper: Helper, action: str, stdin: bytes, env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [helper.path, action], input=stdin, env=env, capture_output=True, timeout=timeout
    )


# -- forwarding, byte for byte ----------------------------------------------------------------

LOGIN = b'{"ServerURL":"registry.example.test","Username":"me","Secret":"s3cr\\u00e9t"}'


@pytest.mark.parametrize(
    ("action", "stdin", "stdout", "code"),
    [
        ("get", b"registry.example.test\n", b'{"ServerURL":"x","Username":"me","Secret":"p"}\n', 0),
        ("get", b"https://index.docker.io/v1/", b"credentials not found in native keychain\n", 1),
        ("store", LOGIN, b"", 0),
        ("store", LOGIN, b"error storing: keychain locked\n", 1),
        ("erase", b"ghcr.io", b"", 0),
        ("erase", b"ghcr.io", b"credentials not found in native keychain\n", 1),
    ],
)
def test_every_action_is_forwarded_byte_for_byte(
    helper: Helper,
    store_env: dict[str, str],
    fake: FakeAWS,
    action: str,
    stdin: bytes,
    stdout: bytes,
    code: int,
) -> None:
    answer(store_env, stdout, code, stderr=b"a word from the store\n")
    result = run_bytes(helper, action, stdin, store_env)
    assert (result.returncode, result.stdout) == (code, stdout)
    assert result.stderr == b"a word from the store\n"
    assert recorded(store_env) == [(action, stdin)]
    assert fake.requests == []


def test_list_merges_the_fallbacks_logins_with_ecrpys_ecr_registries(
    helper: Helper, store_env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, store_env)  # an ECR token in ecrpy's cache
    answer(store_env, b'{"https://index.docker.io/v1/":"me","ghcr.io":"octo"}\n')
    result = helper.run("list", env=store_env)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "https://index.docker.io/v1/": "me",
        "ghcr.io": "octo",
        f"https://{REGISTRY}": "AWS",
    }
    assert recorded(store_env) == [("list", b"")]


@pytest.mark.parametrize("stdout", [b"not json", b"[1, 2]", b'{"ghcr.io": 1}', b""])
def test_a_fallback_list_that_is_not_a_list_of_logins_is_a_clear_error(
    helper: Helper, store_env: dict[str, str], stdout: bytes
) -> None:
    answer(store_env, stdout)
    result = helper.run("list", env=store_env)
    assert result.returncode == 1
    assert result.stdout.startswith("ecrpy: the fallback store docker-credential-recorder ")
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_failing_fallback_list_is_an_error_not_a_silently_short_list(
    helper: Helper, store_env: dict[str, str]
) -> None:
    answer(store_env, b"pass store is locked\n", code=1)
    result = helper.run("list", env=store_env)
    assert result.returncode == 1 and "pass store is locked" in result.stdout


def test_an_ecr_registry_never_reaches_the_fallback(
    helper: Helper, store_env: dict[str, str], fake: FakeAWS
) -> None:
    assert helper.get(f"https://{REGISTRY}", store_env)["Username"] == "AWS"
    login = json.dumps({"ServerURL": REGISTRY, "Username": "AWS", "Secret": "old-password"})
    stored = helper.run("store", stdin=login, env=store_env)
    assert stored.returncode == 0 and "nothing stored" in stored.stderr
    assert helper.run("erase", stdin=REGISTRY, env=store_env).returncode == 0
    assert helper.run("get", stdin="public.ecr.aws", env=store_env).returncode == 0
    assert recorded(store_env) == []


@pytest.mark.parametrize(
    "stdout", [b"\xff\xfe\x00garbage\x1b[31m", b"{" * 10, b"line one\nline two\n" * 100]
)
def test_garbage_from_the_fallback_is_passed_through_as_it_is(
    helper: Helper, store_env: dict[str, str], stdout: bytes
) -> None:
    answer(store_env, stdout, code=0)
    result = run_bytes(helper, "get", b"ghcr.io", store_env)
    assert (result.returncode, result.stdout) == (0, stdout)


def test_the_fallbacks_exit_code_is_passed_through(
    helper: Helper, store_env: dict[str, str]
) -> None:
    answer(store_env, b"usage: something odd\n", code=2)
    result = run_bytes(helper, "erase", b"ghcr.io", store_env)
    assert (result.returncode, result.stdout) == (2, b"usage: something odd\n")


def test_a_hanging_fallback_is_stopped_at_the_deadline(
    helper: Helper, store_env: dict[str, str]
) -> None:
    store_env.update(ANSWER_SLEEP="600", ECRPY_TIMEOUT="1")
    result = helper.run("get", stdin="ghcr.io", env=store_env, timeout=60)
    assert result.returncode == 1
    assert result.stdout == (
        "ecrpy: the fallback store docker-credential-recorder gave no answer within 1 s and was "
        f"stopped (named by [store] fallback in {Path(store_env['HOME'])}/.config/ecrpy/"
        "config.toml); fix it, change that line, or set ECRPY_TIMEOUT to wait longer\n"
    )
    assert result.stdout in result.stderr  # Docker shows stderr, not stdout
    pid = int((Path(store_env["RECORD_DIR"]) / "pid").read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped, not left behind


def test_a_daemon_holding_stdout_open_does_not_hold_up_the_answer(
    helper: Helper, store_env: dict[str, str]
) -> None:
    """gpg-agent style: the store exits, a process it started keeps the pipe; ecrpy answers."""
    answer(store_env, b"answer\n")
    store_env.update(ANSWER_DAEMON="1", ECRPY_TIMEOUT="30")
    try:
        result = run_bytes(helper, "get", b"ghcr.io", store_env)
        assert (result.returncode, result.stdout) == (0, b"answer\n")
    finally:
        daemon = Path(store_env["RECORD_DIR"]) / "daemon"
        if daemon.exists():
            os.kill(int(daemon.read_text()), signal.SIGKILL)


def test_a_missing_fallback_is_one_line_naming_it_and_the_fix(
    helper: Helper, store_env: dict[str, str], home: Path
) -> None:
    settings_file = home / ".config" / "ecrpy" / "config.toml"
    settings_file.write_text('[store]\nfallback = "osxkeychain"\n')
    for action, stdin in (("get", "ghcr.io"), ("store", LOGIN.decode()), ("list", "")):
        result = helper.run(action, stdin=stdin, env=store_env)
        assert result.returncode == 1
        assert result.stdout == (
            "ecrpy: the fallback store docker-credential-osxkeychain is not on PATH (named by "
            f"[store] fallback in {settings_file}): install it, or change or remove that line\n"
        )
        assert result.stderr == result.stdout


def test_a_fallback_that_cannot_start_is_one_line(
    helper: Helper, store_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "bin" / "docker-credential-recorder"
    script.write_text("#!/nonexistent/interpreter\n")
    result = helper.run("get", stdin="ghcr.io", env=store_env)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "ecrpy: the fallback store docker-credential-recorder cannot be started "
        "(No such file or directory)"
    )
    assert "Traceback" not in result.stderr


def _not_ecr(raw: bytes) -> bool:
    """A request that names a host (by the authority rule) and not an ECR one."""
    host = protocol.hostname(protocol.decode_input(raw).strip())
    return bool(host) and registry.parse(host) is None and registry.unknown_region(host) is None


# Another registry's request: a host, then any bytes at all (the path is never read).
OTHER_REQUESTS = st.builds(
    lambda scheme, host, tail: scheme + host.encode() + tail,
    st.sampled_from([b"", b"https://", b"http://"]),
    st.from_regex(r"\A[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}(:[0-9]{1,4})?\Z"),
    st.one_of(st.just(b""), st.binary(max_size=200).map(lambda b: b"/" + b)),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=OTHER_REQUESTS)
def test_any_bytes_for_another_registry_reach_the_fallback_unchanged(
    helper: Helper, store_env: dict[str, str], raw: bytes
) -> None:
    assume(_not_ecr(raw))
    for path in Path(store_env["RECORD_DIR"]).iterdir():
        path.unlink()
    answer(store_env, raw[::-1], code=len(raw) % 3)
    result = run_bytes(helper, "get", raw, store_env)
    assert (result.returncode, result.stdout) == (len(raw) % 3, raw[::-1])
    assert recorded(store_env) == [("get", raw)]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=st.text(min_size=1, max_size=200), username=st.text(min_size=1, max_size=50))
def test_any_login_reaches_the_fallback_unchanged(
    helper: Helper, store_env: dict[str, str], secret: str, username: str
) -> None:
    assume(username.strip())
    for path in Path(store_env["RECORD_DIR"]).iterdir():
        path.unlink()
    payload = json.dumps({"ServerURL": "ghcr.io", "Username": username, "Secret": secret})
    answer(store_env)
    result = run_bytes(helper, "store", payload.encode(), store_env)
    assert result.returncode == 0
    assert recorded(store_env) == [("store", payload.encode())]


# -- the settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[store]\nfallback = "ecrpy"\n', "cannot be ecrpy itself"),
        ('[store]\nfallback = "../bin/sh"\n', "must be a credential helper's name"),
        ("[store]\nfallback = 1\n", "must be a credential helper's name"),
        ('[store]\nfalback = "pass"\n', "unknown key 'falback' in [store] (known: fallback)"),
    ],
)
def test_an_unusable_store_table_is_named_with_its_line(
    helper: Helper, env: dict[str, str], home: Path, text: str, says: str
) -> None:
    settings_file = home / ".config" / "ecrpy" / "config.toml"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(text)
    result = helper.run("get", stdin="ghcr.io", env=env)
    assert result.returncode == 1
    assert result.stdout.startswith(f"ecrpy: ecrpy config {settings_file}, line 2: ")
    assert says in result.stdout


# -- ecrpy's own store -------------------------------------------------------------------------


def own_store(env: dict[str, str]) -> Path:
    return Path(env["HOME"]) / ".local" / "share" / "ecrpy" / "logins.json"


def store(helper: Helper, env: dict[str, str], url: str, user: str, secret: str):
    payload = json.dumps({"ServerURL": url, "Username": user, "Secret": secret})
    return helper.run("store", stdin=payload, env=env)


def test_own_store_answers_as_dockers_helpers_do(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    assert (helper.run("get", stdin="ghcr.io", env=env).stdout) == NOT_FOUND
    assert json.loads(helper.run("list", env=env).stdout) == {}
    result = store(helper, env, "ghcr.io", "octo", "ghp_secret")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert helper.get("ghcr.io", env) == {
        "ServerURL": "ghcr.io",
        "Username": "octo",
        "Secret": "ghp_secret",
    }
    store(helper, env, "https://index.docker.io/v1/", "me", "hub-token")
    helper.get(REGISTRY, env)
    assert json.loads(helper.run("list", env=env).stdout) == {
        "ghcr.io": "octo",
        "https://index.docker.io/v1/": "me",
        f"https://{REGISTRY}": "AWS",
    }
    erased = helper.run("erase", stdin="ghcr.io", env=env)
    assert (erased.returncode, erased.stdout) == (0, "")
    missing = helper.run("get", stdin="ghcr.io", env=env)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, NOT_FOUND, "")
    again = helper.run("erase", stdin="ghcr.io", env=env)
    assert (again.returncode, again.stdout) == (1, NOT_FOUND)
    assert helper.get("https://index.docker.io/v1/", env)["Secret"] == "hub-token"


def test_own_store_is_owner_only_and_holds_no_ecr_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    store(helper, env, "ghcr.io", "octo", "ghp_secret")
    path = own_store(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert "auth-token" not in path.read_text()


def test_own_store_never_logs_a_secret(helper: Helper, env: dict[str, str]) -> None:
    env["ECRPY_LOG_LEVEL"] = "debug"
    store(helper, env, "ghcr.io", "octo", "ghp_do_not_log_me")
    helper.get("ghcr.io", env)
    helper.run("erase", stdin="ghcr.io", env=env)
    logs = Path(env["HOME"]) / ".cache" / "ecrpy"
    for log_file in logs.glob("*.log*") if logs.exists() else []:
        assert "ghp_do_not_log_me" not in log_file.read_text()


def test_concurrent_stores_lose_nothing(helper: Helper, env: dict[str, str]) -> None:
    hosts = [f"registry-{n}.example.test" for n in range(24)]
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda h: store(helper, env, h, "me", f"pw-{h}"), hosts))
    assert [r.returncode for r in results] == [0] * len(hosts)
    assert json.loads(helper.run("list", env=env).stdout) == dict.fromkeys(hosts, "me")
    assert [p.name for p in own_store(env).parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "content",
    [b'{"version": 1, "logins": {"ghcr.io": {"Username": "a"', b"\xff\xfe", b"[]", b""],
)
def test_a_corrupt_own_store_is_a_clear_error_and_is_never_emptied(
    helper: Helper, env: dict[str, str], content: bytes
) -> None:
    path = own_store(env)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(content)
    path.chmod(0o600)
    for result in (
        helper.run("get", stdin="ghcr.io", env=env),
        store(helper, env, "quay.io", "me", "pw"),
        helper.run("erase", stdin="ghcr.io", env=env),
        helper.run("list", env=env),
    ):
        assert result.returncode == 1
        assert result.stdout == (
            f"ecrpy: ecrpy's login store {path} is corrupt or from another version: ecrpy "
            "leaves it as it is; move it away (its logins are lost) and log in again\n"
        )
    assert path.read_bytes() == content


def test_an_own_store_others_can_read_is_refused(helper: Helper, env: dict[str, str]) -> None:
    store(helper, env, "ghcr.io", "octo", "ghp_secret")
    own_store(env).chmod(0o644)
    result = helper.run("get", stdin="ghcr.io", env=env)
    assert result.returncode == 1 and "can be read by other users: chmod 600" in result.stdout
    assert "ghp_secret" not in result.stdout + result.stderr


def test_own_store_follows_xdg_data_home(
    helper: Helper, env: dict[str, str], tmp_path: Path
) -> None:
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    store(helper, env, "ghcr.io", "octo", "pw")
    assert (tmp_path / "data" / "ecrpy" / "logins.json").exists()
    assert not own_store(env).exists()


ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))  # lone surrogates, NULs


@given(st.dictionaries(ANY_TEXT.filter(bool), st.tuples(ANY_TEXT, ANY_TEXT), max_size=8))
def test_the_store_file_reads_back_what_was_written(logins: dict[str, tuple[str, str]]) -> None:
    text = login_store.encode(logins)
    assert login_store.decode(text, "/x") == logins
    assert login_store.encode(login_store.decode(text, "/x")) == text
    assert json.loads(text)["version"] == 1


# -- the fallback's name, parsed once per version of the settings file -------------------------


def test_an_edited_fallback_takes_effect_at_once(
    helper: Helper, store_env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    answer(store_env, b"from the recorder\n")
    assert run_bytes(helper, "get", b"ghcr.io", store_env).stdout == b"from the recorder\n"
    other = tmp_path / "bin" / "docker-credential-other"
    other.write_text("#!/bin/sh\necho from the other one\n")
    other.chmod(0o755)
    settings_file = home / ".config" / "ecrpy" / "config.toml"
    settings_file.write_text('[store]\nfallback = "other"\n')
    assert run_bytes(helper, "get", b"ghcr.io", store_env).stdout == b"from the other one\n"
    settings_file.write_text('[store]\n# fallback = "other"\n')
    assert run_bytes(helper, "get", b"ghcr.io", store_env).stdout == NOT_FOUND.encode()
    memos = list((home / ".local" / "share" / "ecrpy").glob("store-settings.*"))
    assert len(memos) == 1  # only the current version's


def test_a_request_for_another_registry_parses_the_settings_once(
    helper: Helper, store_env: dict[str, str]
) -> None:
    """TOML costs more than a warm get: the second request reads the memo, not the file."""
    answer(store_env, b"ok\n")
    probe = """
import sys
from credential_helper.cli import main
code = main(["get"])
sys.stderr.write("\\nPROBE " + repr((code, sorted(m for m in sys.modules if m in (
    "credential_helper.config", "tomllib", "tomli", "typing", "subprocess", "threading")),
    sorted(sys.modules))) + "\\n")
"""
    for expected in (["credential_helper.config", "tomllib", "typing"], []):
        result = subprocess.run(
            [sys.executable, "-c", probe], input=b"ghcr.io", env=store_env, capture_output=True
        )
        code, heavy, loaded = eval(result.stderr.decode().rsplit("PROBE ", 1)[-1])
        assert (code, result.stdout) == (0, b"ok\n")
        assert [m for m in heavy if m != "tomli"] == expected
    assert ecrpy_modules(loaded) == []  # the second request loaded only declared warm modules


def test_a_broken_store_table_is_reported_every_time(
    helper: Helper, store_env: dict[str, str], home: Path
) -> None:
    (home / ".config" / "ecrpy" / "config.toml").write_text('[store]\nfallback = ""\n')
    for _ in range(2):
        result = helper.run("get", stdin="ghcr.io", env=store_env)
        assert result.returncode == 1 and "must be a credential helper's name" in result.stdout


def test_a_fallback_in_the_current_directory_is_never_run(
    helper: Helper, store_env: dict[str, str], tmp_path: Path
) -> None:
    """As Go's exec.LookPath: relative PATH entries do not count."""
    here = tmp_path / "cwd"
    here.mkdir()
    (tmp_path / "bin" / "docker-credential-recorder").rename(here / "docker-credential-recorder")
    store_env["PATH"] = f".::{store_env['PATH'].split(':', 1)[1]}"
    result = subprocess.run(
        [helper.path, "get"], input=b"ghcr.io", env=store_env, cwd=here, capture_output=True
    )
    assert result.returncode == 1
    assert b"docker-credential-recorder is not on PATH" in result.stdout
    assert recorded(store_env) == []


def test_a_fifo_for_settings_is_an_error_not_a_hang(
    helper: Helper, store_env: dict[str, str], home: Path
) -> None:
    settings_file = home / ".config" / "ecrpy" / "config.toml"
    settings_file.unlink()
    os.mkfifo(settings_file)
    result = helper.run("get", stdin="ghcr.io", env=store_env, timeout=30)
    assert result.returncode == 1
    assert result.stdout == f"ecrpy: cannot read ecrpy config {settings_file}: not a regular file\n"
    assert recorded(store_env) == []
