"""Loopback receivers for the message tests: a real SMTP server (aiosmtpd) and a chat webhook."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from app.settings import Settings
from tests.trackers.server import LoopbackServer, free_port

SMTP_USER = "planbridge"
SMTP_PASSWORD = "smtp-password-not-for-logs"


@dataclass
class MailServer:
    """What the server received, and how it should answer the next recipients (a queue of
    SMTP replies such as "451 4.3.0 try later"; empty: accept)."""

    port: int
    received: list[Message] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{self.port}?starttls=off"

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.received.append(email.message_from_bytes(raw))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if (
            isinstance(data, LoginPassword)
            and data.login.decode() == SMTP_USER
            and data.password.decode() == SMTP_PASSWORD
        ):
            self.logins.append(SMTP_USER)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@contextmanager
def mail_server(port: int | None = None) -> Iterator[MailServer]:
    """Plain SMTP (no STARTTLS) on loopback that requires AUTH, as a local relay would (on
    ``port``: a server that comes back where it was down)."""
    received = MailServer(port=port or free_port())
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=received.port,
        authenticator=received.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


@dataclass
class ChatReceiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@contextmanager
def chat_receiver() -> Iterator[ChatReceiver]:
    """A Slack-like incoming webhook on loopback: records the bodies, answers the queued
    statuses first (then 200 "ok")."""
    app = FastAPI()
    state = ChatReceiver(url="")

    @app.post("/hooks/person")
    async def receive(request: Request) -> Any:
        if state.statuses:
            return JSONResponse("refused", status_code=state.statuses.pop(0))
        state.received.append(await request.json())
        return JSONResponse("ok")

    with LoopbackServer(app) as server:
        state.url = f"{server.url}/hooks/person"
        yield state


def with_mail_server(settings: Settings, smtp_url: str) -> Settings:
    """``settings`` that send e-mail through ``smtp_url``, from planbridge@example.com, with links
    to https://plans.example.com."""
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(smtp_url),
            "mail_from": "planbridge <planbridge@example.com>",
            "public_url": "https://plans.example.com",
        }
    )
