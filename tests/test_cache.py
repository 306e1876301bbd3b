"""The on-disk store: private modes, atomic files, and a broken or hostile cache is never trusted."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from credential_helper import cache as cache_module
from credential_helper.cache import Entry, TokenCache, decode
from credential_helper.paths import cache_dir

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
IDENTITY = "0123456789abcdef0123456789abcdef"
FAR = 4_000_000_000.0


def entry(host: str = HOST, identity: str = IDENTITY, password: str = "pw") -> Entry:
    return Entry(host, identity, "AWS", password, FAR, FAR - 43200)


@pytest.fixture
def store(tmp_path: Path) -> TokenCache:
    return TokenCache(str(tmp_path / "cache"))


def only_entry_file(store: TokenCache) -> Path:
    (path,) = [p for p in Path(store.directory).iterdir() if p.suffix == ".json"]
    return path


def test_round_trip_with_owner_only_modes(store: TokenCache) -> None:
    assert store.save(entry())
    loaded = store.load(HOST, IDENTITY)
    assert loaded is not None and loaded.password == "pw" and loaded.expires_at == FAR
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700
    assert stat.S_IMODE(only_entry_file(store).stat().st_mode) == 0o600
    assert json.loads(only_entry_file(store).read_text())["version"] == 1


def test_a_miss_is_none(store: TokenCache) -> None:
    assert store.load(HOST, IDENTITY) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\x00\xff\xfe",
        b"[]",
        b'{"version": 2}',
        b"null",
        b'{"version": 1, "host": "h", "identity": "i", "username": "AWS", "password": "p",'
        b' "expires_at": "soon", "fetched_at": 1}',
    ],
)
def test_corrupt_or_foreign_version_files_are_a_miss_then_rewritten(
    store: TokenCache, content: bytes
) -> None:
    store.save(entry())
    path = only_entry_file(store)
    path.write_bytes(content)
    assert store.load(HOST, IDENTITY) is None
    assert store.save(entry(password="new"))
    assert store.load(HOST, IDENTITY).password == "new"  # type: ignore[union-attr]


def test_an_entry_under_another_name_is_not_served(store: TokenCache) -> None:
    store.save(entry(identity="f" * 32))
    os.rename(only_entry_file(store), Path(store.directory) / f"{HOST}.{IDENTITY}.json")
    assert store.load(HOST, IDENTITY) is None


def test_a_symlinked_entry_is_not_followed(store: TokenCache, tmp_path: Path) -> None:
    store.save(entry())
    target = tmp_path / "elsewhere.json"
    only_entry_file(store).rename(target)
    os.symlink(target, Path(store.directory) / f"{HOST}.{IDENTITY}.json")
    assert store.load(HOST, IDENTITY) is None


def test_a_symlinked_cache_directory_is_not_used(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    os.symlink(real, tmp_path / "link")
    linked = TokenCache(str(tmp_path / "link"))
    assert not linked.save(entry())
    assert linked.load(HOST, IDENTITY) is None
    assert list(real.iterdir()) == []


def test_a_directory_others_can_write_is_not_used(store: TokenCache) -> None:
    store.save(entry())
    os.chmod(store.directory, 0o777)
    assert store.load(HOST, IDENTITY) is None
    assert not store.save(entry())


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_files_of_another_user_are_not_trusted(store: TokenCache) -> None:
    store.save(entry())
    os.chown(only_entry_file(store), 65534, 65534)
    assert store.load(HOST, IDENTITY) is None


def test_a_readable_by_others_file_is_not_trusted(store: TokenCache) -> None:
    store.save(entry())
    os.chmod(only_entry_file(store), 0o644)
    assert store.load(HOST, IDENTITY) is None


def test_erase_drops_every_identity_of_one_host_only(store: TokenCache) -> None:
    store.save(entry(identity="a" * 32))
    store.save(entry(identity="b" * 32))
    store.save(entry(host="public.ecr.aws"))
    assert store.erase_host(HOST) == 2
    assert [e.host for e in store.entries()] == ["public.ecr.aws"]


def test_prune_drops_expired_entries(store: TokenCache) -> None:
    store.save(entry())
    store.save(Entry("public.ecr.aws", IDENTITY, "AWS", "x", 100.0, 50.0))
    assert store.prune(1000.0) == 1
    assert [e.host for e in store.entries()] == [HOST]


def test_no_temporary_files_are_left_behind(store: TokenCache) -> None:
    for i in range(5):
        store.save(entry(password=f"pw{i}"))
    assert sorted(p.name for p in Path(store.directory).iterdir()) == [f"{HOST}.{IDENTITY}.json"]


def test_repr_never_shows_the_password() -> None:
    assert "pw-secret" not in repr(entry(password="pw-secret"))


def test_decode_rejects_booleans_as_times() -> None:
    text = entry().encode().replace(str(FAR), "true")
    assert decode(text) is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_ECR_CACHE_DIR": "/c", "HOME": "/h"}, "/c"),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/ecrpy"),
        ({"XDG_CACHE_HOME": "relative", "HOME": "/h"}, "/h/.cache/ecrpy"),
        ({"HOME": "/h"}, "/h/.cache/ecrpy"),
    ],
)
def test_default_dir(environ: dict[str, str], expected: str) -> None:
    assert cache_dir(environ) == expected


def test_disable_cache_follows_the_go_helper() -> None:
    assert cache_module.disabled({"AWS_ECR_DISABLE_CACHE": "1"})
    assert cache_module.disabled({"AWS_ECR_DISABLE_CACHE": "true"})
    assert not cache_module.disabled({"AWS_ECR_DISABLE_CACHE": ""})
    assert not cache_module.disabled({})
