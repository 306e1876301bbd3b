"""safefile: the one writer, lock and private-directory check that every file of ecrpy goes through.

The planted-file scenarios through the installed helper are in tests/test_planted.py,
tests/test_hostile.py and tests/test_export.py; these pin the mechanisms themselves.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from credential_helper import safefile

# -- the atomic writer --------------------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o077)  # the narrowest usual umask: the writer's mode must win over it
    yield
    os.umask(old)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_the_mode_is_the_one_asked_for_whatever_the_umask(
    tmp_path: Path, umask: None, mode: int
) -> None:
    target = tmp_path / "file"
    target.write_text("old")
    target.chmod(0o666)
    safefile.write_atomic(str(target), b"new", mode)
    assert (target.read_bytes(), stat.S_IMODE(target.stat().st_mode)) == (b"new", mode)
    assert os.listdir(tmp_path) == ["file"]  # no temporary file left


def test_the_temporary_file_is_never_wider_than_its_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mode is given to the exclusive create itself: no moment where others could open it."""
    seen: list[tuple[int, int]] = []
    real_open = os.open

    def watching_open(path: str, flags: int, mode: int = 0o777) -> int:
        seen.append((flags, mode))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", watching_open)
    safefile.write_atomic(str(tmp_path / "secret"), b"x", 0o600)
    ((flags, mode),) = seen
    assert mode == 0o600
    for flag in (os.O_CREAT, os.O_EXCL, os.O_NOFOLLOW, os.O_CLOEXEC):
        assert flags & flag == flag


def test_planted_links_and_files_at_predictable_names_are_left_alone(tmp_path: Path) -> None:
    """``<path>.<pid>.tmp`` (the old name) and the like: the write neither follows nor fails."""
    target = tmp_path / "config.json"
    victim = tmp_path / "victim"
    victim.write_text("mine")
    pid = os.getpid()
    planted = {
        f"config.json.{pid}.tmp": "link",
        f".config.json.{pid}.tmp": "link",
        f"config.json.{pid + 1}.tmp": "file",
        "config.json.tmp": "file",
    }
    for name, kind in planted.items():
        if kind == "link":
            (tmp_path / name).symlink_to(victim)
        else:
            (tmp_path / name).write_text("planted")
    safefile.write_atomic(str(target), b"{}", 0o600)
    assert target.read_bytes() == b"{}" and not target.is_symlink()
    assert victim.read_text() == "mine"
    for name, kind in planted.items():
        assert (tmp_path / name).is_symlink() == (kind == "link")
    assert sorted(os.listdir(tmp_path)) == sorted([*planted, "config.json", "victim"])


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("mine")
    (tmp_path / "out").symlink_to(victim)
    safefile.write_atomic(str(tmp_path / "out"), b"new", 0o600)
    assert victim.read_text() == "mine"
    assert not (tmp_path / "out").is_symlink() and (tmp_path / "out").read_bytes() == b"new"


def test_no_temporary_file_is_left_when_the_rename_fails(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty directory cannot be renamed over
    with pytest.raises(OSError):
        safefile.write_atomic(str(target), b"data", 0o600, fsync=True)
    assert sorted(os.listdir(tmp_path)) == ["busy"]
    assert os.listdir(target) == ["inside"]


def test_no_temporary_file_is_left_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    (tmp_path / "file").write_text("old")
    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        safefile.write_atomic(str(tmp_path / "file"), b"new", 0o600)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["file"] and (tmp_path / "file").read_text() == "old"


def test_a_missing_directory_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        safefile.write_atomic(str(tmp_path / "no" / "file"), b"x", 0o600)
    assert os.listdir(tmp_path) == []


# -- the lock ------------------------------------------------------------------------------------

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A lock file another process holds until the test ends."""
    path = tmp_path / "held.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield path
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


def test_a_held_lock_is_given_up_after_the_bound_and_the_owner_decides(held: Path) -> None:
    reported: list[str | None] = []
    with safefile.Lock(str(held), 0.1, lambda lock: reported.append(lock.problem)) as lock:
        assert lock.busy and lock.fd is not None  # the owner may go on unlocked
    assert reported == [f"lock {held} still held after 0s"]
    assert lock.fd is None  # closed on leaving


def test_an_owner_that_refuses_gets_its_error_and_no_descriptor_leaks(held: Path) -> None:
    class Refused(Exception):
        pass

    def refuse(lock: safefile.Lock) -> None:
        raise Refused(lock.problem)

    lock = safefile.Lock(str(held), 0.1, refuse)
    with pytest.raises(Refused, match="still held"), lock:
        pytest.fail("entered a lock another process holds")
    assert lock.fd is None


def test_a_free_lock_is_taken_and_reports_nothing(tmp_path: Path) -> None:
    reported: list[safefile.Lock] = []
    with safefile.Lock(str(tmp_path / "free.lock"), 0.1, reported.append) as lock:
        assert (lock.problem, lock.busy, reported) == (None, False, [])
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR);"
                "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)",
                str(tmp_path / "free.lock"),
            ],
            capture_output=True,
            check=False,
        )
        assert probe.returncode != 0  # ours: another process cannot take it


def test_a_planted_lock_file_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.lock"
    os.mkfifo(fifo)
    with safefile.Lock(str(fifo), 5) as lock:
        assert lock.problem == f"cannot open lock {fifo}: not a regular file"
        assert lock.fd is None and not lock.busy


# -- private directories -------------------------------------------------------------------------


def test_private_dir_says_why_not(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    assert safefile.private_dir(str(mine)).kind == safefile.MISSING  # type: ignore[union-attr]
    assert safefile.private_dir(str(mine), create=True) is None
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    mine.chmod(0o755)
    assert safefile.private_dir(str(mine)) is None  # readable is fine for the cache
    fault = safefile.private_dir(str(mine), closed=0o077)  # not for doctor's stricter look
    assert fault is not None and fault.kind == safefile.OPEN and "mode 0755" in fault.reason
    mine.chmod(0o777)
    fault = safefile.private_dir(str(mine))
    assert fault is not None and fault.reason == f"{mine} is writable by other users (mode 0777)"
    (tmp_path / "link").symlink_to(mine)
    fault = safefile.private_dir(str(tmp_path / "link"))
    assert fault is not None and fault.kind == safefile.NOT_DIR
    (tmp_path / "file").write_text("")
    fault = safefile.private_dir(str(tmp_path / "file" / "sub"), create=True)
    assert fault is not None and fault.kind == safefile.FAILED
    assert fault.reason.startswith(f"cannot create {tmp_path / 'file' / 'sub'}: ")


# -- the null device -----------------------------------------------------------------------------


def test_the_null_device_reads_as_empty_only_when_asked(tmp_path: Path) -> None:
    assert safefile.read(os.devnull, follow=True, null=True) == b""
    with pytest.raises(safefile.NotRegular):
        safefile.read(os.devnull, follow=True)
    with pytest.raises(safefile.NotRegular):
        safefile.read("/dev/zero", follow=True, null=True)  # a device that never ends
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(safefile.NotRegular):
        safefile.read(str(tmp_path / "fifo"), follow=True, null=True)


# -- Windows' decisions, checked here ------------------------------------------------------------


def test_a_reparse_point_is_recognised_by_its_attribute() -> None:
    """Windows' lstat marks symlinks and junctions with FILE_ATTRIBUTE_REPARSE_POINT."""
    reparse = SimpleNamespace(st_file_attributes=stat.FILE_ATTRIBUTE_REPARSE_POINT | 0x10)
    plain = SimpleNamespace(st_file_attributes=stat.FILE_ATTRIBUTE_DIRECTORY)
    assert safefile.is_reparse_point(reparse)  # type: ignore[arg-type]
    assert not safefile.is_reparse_point(plain)  # type: ignore[arg-type]
    assert not safefile.is_reparse_point(os.lstat(os.devnull))  # POSIX: no such attribute


def sharing(winerror: int | None) -> PermissionError:
    exc = PermissionError(13, "Access is denied")
    if winerror is not None:
        exc.winerror = winerror  # type: ignore[attr-defined]
    return exc


def test_only_sharing_violations_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert safefile.sharing_violation(sharing(32)) and safefile.sharing_violation(sharing(5))
    assert not safefile.sharing_violation(sharing(None))  # POSIX's EACCES: a real refusal
    assert not safefile.sharing_violation(OSError(2, "x"))

    real_replace = os.replace
    failures = [sharing(32), sharing(5)]  # an anti-virus scan, then a reader: gone in a moment
    calls: list[str] = []

    def busy_then_free(src: str, dst: str) -> None:
        calls.append(dst)
        if failures:
            raise failures.pop(0)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", busy_then_free)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    target = tmp_path / "file"
    safefile.write_atomic(str(target), b"new", 0o600)
    assert target.read_bytes() == b"new" and len(calls) == 3
    assert os.listdir(tmp_path) == ["file"]


@pytest.mark.parametrize(("winerror", "attempts"), [(None, 1), (32, 10)], ids=["refused", "busy"])
def test_a_rename_that_keeps_failing_is_given_up_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, winerror: int | None, attempts: int
) -> None:
    """A real refusal is not retried; a sharing violation that lasts is retried a bounded
    number of times."""
    calls: list[str] = []

    def failing(src: str, dst: str) -> None:
        calls.append(dst)
        raise sharing(winerror)

    monkeypatch.setattr(os, "replace", failing)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    with pytest.raises(PermissionError):
        safefile.write_atomic(str(tmp_path / "file"), b"new", 0o600)
    assert len(calls) == attempts and os.listdir(tmp_path) == []


def test_a_lock_held_elsewhere_is_told_from_an_error() -> None:
    import errno

    assert safefile.held_elsewhere(OSError(errno.EACCES, "locked"))
    assert safefile.held_elsewhere(OSError(errno.EDEADLK, "locked"))
    assert not safefile.held_elsewhere(OSError(errno.EBADF, "bad descriptor"))
