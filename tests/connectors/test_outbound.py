"""The outbound guard (connectors/outbound.py): refused addresses, pinning, no redirects.

Real HTTP on 127.0.0.1 only. Refused addresses are refused before any connection is tried, and a
host name's answers come from a fake resolver standing in for DNS; a "rebound" name answers
127.0.0.2, refused by the policy (only 127.0.0.1/32 is allowed) and still loopback should the
guard fail.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from connectors.addresses import AddressPolicy, address_refusal
from connectors.outbound import (
    AddressRefused,
    GuardedTransport,
    RedirectRefused,
    guard_session,
)
from tests.trackers.server import LoopbackServer, free_port

LOOPBACK_ONLY = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
TRACKER_NAME = "tracker.example"


class CountingServer:
    """Answers every request with ``answer`` and counts the requests and their Host headers."""

    def __init__(self, answer: Callable[[], Response] | None = None) -> None:
        self.hosts: list[str] = []
        self._lock = threading.Lock()
        self._answer = answer or (lambda: JSONResponse({"ok": True}))
        self.server = LoopbackServer(
            Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])
        )

    async def handle(self, request: Request) -> Response:
        with self._lock:
            self.hosts.append(request.headers.get("host", ""))
        return self._answer()

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def target() -> Iterator[CountingServer]:
    """Where a redirect points: must never be asked anything."""
    counting = CountingServer()
    with counting.server:
        yield counting


@pytest.fixture
def redirecting(target: CountingServer) -> Iterator[CountingServer]:
    counting = CountingServer(lambda: RedirectResponse(f"{target.url}/internal", status_code=302))
    with counting.server:
        yield counting


@pytest.fixture
def tracker() -> Iterator[CountingServer]:
    counting = CountingServer()
    with counting.server:
        yield counting


class FakeResolver:
    """DNS for ``TRACKER_NAME``: the given answers in turn (the last one repeats)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != TRACKER_NAME:
            return self._real(host, port, *args, **kwargs)
        address = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


def _session(policy: AddressPolicy) -> requests.Session:
    session = requests.Session()
    guard_session(session, policy)
    return session


def _httpx_client(policy: AddressPolicy) -> httpx.Client:
    return httpx.Client(transport=GuardedTransport(policy), timeout=5)


def _get_with_requests(policy: AddressPolicy, url: str) -> int:
    with _session(policy) as session:
        return session.get(url, timeout=5).status_code


def _get_with_httpx(policy: AddressPolicy, url: str) -> int:
    with _httpx_client(policy) as client:
        return client.get(url).status_code


CLIENTS = pytest.mark.parametrize(
    "get", [_get_with_requests, _get_with_httpx], ids=["requests", "httpx"]
)


@pytest.mark.parametrize(
    "address",
    [
        "100.100.100.200",  # cloud metadata in the shared address space
        "100.64.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:127.0.0.1",
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::6464:64c8",  # NAT64 of 100.100.100.200
        "64:ff9b:1::1",  # local-use NAT64
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "2001:0:7f00:1:8000:63bf:3fff:fdd2",  # Teredo, server 127.0.0.1
    ],
)
def test_private_shared_and_embedded_private_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None
    assert AddressPolicy().refusal(address) is not None


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_and_ipv6_forms_of_public_ipv4_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allowed_networks_lift_the_refusal_only_for_those_networks() -> None:
    policy = AddressPolicy(allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    assert policy.refusal("10.20.1.2") is None
    assert policy.refusal("10.21.1.2") is not None
    assert policy.refusal("169.254.169.254") is not None
    assert AddressPolicy(allow_private=True).refusal("169.254.169.254") is None


@CLIENTS
@pytest.mark.parametrize("address", ["10.0.0.1", "100.100.100.200", "[::ffff:169.254.169.254]"])
def test_request_to_a_refused_address_is_refused_before_connecting(
    get: Callable[[AddressPolicy, str], int], address: str
) -> None:
    with pytest.raises(AddressRefused, match="planbridge does not connect to it"):
        get(LOOPBACK_ONLY, f"http://{address}:9/")


@CLIENTS
def test_redirect_is_not_followed_and_names_its_target(
    get: Callable[[AddressPolicy, str], int],
    redirecting: CountingServer,
    target: CountingServer,
) -> None:
    with pytest.raises(RedirectRefused) as refused:
        get(LOOPBACK_ONLY, f"{redirecting.url}/rest/api/3/serverInfo?token=secret")
    message = str(refused.value)
    assert f"answered 302 to {target.url}/internal" in message
    assert "is this the API address?" in message
    assert "secret" not in message
    assert len(redirecting.hosts) == 1
    assert target.hosts == []


@CLIENTS
def test_connection_goes_to_the_checked_address_with_the_host_name_kept(
    get: Callable[[AddressPolicy, str], int],
    tracker: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolver = FakeResolver("127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = tracker.server.port
    assert get(LOOPBACK_ONLY, f"http://{TRACKER_NAME}:{port}/") == 200
    # One resolution, checked, and the connection made to it; the request still names the host.
    assert resolver.calls == 1
    assert tracker.hosts == [f"{TRACKER_NAME}:{port}"]


@CLIENTS
def test_name_rebound_to_a_private_address_after_the_check_is_refused(
    get: Callable[[AddressPolicy, str], int],
    tracker: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The base URL check saw an allowed address; the connection resolves again and is refused."""
    resolver = FakeResolver("127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = tracker.server.port
    assert LOOPBACK_ONLY.refusal(str(socket.getaddrinfo(TRACKER_NAME, port)[0][4][0])) is None
    with pytest.raises(AddressRefused, match=r"resolves to 127\.0\.0\.2"):
        get(LOOPBACK_ONLY, f"http://{TRACKER_NAME}:{port}/")
    assert tracker.hosts == []


def test_a_name_with_any_refused_address_is_refused(
    tracker: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def both(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != TRACKER_NAME:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port)),
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.2", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", both)
    with pytest.raises(AddressRefused, match=r"127\.0\.0\.2"):
        _get_with_httpx(LOOPBACK_ONLY, f"http://{TRACKER_NAME}:{tracker.server.port}/")
    assert tracker.hosts == []


@CLIENTS
def test_proxy_from_the_environment_is_not_used(
    get: Callable[[AddressPolicy, str], int],
    tracker: CountingServer,
    target: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through a proxy the guard would check the proxy's address, not the tracker's."""
    monkeypatch.setenv("HTTP_PROXY", target.url)
    monkeypatch.setenv("http_proxy", target.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert get(LOOPBACK_ONLY, f"{tracker.url}/") == 200
    assert len(tracker.hosts) == 1
    assert target.hosts == []


def _certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` only (no IP address in it): (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_tracker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only ``TRACKER_NAME``."""
    cert_file, key_file = _certificate_for(TRACKER_NAME, tmp_path)
    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=[Route("/", lambda request: JSONResponse({"ok": True}))]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the TLS server did not start"
        time.sleep(0.01)
    try:
        yield port, cert_file
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_tls_to_a_pinned_address_verifies_the_certificate_against_the_host_name(
    tls_tracker: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinning changes where the socket goes, not the name TLS sends (SNI) and checks."""
    port, ca_file = tls_tracker
    monkeypatch.setattr(socket, "getaddrinfo", FakeResolver("127.0.0.1"))
    url = f"https://{TRACKER_NAME}:{port}/"
    with _session(LOOPBACK_ONLY) as session:
        assert session.get(url, verify=str(ca_file), timeout=5).json() == {"ok": True}
    transport = GuardedTransport(LOOPBACK_ONLY, verify=ssl.create_default_context(cafile=ca_file))
    with httpx.Client(transport=transport, timeout=5) as client:
        assert client.get(url).json() == {"ok": True}
    # The certificate names the host, not the address: asked by address, verification fails.
    with _session(LOOPBACK_ONLY) as session, pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://127.0.0.1:{port}/", verify=str(ca_file), timeout=5)
