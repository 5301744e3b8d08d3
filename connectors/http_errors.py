"""A tracker's failed HTTP answer as a connector error: one ladder of status classes for all.

Each client handles first what only its tracker does (how it signals a rate limit, GitHub's archived
repository or deleted issue) and words the messages; which error class a status is, is decided here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from connectors.base import AuthFailed, ConnectorError, Invalid, NotFound, Transient

# Statuses that say the request itself is wrong: sending it again changes nothing.
INVALID_STATUSES = frozenset({400, 409, 422})
# Besides every 5xx: no answer at all (None) and a request timeout are worth trying again.
TRANSIENT_STATUSES: frozenset[int | None] = frozenset({None, 408})


def error_for_status(
    status: int | None,
    messages: Mapping[type[ConnectorError], str],
    *,
    invalid: Collection[int] = INVALID_STATUSES,
    transient: Collection[int | None] = TRANSIENT_STATUSES,
    otherwise: type[ConnectorError] = ConnectorError,
) -> ConnectorError:
    """The connector error for ``status``, with the tracker's message for its class.

    401 and 403 are ``AuthFailed``, 404 ``NotFound``, ``invalid`` ones ``Invalid``, 5xx and
    ``transient`` ones ``Transient``, anything else ``otherwise``. ``messages`` holds the text of
    each class the tracker can answer.
    """
    kind: type[ConnectorError]
    if status in (401, 403):
        kind = AuthFailed
    elif status == 404:
        kind = NotFound
    elif status is not None and status in invalid:
        kind = Invalid
    elif status in transient or (status is not None and status >= 500):
        kind = Transient
    else:
        kind = otherwise
    return kind(messages[kind])
