"""TLS on `ccm-gateway serve`: certificate settings, minimum version, security headers.

The listener tests start the real `ccm-gateway serve` on a free loopback port
with a self-signed certificate made here, and talk to it over real TLS.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ccm_gateway.config import Settings
from ccm_gateway.errors import ConfigError
from ccm_gateway.http.security_headers import SecurityHeadersMiddleware

HOST = "127.0.0.1"
HSTS = "max-age=31536000; includeSubDomains"
STARTUP_DEADLINE_SECONDS = 60


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    """A self-signed certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ccm-gateway test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = CertFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return files


def client_context(cert_files: CertFiles, *, max_version: ssl.TLSVersion | None = None
                   ) -> ssl.SSLContext:
    """A client context trusting only the test certificate, optionally capped."""
    context = ssl.create_default_context(cafile=str(cert_files.cert))
    if max_version is not None:
        context.maximum_version = max_version
    return context


def base_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any CCM_ setting, on a fresh SQLite file."""
    names = {f"CCM_{f.name.upper()}" for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return env | {"CCM_DATABASE_URL": f"sqlite://{tmp_path / 'ccm.sqlite3'}",
                  "CCM_LOG_LEVEL": "WARNING"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def https_get(port: int, path: str, context: ssl.SSLContext, method: str = "GET",
              body: bytes | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPSConnection(HOST, port, context=context, timeout=5)
    try:
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


def handshake_version(port: int, context: ssl.SSLContext) -> str | None:
    """The protocol version a TLS handshake with the server settles on."""
    with (socket.create_connection((HOST, port), timeout=5) as raw,
          context.wrap_socket(raw, server_hostname=HOST) as tls):
        return tls.version()


@pytest.fixture
def serve(tmp_path: Path, cert_files: CertFiles) -> Iterator[object]:
    """Start the real `ccm-gateway serve`; return its port once /healthz answers over TLS."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str], args: list[str] = ()) -> int:  # type: ignore[assignment]
        port = free_port()
        log = tmp_path / f"serve-{len(processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "ccm_gateway.cli", "serve", "--port", str(port),
                 *args], env=base_env(tmp_path) | env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        context = client_context(cert_files)
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if https_get(port, "/healthz", context).status == 200:
                    return port
            except OSError:  # refused while starting (ssl.SSLError is an OSError too)
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"serve did not answer within {STARTUP_DEADLINE_SECONDS}s:\n"
                            f"{log.read_text()}")
            time.sleep(0.1)

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tls_env(cert_files: CertFiles, min_version: str | None = None) -> dict[str, str]:
    env = {"CCM_SSL_CERTFILE": str(cert_files.cert), "CCM_SSL_KEYFILE": str(cert_files.key)}
    if min_version is not None:
        env["CCM_TLS_MIN_VERSION"] = min_version
    return env


def assert_security_headers(response: http.client.HTTPResponse) -> None:
    assert response.getheader("Strict-Transport-Security") == HSTS
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Referrer-Policy") == "no-referrer"


# --- the real listener --------------------------------------------------------------------


def test_serve_with_tls_1_3_minimum_refuses_a_tls_1_2_client(serve, cert_files):
    port = serve(tls_env(cert_files, "1.3"))
    response = https_get(port, "/healthz", client_context(cert_files))
    assert response.status == 200
    assert_security_headers(response)
    assert response.getheader("Cache-Control") is None

    graphql = https_get(port, "/graphql", client_context(cert_files), method="POST",
                        body=b'{"query": "{ sites { id } }"}')
    assert graphql.status == 401
    assert_security_headers(graphql)
    assert graphql.getheader("Cache-Control") == "no-store"

    assert handshake_version(
        port, client_context(cert_files, max_version=ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        handshake_version(port, client_context(cert_files, max_version=ssl.TLSVersion.TLSv1_2))


def test_serve_flags_turn_on_tls_with_a_1_2_minimum(serve, cert_files):
    # The flags, not CCM_ variables: they must reach the listener and the app (HSTS).
    port = serve({}, ["--ssl-certfile", str(cert_files.cert),
                      "--ssl-keyfile", str(cert_files.key), "--tls-min-version", "1.2"])
    assert handshake_version(
        port, client_context(cert_files, max_version=ssl.TLSVersion.TLSv1_2)) == "TLSv1.2"
    response = https_get(port, "/healthz",
                         client_context(cert_files, max_version=ssl.TLSVersion.TLSv1_2))
    assert response.status == 200
    assert_security_headers(response)


def test_serve_defaults_to_a_1_2_minimum(serve, cert_files):
    port = serve(tls_env(cert_files))
    assert handshake_version(
        port, client_context(cert_files, max_version=ssl.TLSVersion.TLSv1_2)) == "TLSv1.2"
    # (a TLS 1.1 client is not tried: this OpenSSL refuses to offer 1.1 at all)
    assert handshake_version(port, client_context(cert_files)) == "TLSv1.3"


# --- settings -----------------------------------------------------------------------------


def test_tls_is_off_by_default():
    settings = Settings.from_env({})
    assert not settings.tls_enabled
    assert settings.tls_min_version == "1.2"


def test_tls_settings_are_read_from_the_environment(cert_files):
    settings = Settings.from_env(tls_env(cert_files, "1.3"))
    assert settings.tls_enabled
    assert settings.ssl_certfile == str(cert_files.cert)
    assert settings.ssl_keyfile == str(cert_files.key)
    assert settings.tls_min_version == "1.3"


def bad_tls_envs(cert_files: CertFiles, tmp_path: Path) -> list[tuple[dict[str, str], str]]:
    missing = str(tmp_path / "no-such.pem")
    return [
        ({"CCM_SSL_CERTFILE": str(cert_files.cert)}, "CCM_SSL_KEYFILE"),
        ({"CCM_SSL_KEYFILE": str(cert_files.key)}, "CCM_SSL_CERTFILE"),
        ({"CCM_SSL_CERTFILE": missing, "CCM_SSL_KEYFILE": str(cert_files.key)},
         "CCM_SSL_CERTFILE"),
        ({"CCM_SSL_CERTFILE": str(cert_files.cert), "CCM_SSL_KEYFILE": missing},
         "CCM_SSL_KEYFILE"),
        (tls_env(cert_files, "1.1"), "CCM_TLS_MIN_VERSION"),
        ({"CCM_TLS_MIN_VERSION": "1.0"}, "CCM_TLS_MIN_VERSION"),
    ]


def test_bad_tls_settings_are_refused_by_name(cert_files, tmp_path):
    for env, name in bad_tls_envs(cert_files, tmp_path):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env(env)



def run_serve(env: dict[str, str], args: list[str] = ()) -> subprocess.CompletedProcess[str]:  # type: ignore[assignment]
    return subprocess.run([sys.executable, "-m", "ccm_gateway.cli", "serve",
                           "--port", str(free_port()), *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_serve_exits_2_on_bad_tls_settings(cert_files, tmp_path):
    for env, name in bad_tls_envs(cert_files, tmp_path):
        completed = run_serve(base_env(tmp_path) | env)
        assert completed.returncode == 2, completed.stderr
        assert name in completed.stderr


def test_serve_exits_2_on_bad_tls_flags(cert_files, tmp_path):
    completed = run_serve(base_env(tmp_path), ["--ssl-certfile", str(cert_files.cert)])
    assert completed.returncode == 2
    assert "--ssl-keyfile" in completed.stderr
    completed = run_serve(base_env(tmp_path), ["--ssl-certfile", str(cert_files.cert),
                                               "--ssl-keyfile", str(cert_files.key),
                                               "--tls-min-version", "1.1"])
    assert completed.returncode == 2  # argparse: not one of the choices
    assert "--tls-min-version" in completed.stderr


def test_serve_exits_2_when_the_key_does_not_match_the_certificate(cert_files, tmp_path):
    other = tmp_path / "other-key.pem"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    completed = run_serve(base_env(tmp_path) | {"CCM_SSL_CERTFILE": str(cert_files.cert),
                                                "CCM_SSL_KEYFILE": str(other)})
    assert completed.returncode == 2
    assert "CCM_SSL_KEYFILE" in completed.stderr


# --- the headers middleware ---------------------------------------------------------------


def headers_app(*, hsts: bool) -> SecurityHeadersMiddleware:
    async def page(request: object) -> Response:
        return PlainTextResponse("ok", headers={"Cache-Control": "max-age=60",
                                                "X-Frame-Options": "SAMEORIGIN"})

    inner = Starlette(routes=[Route("/graphql", page, methods=["GET", "POST"]),
                              Route("/healthz", page)])
    return SecurityHeadersMiddleware(inner, hsts=hsts)


async def test_headers_without_tls_leave_out_hsts():
    transport = httpx.ASGITransport(app=headers_app(hsts=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/healthz")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    # A handler's own value is kept, except Cache-Control on /graphql.
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["cache-control"] == "max-age=60"


async def test_graphql_responses_are_never_cached_and_hsts_is_sent_with_tls():
    transport = httpx.ASGITransport(app=headers_app(hsts=True))
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as client:
        response = await client.post("/graphql")
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert response.headers["strict-transport-security"] == HSTS


async def test_the_app_without_tls_sends_the_other_headers(client):
    response = await client.get("/healthz")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
