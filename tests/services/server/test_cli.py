"""``python -m services.server``: what it refuses at start, in one sentence and exit code 2."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.services.server.carriers import fake_twilio
from tests.services.server.carriers.served import ServedFake
from tests.services.server.carriers.support import PUBLIC_URL, Clock
from tests.services.server_process import REPO, ServerProcess

ROOT = REPO


def run_server(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.server", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_real_carrier_needs_a_public_url(tmp_path: Path) -> None:
    done = run_server(["--db", str(tmp_path / "s.db"), "--carrier", "telnyx"], {})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "The server did not start: --public-url is required with --carrier telnyx: "
        "it is where telnyx calls."
    )


def test_a_missing_credential_is_named_and_no_secret_is_echoed(tmp_path: Path) -> None:
    env = {**fake_twilio.ENV, "TWILIO_CONVERSATIONS_SERVICE_SID": ""}
    done = run_server(
        ["--db", str(tmp_path / "s.db"), "--carrier", "twilio", "--public-url", PUBLIC_URL], env
    )
    assert done.returncode == 2
    assert "TWILIO_CONVERSATIONS_SERVICE_SID" in done.stderr
    assert fake_twilio.AUTH_TOKEN not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_the_server_on_twilio_refuses_to_start_with_a_wrong_token(tmp_path: Path) -> None:
    fake = fake_twilio.FakeTwilio(Clock())
    served = ServedFake(fake.transport)
    served.start()
    try:
        env = {
            **os.environ,
            **fake_twilio.ENV,
            "TWILIO_AUTH_TOKEN": "0" * 32,
            "TWILIO_API_BASE": served.base(fake_twilio.API),
            "TWILIO_ACCOUNTS_BASE": served.base(fake_twilio.ACCOUNTS),
            "TWILIO_MEDIA_BASE": served.base(fake_twilio.MCS),
        }
        done = subprocess.run(
            [
                *(sys.executable, "-m", "services.server", "--db", str(tmp_path / "s.db")),
                *("--carrier", "twilio", "--public-url", PUBLIC_URL),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        served.stop()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("The server did not start:")
    assert "0" * 32 not in done.stderr


def _self_signed(folder: Path) -> tuple[Path, Path]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    done = run_server(["--db", str(tmp_path / "s.db"), "--ssl-certfile", "c.pem"], {})
    assert done.returncode == 2
    assert "--ssl-keyfile" in done.stderr


@pytest.mark.anyio
async def test_https_with_its_own_certificate_and_proxies_trusted_only_when_named(
    tmp_path: Path,
) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ServerProcess(
        tmp_path / "tls.db", args=["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    )
    tls.url = tls.url.replace("http://", "https://")
    trust = ssl.create_default_context(cafile=str(cert))
    await tls.start(verify=trust)
    try:
        async with httpx.AsyncClient(base_url=tls.url, verify=trust) as http:
            health = await http.get("/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=")
    finally:
        tls.stop()
    for trusted, seen in (([], "127.0.0.1"), (["--trusted-proxy", "127.0.0.1"], "203.0.113.5")):
        server = ServerProcess(tmp_path / f"p{len(trusted)}.db", args=trusted)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url) as http:
                await http.get("/healthz", headers={"X-Forwarded-For": "203.0.113.5"})
        finally:
            server.stop()
        lines = [
            json.loads(x) for x in server.log_path.read_text().splitlines() if x.startswith("{")
        ]
        health_lines = [x for x in lines if x.get("path") == "/healthz"]
        assert health_lines[-1]["client"] == seen


def test_the_server_refuses_to_start_with_a_wrong_onesignal_key(tmp_path: Path) -> None:
    from tests.services.server.push import fake_onesignal

    served = ServedFake(fake_onesignal.FakeOneSignal(api_key="the-real-key").transport())
    served.start()
    try:
        done = run_server(
            ["--db", str(tmp_path / "s.db")],
            {
                "ONESIGNAL_APP_ID": fake_onesignal.APP_ID,
                "ONESIGNAL_REST_API_KEY": fake_onesignal.API_KEY,
                "ONESIGNAL_API_BASE": served.base("api.onesignal.com"),
            },
        )
    finally:
        served.stop()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("The server did not start: OneSignal refused")
    assert fake_onesignal.API_KEY not in done.stderr + done.stdout


def test_half_the_onesignal_settings_is_refused_by_name(tmp_path: Path) -> None:
    done = run_server(["--db", str(tmp_path / "s.db")], {"ONESIGNAL_REST_API_KEY": "secret-k"})
    assert done.returncode == 2
    assert "ONESIGNAL_APP_ID is not set" in done.stderr
    assert "secret-k" not in done.stderr


def test_what_the_server_holds_from_its_start_is_left_out_of_full_collections() -> None:
    # In a process of its own: freezing is for the whole process, never for pytest's.
    code = (
        "import gc; from services.server.cli import settle_heap; "
        "before = gc.get_freeze_count(); settle_heap(); print(before, gc.get_freeze_count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    before, after = map(int, done.stdout.split())
    assert before == 0
    assert after > 10_000  # the server's modules and their objects
