"""app/remembered.py and the offline start it allows (app/backend.py)."""

from __future__ import annotations

import asyncio

import pytest

from app import backend as backend_mod
from app import remembered
from app.config import AppConfig
from services import paths
from services.api.errors import ApiError
from services.models import ConversationSummary, PhoneNumber, User
from services.store import Store
from services.store_types import ConnectionState

ME = User(id="u_7", name="Sam Staff", location_id="loc")
NUMBER = PhoneNumber(id="pn_1", phone_number="+14155550100")
# Nothing listens on port 9 of the loopback: connections are refused at once.
UNREACHABLE = "http://127.0.0.1:9"


def _who() -> remembered.Remembered:
    return remembered.Remembered(ME, [NUMBER], [User(id="u_8", name="Ada Admin")])


def test_the_token_opens_its_user_and_is_never_written(tmp_path):
    account = paths.account_dir(tmp_path, UNREACHABLE, "loc", ME.id)
    remembered.remember(account, (UNREACHABLE, "loc"), "pit-secret-token", _who())
    text = (account / remembered.FILE_NAME).read_text()
    assert "pit-secret-token" not in text
    found = remembered.recall(tmp_path, UNREACHABLE, "loc", "pit-secret-token")
    assert found is not None
    folder, who = found
    assert folder == account
    assert who.me == ME and who.numbers == [NUMBER] and who.teammates[0].id == "u_8"


def test_another_token_backend_or_location_finds_nobody(tmp_path):
    account = paths.account_dir(tmp_path, UNREACHABLE, "loc", ME.id)
    remembered.remember(account, (UNREACHABLE, "loc"), "pit-a", _who())
    assert remembered.recall(tmp_path, UNREACHABLE, "loc", "pit-b") is None
    assert remembered.recall(tmp_path, "http://127.0.0.1:10", "loc", "pit-a") is None
    assert remembered.recall(tmp_path, UNREACHABLE, "other", "pit-a") is None
    assert remembered.recall(tmp_path, UNREACHABLE, None, "pit-a") is not None
    assert remembered.recall(tmp_path, UNREACHABLE, "loc", "") is None


def test_only_a_lone_account_is_guessed_before_the_token_is_checked(tmp_path):
    assert remembered.likely_account(tmp_path, UNREACHABLE, "loc") is None
    first = paths.account_dir(tmp_path, UNREACHABLE, "loc", ME.id)
    remembered.remember(first, (UNREACHABLE, "loc"), "pit-a", _who())
    assert remembered.likely_account(tmp_path, UNREACHABLE, "loc") == first
    assert remembered.likely_account(tmp_path, UNREACHABLE, "other") is None
    second = paths.account_dir(tmp_path, UNREACHABLE, "loc", "u_8")
    remembered.remember(second, (UNREACHABLE, "loc"), "pit-b", _who())
    assert remembered.likely_account(tmp_path, UNREACHABLE, "loc") is None


def test_a_damaged_file_is_ignored(tmp_path):
    account = paths.account_dir(tmp_path, UNREACHABLE, "loc", ME.id)
    (account / remembered.FILE_NAME).write_text("{not json")
    assert remembered.recall(tmp_path, UNREACHABLE, "loc", "pit-a") is None


@pytest.mark.anyio
async def test_a_cold_start_offline_opens_the_cache_and_says_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(backend_mod, "_backends", {})
    cfg = AppConfig(backend_url=UNREACHABLE, token="pit-a", location_id="loc", data_dir=tmp_path)
    account = paths.account_dir(tmp_path, UNREACHABLE, "loc", ME.id)
    remembered.remember(account, (UNREACHABLE, "loc"), "pit-a", _who())
    cached = Store(str(paths.cache_db_path(account)))
    cached.put_conversations(
        [ConversationSummary(id="c1", name="Weekend crew", last_message_body="See you")]
    )
    cached.close()

    b = await backend_mod.connect(cfg)
    try:
        assert b.me == ME and b.numbers == [NUMBER]
        assert [s.name for s in b.store.conversations()] == ["Weekend crew"]
        for _ in range(200):
            if b.sync.connection_state is ConnectionState.OFFLINE:
                break
            await asyncio.sleep(0.05)
        assert b.sync.connection_state is ConnectionState.OFFLINE
        assert b.sync.user_id == ME.id
    finally:
        await backend_mod.disconnect(cfg)


@pytest.mark.anyio
async def test_an_unknown_token_offline_still_fails_to_sign_in(tmp_path, monkeypatch):
    monkeypatch.setattr(backend_mod, "_backends", {})
    cfg = AppConfig(backend_url=UNREACHABLE, token="pit-new", location_id="loc", data_dir=tmp_path)
    with pytest.raises(ApiError):
        await backend_mod.connect(cfg)


@pytest.mark.anyio
async def test_another_token_never_opens_the_remembered_users_cache(tmp_path, monkeypatch):
    # The start opens the one remembered cache while the fingerprint is checked: a token
    # that is not the remembered one must end on its own user's cache, not that one.
    monkeypatch.setattr(backend_mod, "_backends", {})
    cfg = AppConfig(token="demo-admin", location_id="loc_demo", data_dir=tmp_path)
    account = paths.account_dir(tmp_path, cfg.backend_name, "loc_demo", ME.id)
    remembered.remember(account, (cfg.backend_name, "loc_demo"), "demo-old-token", _who())
    assert remembered.likely_account(tmp_path, cfg.backend_name, "loc_demo") == account
    cached = Store(str(paths.cache_db_path(account)))
    cached.put_conversations([ConversationSummary(id="c1", name="Weekend crew")])
    cached.close()

    b = await backend_mod.connect(cfg)
    try:
        assert b.me.id != ME.id
        assert b.account != account
        assert b.store.path != str(paths.cache_db_path(account))
        assert "Weekend crew" not in [s.name for s in b.store.conversations()]
    finally:
        await backend_mod.disconnect(cfg)
