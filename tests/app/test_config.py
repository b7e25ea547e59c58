"""app/config.py: the backend signed in to from the app opens again at the next start."""

from __future__ import annotations

from app.config import (
    LAST_BACKEND_FILE,
    AppConfig,
    build_config,
    forget_backend,
    parse_args,
    remember_backend,
)


def configured(tmp_path, monkeypatch, toml: str = 'backend = "embedded"\n') -> None:
    (tmp_path / "flet.toml").write_text(toml)
    monkeypatch.setenv("GCS_CONFIG", str(tmp_path / "flet.toml"))
    monkeypatch.setenv("GCS_DATA_DIR", str(tmp_path / "data"))


def test_the_last_signed_in_backend_opens_again_without_its_token(tmp_path, monkeypatch):
    configured(tmp_path, monkeypatch)
    first = build_config(parse_args([]))
    assert first.embedded
    remember_backend(first.for_api("https://api.example.com", "loc_1", "pit-secret-9"))
    saved = (first.data_dir / LAST_BACKEND_FILE).read_text()
    assert "pit-secret-9" not in saved
    again = build_config(parse_args([]))
    assert (again.backend_url, again.location_id, again.token) == (
        "https://api.example.com",
        "loc_1",
        "",  # the shell reads the token from the secure store, or signs in
    )
    forget_backend(again)
    assert build_config(parse_args([])).embedded


def test_a_backend_in_flet_toml_or_on_the_command_line_wins(tmp_path, monkeypatch):
    configured(tmp_path, monkeypatch, 'backend = "https://b.example.com"\nlocation_id = "loc_b"\n')
    data = build_config(parse_args([])).data_dir
    remember_backend(AppConfig(data_dir=data).for_api("https://a.example.com", "loc_a"))
    assert build_config(parse_args([])).backend_url == "https://b.example.com"
    cli = build_config(parse_args(["--backend", "http://127.0.0.1:9"]))
    assert cli.backend_url == "http://127.0.0.1:9" and cli.token == ""


def test_a_damaged_or_insecure_file_means_the_demo(tmp_path, monkeypatch):
    configured(tmp_path, monkeypatch)
    data = build_config(parse_args([])).data_dir
    (data / LAST_BACKEND_FILE).write_text("{not json")
    assert build_config(parse_args([])).embedded
    (data / LAST_BACKEND_FILE).write_text(
        '{"backend": "http://evil.example.com", "location_id": "x"}'
    )
    assert build_config(parse_args([])).embedded
