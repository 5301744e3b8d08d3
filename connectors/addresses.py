"""Which network addresses planbridge may connect to: the rule of its outbound-request guard.

planbridge calls URLs that users type in (tracker base URLs, notification subscriptions) from
inside the deployment's network, so by default it refuses every address that is not globally
reachable: private, loopback, link-local, shared (100.64.0.0/10, cloud metadata on some providers),
reserved and multicast ones, and every IPv6 form that carries such an IPv4 address (IPv4-mapped,
IPv4-compatible, NAT64, 6to4, Teredo). connectors/outbound.py applies the rule to every connection.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Shared address space (RFC 6598): carrier-grade NAT, and cloud metadata on some providers
# (e.g. 100.100.100.200).
SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
# IPv6 forms that carry an IPv4 address; each is judged by the IPv4 address it carries.
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# Local-use NAT64 (RFC 8215) places the IPv4 address by the operator's prefix length: refused.
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, NAT64, 6to4, Teredo."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in IPV4_COMPATIBLE or address in NAT64_WELL_KNOWN:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def _ipv4_refusal(address: ipaddress.IPv4Address) -> str | None:
    if address in SHARED_ADDRESS_SPACE:
        return "in the shared address space 100.64.0.0/10"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if not address.is_global:
        return "a private or reserved address"
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why planbridge must not connect to ``address`` (no policy applied), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_refusal(address)
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    embedded = _embedded_ipv4(address)
    for inner in embedded:
        reason = _ipv4_refusal(inner)
        if reason is not None:
            return f"an IPv6 form of {inner}, {reason}"
    if embedded:
        return None
    if address in NAT64_LOCAL_USE:
        return "a local-use NAT64 address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if not address.is_global or address.is_site_local:
        return "a private or reserved address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound requests may reach.

    The default refuses private, loopback, link-local, shared, reserved and multicast addresses,
    and IPv6 forms of them. ``allow_private`` lifts the refusal (a self-hosted tracker on the
    intranet, emulators in tests); ``allowed_networks`` lifts it for those networks only.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def refusal(self, address: str) -> str | None:
        """Why a connection to ``address`` (as getaddrinfo gives it) is refused, or None."""
        parsed = ipaddress.ip_address(address.split("%", 1)[0])  # no IPv6 zone in the rule
        if self.allow_private or any(parsed in network for network in self.allowed_networks):
            return None
        return address_refusal(parsed)
