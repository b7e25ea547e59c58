"""app/backend.py: a 401 on any request of a signed-in client is reported to the windows."""

from __future__ import annotations

import httpx
import pytest

from app import backend as backend_mod
from app.backend import AuthWatch, _client, who_am_i
from app.config import AppConfig
from services.api.errors import AuthError


@pytest.mark.anyio
async def test_a_401_anywhere_reaches_the_auth_listeners(monkeypatch):
    cfg = AppConfig(backend_url="https://api.example.com", token="pit-x", location_id="loc")
    heard: list[tuple[AppConfig, str]] = []
    monkeypatch.setattr(backend_mod, "auth_listeners", [lambda *said: heard.append(said)])

    def answer(request: httpx.Request) -> httpx.Response:
        ok = request.url.path.endswith("/users/me")
        return httpx.Response(200 if ok else 401, json={"id": "u1"} if ok else {})

    client = _client(cfg, watch=True)
    watch = client._http._transport
    assert isinstance(watch, AuthWatch)
    await watch._inner.aclose()
    watch._inner = httpx.MockTransport(answer)  # stands in for the network, behind the watch
    assert (await client.me()).id == "u1"
    assert heard == []
    with pytest.raises(AuthError):
        await client.phone_numbers()
    assert heard == [(cfg, backend_mod.EXPIRED)]
    await client.aclose()


def test_the_token_is_not_in_the_config_repr():
    cfg = AppConfig(backend_url="https://api.example.com", token="pit-secret-77")
    assert "pit-secret-77" not in repr(cfg)


@pytest.mark.anyio
async def test_leadconnector_has_no_me_so_the_number_list_proves_the_token():
    from services.api.client import ApiClient

    cfg = AppConfig(
        backend_url="https://services.leadconnectorhq.com", token="pit-lc", location_id="ve9EPM"
    )
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        good = request.headers["Authorization"] == "Bearer pit-lc"
        return httpx.Response(200, json={"numbers": []}) if good else httpx.Response(401, json={})

    async with ApiClient(
        cfg.backend_url, cfg.token, transport=httpx.MockTransport(answer), location_id="ve9EPM"
    ) as client:
        assert not client.supports_groups
        me = await who_am_i(client, cfg)
    assert seen == ["/phone-system/numbers/location/ve9EPM"]
    assert me.is_admin and me.location_id == "ve9EPM"  # the token acts for the location
    async with ApiClient(
        cfg.backend_url, "pit-other", transport=httpx.MockTransport(answer), location_id="ve9EPM"
    ) as client:
        with pytest.raises(AuthError):
            await who_am_i(client, cfg)
