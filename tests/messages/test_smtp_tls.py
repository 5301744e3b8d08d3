"""E-mail over TLS against a real SMTP server on loopback (aiosmtpd) with a self-signed certificate
made by the test: STARTTLS on ``smtp://`` and implicit TLS on ``smtps://`` succeed when the CA is
trusted through PLANBRIDGE_SMTP_CA_FILE, and the same server is refused when it is not."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session as DbSession
from sqlmodel import select

from app.models import MessageDelivery, MessageState, Person
from app.services.messages.outbox import Message, queue_message, send_due_messages
from app.settings import Settings
from tests.conftest import Tenant
from tests.messages.servers import SMTP_PASSWORD, SMTP_USER, MailServer
from tests.trackers.server import free_port

NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
HELLO = Message(kind="checkin_request", iso_week="2027-W09", subject="Hello", text="Hello Ada")


@dataclass
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "planbridge test mail server")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "mail.pem", tmp_path / "mail.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@dataclass
class TlsMailServer(MailServer):
    """Also records whether each message came over TLS."""

    encrypted: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        # The connection's transport, after STARTTLS or from the start: is it a TLS one?
        self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def starttls_server(certificate: Certificate) -> Iterator[TlsMailServer]:
    """Port 587's way: plain at first, STARTTLS required before AUTH and MAIL."""
    received = TlsMailServer(port=free_port())
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=received.port,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=received.authenticate,
        auth_required=True,
    )
    controller.start()
    yield received
    controller.stop()


@pytest.fixture
def implicit_tls_server(certificate: Certificate) -> Iterator[TlsMailServer]:
    """Port 465's way: TLS from the first byte."""
    received = TlsMailServer(port=free_port())
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=received.port,
        ssl_context=certificate.server_context(),
        authenticator=received.authenticate,
        auth_required=True,
        auth_require_tls=False,  # the whole connection is TLS; aiosmtpd asks about STARTTLS
    )
    controller.start()
    yield received
    controller.stop()


def send_one(engine: Engine, tenant: Tenant, settings: Settings) -> MessageDelivery:
    with DbSession(engine, expire_on_commit=False) as session:
        person = Person(workspace_id=tenant.workspace_id, name="Ada", email="ada@example.com")
        session.add(person)
        session.flush()
        queue_message(session, person, HELLO, settings, NOW)
        session.commit()
    send_due_messages(engine, NOW, settings)
    with DbSession(engine) as session:
        return session.exec(select(MessageDelivery)).one()


def tls_settings(settings: Settings, url: str, ca_file: Path | None) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(url),
            "mail_from": "planbridge@example.com",
            "smtp_ca_file": str(ca_file) if ca_file else None,
        }
    )


def test_starttls_on_587_sends_after_upgrading_the_connection(
    engine: Engine,
    tenant: Tenant,
    settings: Settings,
    certificate: Certificate,
    starttls_server: TlsMailServer,
) -> None:
    url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{starttls_server.port}"
    delivery = send_one(engine, tenant, tls_settings(settings, url, certificate.cert_file))

    assert delivery.state == MessageState.sent, delivery.last_error
    assert starttls_server.logins == [SMTP_USER]
    assert starttls_server.encrypted == [True]
    assert starttls_server.received[0]["Subject"] == "Hello"


def test_implicit_tls_on_smtps_sends(
    engine: Engine,
    tenant: Tenant,
    settings: Settings,
    certificate: Certificate,
    implicit_tls_server: TlsMailServer,
) -> None:
    url = f"smtps://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{implicit_tls_server.port}"
    delivery = send_one(engine, tenant, tls_settings(settings, url, certificate.cert_file))

    assert delivery.state == MessageState.sent, delivery.last_error
    assert implicit_tls_server.logins == [SMTP_USER]
    assert implicit_tls_server.encrypted == [True]


def test_an_untrusted_certificate_is_refused_and_the_mail_stays_queued(
    engine: Engine, tenant: Tenant, settings: Settings, starttls_server: TlsMailServer
) -> None:
    url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{starttls_server.port}"
    delivery = send_one(engine, tenant, tls_settings(settings, url, None))

    assert delivery.state == MessageState.queued
    assert delivery.last_error is not None and "did not start TLS" in delivery.last_error
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
    assert starttls_server.received == []
