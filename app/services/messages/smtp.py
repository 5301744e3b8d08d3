"""E-mail over SMTP (RFC 5321) with smtplib: STARTTLS, implicit TLS, or plain SMTP when asked.

``PLANBRIDGE_SMTP_URL`` names the server: ``smtp://user:pass@host:587`` (STARTTLS, required),
``smtps://user:pass@host:465`` (implicit TLS), ``smtp://host:25?starttls=off`` (plain SMTP, for a
relay on the same host or network only). The password is registered with the log scrubber.
The server's certificate is always verified: against the system's trust store, or the CA file of
``PLANBRIDGE_SMTP_CA_FILE`` (a private CA, a self-signed server).
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from app.observability.logging import register_secret
from app.services.messages.refusals import ChannelDown, MessageRefused

TIMEOUT_SECONDS = 10.0
# Folding at 78 columns would RFC 2047-encode the long unsubscribe URL (it has no spaces to fold
# at), and mail clients then no longer read it as a URL; 998 is SMTP's own line limit.
HEADER_POLICY = email.policy.default.clone(max_line_length=998)


class SmtpUrlInvalid(ValueError):
    """PLANBRIDGE_SMTP_URL cannot be used; the message says why."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # "starttls" | "tls" | "none"
    ca_file: str | None = None  # trust these CAs instead of the system's


def tls_context(server: SmtpServer) -> ssl.SSLContext:
    """Certificate and host name verified, always; against ``ca_file`` when one is given."""
    return ssl.create_default_context(cafile=server.ca_file)


@dataclass(frozen=True)
class Email:
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str | None = None


def parse_smtp_url(url: str, *, ca_file: str | None = None) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpUrlInvalid("PLANBRIDGE_SMTP_URL must look like smtp://user:pass@host:587")
    query = parse_qs(parts.query)
    if parts.scheme == "smtps":
        security = "tls"
    elif query.get("starttls", ["on"])[0].lower() in ("off", "false", "0"):
        security = "none"
    else:
        security = "starttls"
    password = unquote(parts.password) if parts.password else None
    register_secret(password)
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if security == "tls" else 587),
        username=unquote(parts.username) if parts.username else None,
        password=password,
        security=security,
        ca_file=ca_file,
    )


def build_message(email: Email) -> EmailMessage:
    """Multipart text and HTML; ``List-Unsubscribe`` with one-click (RFC 8058) when a person can
    opt out."""
    message = EmailMessage(policy=HEADER_POLICY)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain="planbridge")
    if email.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    return message


def _refusal(code: int, text: str, *, about_recipient: bool) -> MessageRefused:
    reason = f"SMTP {code} {text}".strip()[:500]
    if 400 <= code < 500:
        return MessageRefused(reason, temporary=True)
    return MessageRefused(reason, temporary=False, person_unreachable=about_recipient)


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def _connect(server: SmtpServer) -> smtplib.SMTP:
    try:
        if server.security == "tls":
            return smtplib.SMTP_SSL(
                server.host, server.port, timeout=TIMEOUT_SECONDS, context=tls_context(server)
            )
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
    except (OSError, smtplib.SMTPException) as error:
        raise ChannelDown(
            f"SMTP server {server.host}:{server.port} unreachable: {error}"
        ) from error
    if server.security == "starttls":
        try:
            client.starttls(context=tls_context(server))
        except (OSError, smtplib.SMTPException) as error:
            client.close()
            raise MessageRefused(
                f"SMTP server {server.host}:{server.port} did not start TLS ({error}); "
                "add ?starttls=off to PLANBRIDGE_SMTP_URL only for a trusted relay",
                temporary=True,
            ) from error
    return client


def send_email(server: SmtpServer, email: Email) -> None:
    """Hand the message to the server, or raise MessageRefused saying whether to retry."""
    client = _connect(server)
    try:
        if server.username and server.password:
            client.login(server.username, server.password)
        refused = client.send_message(build_message(email))
        if refused:
            code, answer = next(iter(refused.values()))
            raise _refusal(code, _text(answer), about_recipient=True)
    except smtplib.SMTPRecipientsRefused as error:
        code, answer = next(iter(error.recipients.values()))
        raise _refusal(code, _text(answer), about_recipient=True) from error
    except smtplib.SMTPAuthenticationError as error:
        # The deployment's credentials, not the person: kept queued until someone fixes them.
        raise MessageRefused(f"SMTP login refused ({error.smtp_code})", temporary=True) from error
    except smtplib.SMTPResponseException as error:
        raise _refusal(error.smtp_code, _text(error.smtp_error), about_recipient=False) from error
    except (OSError, smtplib.SMTPException) as error:
        raise ChannelDown(f"SMTP connection lost: {error}") from error
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
