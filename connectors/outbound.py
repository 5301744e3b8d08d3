"""The guard on every outbound HTTP request planbridge makes: trackers and notification receivers.

planbridge calls URLs that users type in (tracker base URLs, notification subscriptions) from inside
the deployment's network, so an address check on the URL alone is not enough (server-side request
forgery): a name can resolve to a public address when checked and to an internal one a moment later
(DNS rebinding), and a public server can answer with a redirect to an internal address. So every
connection resolves its host once, refuses it if any of the addresses is refused by the
``AddressPolicy``, and connects to exactly the address it checked; TLS still sends and verifies the
host name. Redirects are never followed: a tracker API answers its calls itself, so a redirect means
a wrong base URL and becomes an error naming where it pointed. Proxies from the environment are not
used either: through a proxy the guard would check the proxy, not the target.

``guard_session`` fits a ``requests.Session`` (the ``jira`` library, PyGithub) with this rule,
``GuardedTransport`` an ``httpx.Client`` (Trello, notifications).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util import connection as urllib3_connection

from connectors.addresses import AddressPolicy
from connectors.base import Invalid

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
T = TypeVar("T")


class OutboundRefused(Invalid):
    """The guard refused a request: a refused address, or a redirect (never followed)."""


class AddressRefused(OutboundRefused):
    """The host resolves to an address the policy refuses; no connection was made."""


class RedirectRefused(OutboundRefused):
    """The server answered with a redirect; it is not followed. ``location`` is where it
    pointed (absolute), for callers that handle a tracker's documented redirect themselves."""

    def __init__(self, message: str, status: int = 0, location: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.location = location


def resolve_checked(policy: AddressPolicy, host: str, port: int) -> list[str]:
    """Every address of ``host``, resolved once; AddressRefused if the policy refuses any of them.

    One refused address refuses the name: which address a connection gets is not ours to pick.
    ``socket.gaierror`` when the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            raise AddressRefused(
                f"{host} resolves to {address}, {reason}; planbridge does not connect to it"
            )
    return addresses


def describe_answer(status: int, content_type: str | None, size: int) -> str:
    """What came back, for a message: status, content type and size (never the body, which may
    echo a credential)."""
    kind = (content_type or "").split(";", 1)[0].strip() or "no content type"
    return f"{status} {kind} ({size} bytes)"


def json_shape(value: object) -> str:
    """A parsed JSON answer described by its shape, for messages about unexpected answers."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON list"
    return "JSON that is not an object"


def _first_connected(
    addresses: list[str],
    connect: Callable[[str], T],
    errors: tuple[type[Exception], ...],
) -> T:
    """Connect to the first checked address that answers; the last error if none does."""
    failure: Exception | None = None
    for address in addresses:
        try:
            return connect(address)
        except errors as error:
            failure = error
    assert failure is not None, "getaddrinfo answers at least one address"
    raise failure


def _without_query(url: str) -> str:
    """A URL fit for a message: query and fragment dropped (Trello's key and token ride there)."""
    parts = urlsplit(url)
    return parts._replace(query="", fragment="").geturl()


def _redirect_refused(url: str, status: int, location: str) -> RedirectRefused:
    target = urljoin(url, location)
    return RedirectRefused(
        f"{_without_query(url)} answered {status} to {_without_query(target)}; "
        "planbridge does not follow redirects (is this the API address?)",
        status,
        target,
    )


# --- requests (urllib3) -------------------------------------------------------------------------


class _PinnedConnection(HTTPConnection):
    """Resolves and checks its host once, then connects to exactly a checked address."""

    def __init__(self, *args: Any, address_policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_policy = address_policy

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve_checked(self.address_policy, self.host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        return _first_connected(
            addresses, self._connect_to, (ConnectTimeoutError, NewConnectionError)
        )

    def _connect_to(self, address: str) -> socket.socket:
        try:
            return urllib3_connection.create_connection(
                (address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} ({address}) timed out"
            ) from error
        except OSError as error:
            raise NewConnectionError(
                self, f"Failed to establish a new connection to {address}: {error}"
            ) from error


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    """TLS over the pinned socket; SNI and certificate checks use the host name."""


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    def __init__(self, address_policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address_policy = address_policy
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["address_policy"] = self.address_policy
        return pool


class GuardedAdapter(HTTPAdapter):
    """A requests transport adapter that pins checked addresses and refuses redirects."""

    def __init__(self, address_policy: AddressPolicy, **kwargs: Any) -> None:
        # HTTPAdapter.__init__ builds the pool manager, which needs the policy.
        self.address_policy = address_policy
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _PinnedPoolManager(
            self.address_policy, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        # Environment proxies would make the guard check the proxy instead of the target.
        response = super().send(request, stream, timeout, verify, cert, proxies=None)
        if response.is_redirect:
            response.close()
            raise _redirect_refused(
                str(request.url), response.status_code, response.headers["location"]
            )
        return response


def guard_session(session: requests.Session, address_policy: AddressPolicy) -> None:
    """Route every request of ``session`` through the guard (replaces its adapters)."""
    adapter = GuardedAdapter(address_policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


# --- httpx (httpcore) ---------------------------------------------------------------------------


class _PinnedBackend(httpcore.SyncBackend):
    def __init__(self, address_policy: AddressPolicy) -> None:
        self.address_policy = address_policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_checked(self.address_policy, host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from error
        # httpcore starts TLS on the stream with the origin's host name, not this address.
        return _first_connected(
            addresses,
            lambda address: super(_PinnedBackend, self).connect_tcp(
                address, port, timeout, local_address, socket_options
            ),
            (httpcore.ConnectError, httpcore.ConnectTimeout),
        )


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that pins checked addresses and refuses redirects."""

    def __init__(
        self,
        address_policy: AddressPolicy,
        *,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
    ) -> None:
        super().__init__(verify=verify, limits=limits)
        # HTTPTransport takes no network backend; its pool is rebuilt with the pinning one. A CA
        # bundle named in the environment (SSL_CERT_FILE) still counts; proxies do not, since a
        # client with an explicit transport ignores them.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(address_policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
            response.close()
            raise _redirect_refused(
                str(request.url), response.status_code, response.headers["location"]
            )
        return response
