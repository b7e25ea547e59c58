"""The app-data layout: per backend and user, private, and sign-out deletes only its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from services import paths


def test_override_wins_and_is_private(tmp_path: Path) -> None:
    data = paths.app_data_dir(tmp_path / "d")
    assert data == tmp_path / "d" and data.is_dir()
    assert data.stat().st_mode & 0o077 == 0


def test_flet_packaged_app_folder_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.FLET_DATA_ENV, str(tmp_path / "flet-data"))
    assert paths.app_data_dir() == tmp_path / "flet-data"


def test_each_backend_location_and_user_gets_its_own_folder(tmp_path: Path) -> None:
    a = paths.account_dir(tmp_path, "https://api.example.com", "loc_1", "u1")
    b = paths.account_dir(tmp_path, "https://api.example.com", "loc_2", "u1")
    c = paths.account_dir(tmp_path, "https://api.example.com", "loc_1", "u2")
    assert len({a, b, c}) == 3
    assert a.parent.name.startswith("api.example.com-")
    assert paths.account_dir(tmp_path, "https://api.example.com", "loc_1", "u1") == a


def test_server_ids_cannot_escape_the_folder(tmp_path: Path) -> None:
    evil = paths.account_dir(tmp_path, "embedded", "loc_demo", "../../etc")
    assert (tmp_path / "accounts") in evil.parents


def test_sign_out_removes_only_that_account(tmp_path: Path) -> None:
    mine = paths.account_dir(tmp_path, "embedded", "loc_demo", "u1")
    theirs = paths.account_dir(tmp_path, "embedded", "loc_demo", "u2")
    paths.cache_db_path(mine).write_text("x")
    paths.remove_account_dir(tmp_path, mine)
    assert not mine.exists() and theirs.is_dir()
    with pytest.raises(ValueError):
        paths.remove_account_dir(tmp_path, tmp_path)


def test_embedded_db_lives_in_the_data_folder(tmp_path: Path) -> None:
    assert paths.embedded_db_path(tmp_path).parent == tmp_path / "embedded"
