"""The address check on URLs users give planbridge to call (server-side request forgery guard).

planbridge calls the base URL of every connection, and every notification subscription, from inside
the deployment's network, so a URL that resolves to a private, loopback, link-local, shared,
reserved or multicast address (or an IPv6 form of one) could reach internal services. Such URLs are
refused when saved, unless ``PLANBRIDGE_ALLOW_PRIVATE_TRACKERS`` is set (self-hosted Jira Data
Center on the intranet; the tests' emulators on 127.0.0.1) or the address is in
``PLANBRIDGE_ALLOWED_TRACKER_NETWORKS``. This check gives an early, clear 422; the rule itself is
``connectors.addresses.AddressPolicy``, which connectors/outbound.py applies again to every
connection.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.errors import InvalidField
from connectors.addresses import AddressPolicy
from connectors.outbound import AddressRefused, resolve_checked

FIELD = "base_url"
POLICY_HINT = (
    "set PLANBRIDGE_ALLOW_PRIVATE_TRACKERS=true, or list its network in "
    "PLANBRIDGE_ALLOWED_TRACKER_NETWORKS, to allow it"
)


def check_base_url(
    url: str, *, policy: AddressPolicy, schemes: tuple[str, ...] = ("http", "https")
) -> str:
    """The URL without a trailing slash, or InvalidField naming ``base_url``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here, not later
    except ValueError as error:  # e.g. "http://[x": an unclosed IPv6 bracket
        raise InvalidField(FIELD, f"base_url is not a valid URL ({error})") from error
    if parts.scheme not in schemes:
        raise InvalidField(
            FIELD, f"base_url must start with {' or '.join(s + '://' for s in schemes)}"
        )
    if not parts.hostname:
        raise InvalidField(FIELD, "base_url has no host name")
    if parts.username or parts.password:
        raise InvalidField(FIELD, "base_url must not carry credentials; use the credentials field")
    if policy.allow_private:
        return url.rstrip("/")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidField(FIELD, "base_url has an invalid port") from exc
    try:
        resolve_checked(policy, parts.hostname, port)
    except AddressRefused as exc:
        raise InvalidField(FIELD, f"base_url host {exc}; {POLICY_HINT}") from exc
    except (OSError, UnicodeError) as exc:
        raise InvalidField(FIELD, f"base_url host '{parts.hostname}' does not resolve") from exc
    return url.rstrip("/")
