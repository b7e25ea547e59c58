"""flet.toml + GCS_* settings: every bad value refused with its key named."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from services.settings import (
    DEMO_LOCATION_ID,
    SettingsError,
    find_config_file,
    load_settings,
    validate_backend_url,
)

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flet.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, text), env or {})
    return info.value.problems


def test_no_file_means_the_embedded_demo(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), {})
    assert settings.is_embedded
    assert settings.backend_url is None
    assert settings.location_id == DEMO_LOCATION_ID
    assert settings.demo_token == "demo-admin"


def test_the_shipped_flet_toml_is_valid_and_embedded() -> None:
    settings = load_settings(REPO / "flet.toml", {})
    assert settings.is_embedded


def test_a_bad_url_is_refused_naming_backend(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, 'backend = "not a url"\nlocation_id = "L1"')
    assert line.startswith("flet.toml: backend: ")
    assert "web address" in line


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, 'backend = "http://example.com"\nlocation_id = "L1"')
    assert line == (
        'flet.toml: backend: "http://example.com" must use https:// '
        "for a host that is not on this machine"
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://localhost:9000/", "http://[::1]:8000", "http://127.5.0.1"],
)
def test_plain_http_to_this_machine_is_allowed(tmp_path: Path, url: str) -> None:
    settings = load_settings(write(tmp_path, f'backend = "{url}"\nlocation_id = "L1"'), {})
    assert settings.backend_url == url.rstrip("/")


def test_https_remote_backend_needs_a_location(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, 'backend = "https://services.leadconnectorhq.com"')
    assert line == "flet.toml: location_id: required when backend is an API address"


def test_empty_location_is_refused(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, 'backend = "https://api.example.com"\nlocation_id = "  "')
    assert line == 'flet.toml: location_id: "  " must not be empty'


def test_unknown_keys_are_refused_by_name_with_a_hint(tmp_path: Path) -> None:
    found = problems(tmp_path, "pol_interval_seconds = 5\ncolour = 1")
    assert (
        "flet.toml: pol_interval_seconds: unknown setting (did you mean poll_interval_seconds?)"
        in found
    )
    assert "flet.toml: colour: unknown setting" in found


def test_tls_verification_cannot_be_turned_off(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, "verify_tls = false")
    assert line.startswith("flet.toml: verify_tls: TLS verification cannot be turned off")


def test_a_token_in_the_file_is_refused_and_not_echoed(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, 'token = "pit-abc123secret"')
    assert line.startswith("flet.toml: token: ")
    assert "pit-abc123secret" not in line


def test_credentials_in_a_url_are_refused_and_masked(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, 'backend = "https://bob:hunter2@api.example.com"\nlocation_id="L"')
    assert "hunter2" not in line
    assert line.startswith('flet.toml: backend: "https://***@api.example.com" must not contain')


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        'poll_interval_seconds = 1\ndemo_user = "boss"\ncompress_images_over_bytes = true\n'
        'log_level = "loud"\ndata_dir = "relative/dir"',
    )
    keys = [line.split(": ")[1] for line in found]
    assert sorted(keys) == [
        "compress_images_over_bytes",
        "data_dir",
        "demo_user",
        "log_level",
        "poll_interval_seconds",
    ]
    assert "flet.toml: demo_user: \"boss\" should be 'admin' or 'staff'" in found


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'backend = "embedded"\npoll_interval_seconds = 30')
    env = {
        "GCS_BACKEND": "https://api.example.com/",
        "GCS_LOCATION_ID": "loc_42",
        "GCS_POLL_INTERVAL_SECONDS": "5",
        "GCS_DATA_DIR": str(tmp_path / "data"),
        "GCS_BUCKET": "not ours: Google Cloud Storage shares the prefix",
    }
    settings = load_settings(path, env)
    assert settings.backend_url == "https://api.example.com"
    assert settings.location_id == "loc_42"
    assert settings.poll_interval_seconds == 5
    assert settings.data_dir == tmp_path / "data"
    assert settings.account == "loc_42@https://api.example.com"


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    found = problems(tmp_path, "", {"GCS_BACKEND": "http://10.0.0.5", "GCS_LOCATION_ID": ""})
    assert (
        'environment: GCS_BACKEND: "http://10.0.0.5" must use https:// '
        "for a host that is not on this machine"
    ) in found
    assert 'environment: GCS_LOCATION_ID: "" must not be empty' in found


def test_gcs_config_points_at_another_file(tmp_path: Path) -> None:
    other = tmp_path / "prod.toml"
    other.write_text('demo_user = "staff"')
    assert find_config_file({"GCS_CONFIG": str(other)}) == other
    with pytest.raises(SettingsError, match="GCS_CONFIG"):
        find_config_file({"GCS_CONFIG": str(tmp_path / "missing.toml")})


def test_invalid_toml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, "backend = ")
    assert line.startswith("flet.toml: not valid TOML")


def test_ca_bundle_must_exist_and_verification_stays_on(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, f'ca_bundle = "{tmp_path / "nope.pem"}"')
    assert line.startswith("flet.toml: ca_bundle: ")
    ctx = load_settings(write(tmp_path, ""), {}).ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ftp://example.com", "web address"),
        ("https://example.com/?x=1", "query"),
        ("http://192.168.1.10", "https://"),
        ("http://localhost.example.com", "https://"),
        ("https://example.com:99999", "port"),
    ],
)
def test_validate_backend_url_explains(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("?", r"\?")):
        validate_backend_url(text)


def test_leadconnectors_company_id_is_read_and_checked(tmp_path: Path) -> None:
    text = 'backend = "https://services.leadconnectorhq.com"\nlocation_id = "L1"'
    settings = load_settings(write(tmp_path, text), {"GCS_COMPANY_ID": "5DP41231LkQsiKESj6rh"})
    assert settings.company_id == "5DP41231LkQsiKESj6rh"
    assert load_settings(write(tmp_path, text), {}).company_id is None
    (line,) = problems(tmp_path, text + '\ncompany_id = "a b"')
    assert line == "flet.toml: company_id: \"a b\" must be 1-64 letters, digits, '-' or '_'"


def test_the_onesignal_app_id_is_read_and_checked(tmp_path: Path) -> None:
    app_id = "5EB5A37E-B458-11E3-AC11-000C2940E62C"
    found = load_settings(write(tmp_path, f'onesignal_app_id = "{app_id}"'), {})
    assert found.onesignal_app_id == app_id.lower()
    assert load_settings(write(tmp_path, ""), {}).onesignal_app_id is None
    [problem] = problems(tmp_path, 'onesignal_app_id = "my-app"')
    assert "onesignal_app_id" in problem and "UUID" in problem
