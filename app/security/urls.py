"""Outbound URL check for connection base URLs (server-side request forgery guard).

planbridge calls the base URL of every connection from inside the deployment's network, so a URL
that
resolves to a private, loopback, link-local, reserved or multicast address could reach internal
services. Such URLs are refused unless ``PLANBRIDGE_ALLOW_PRIVATE_TRACKERS`` is set (self-hosted
Jira
Data Center on the intranet; the tests' emulators on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import InvalidField

FIELD = "base_url"


def _is_forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def resolve_addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def check_base_url(
    url: str, *, allow_private: bool, schemes: tuple[str, ...] = ("http", "https")
) -> str:
    """The URL without a trailing slash, or InvalidField naming ``base_url``."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise InvalidField(
            FIELD, f"base_url must start with {' or '.join(s + '://' for s in schemes)}"
        )
    if not parts.hostname:
        raise InvalidField(FIELD, "base_url has no host name")
    if parts.username or parts.password:
        raise InvalidField(FIELD, "base_url must not carry credentials; use the credentials field")
    if allow_private:
        return url.rstrip("/")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidField(FIELD, "base_url has an invalid port") from exc
    try:
        addresses = resolve_addresses(parts.hostname, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidField(FIELD, f"base_url host '{parts.hostname}' does not resolve") from exc
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if _is_forbidden(address):
            raise InvalidField(
                FIELD,
                f"base_url host '{parts.hostname}' resolves to {text}, a private, loopback, "
                "link-local, reserved or multicast address; set "
                "PLANBRIDGE_ALLOW_PRIVATE_TRACKERS=true to allow it",
            )
    return url.rstrip("/")
