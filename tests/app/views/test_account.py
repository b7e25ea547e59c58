"""app/views/account.py: a closed window's flow does not outlive it in the 401 listeners."""

from __future__ import annotations

import gc
from types import SimpleNamespace

from app import backend as backend_mod
from app.config import AppConfig
from app.views.account import AccountFlow


def test_a_gone_window_drops_out_of_the_auth_listeners(monkeypatch):
    monkeypatch.setattr(backend_mod, "auth_listeners", [])
    flow = AccountFlow(SimpleNamespace(backend=None))  # type: ignore[arg-type]
    assert len(backend_mod.auth_listeners) == 1
    backend_mod._auth_lost(AppConfig())  # alive, no session: nothing happens
    assert len(backend_mod.auth_listeners) == 1
    del flow
    gc.collect()
    backend_mod._auth_lost(AppConfig())
    assert backend_mod.auth_listeners == []
