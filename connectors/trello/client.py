"""HTTP access to Trello's REST API (https://developer.atlassian.com/cloud/trello/rest/) with httpx.

Only transport concerns live here: key + token query parameters, pacing, and mapping HTTP failures
to the connector error family. No card semantics.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import (
    AuthFailed,
    ConnectorError,
    Invalid,
    NotFound,
    RateLimited,
    RateLimitState,
    RequestPacer,
    Transient,
)
from connectors.http_errors import error_for_status
from connectors.outbound import describe_answer
from connectors.trello.pacing import RequestPacer as InProcessPacer

# The batch endpoint answers at most this many GET routes per call.
BATCH_LIMIT = 10


def _retry_after_seconds(headers: Mapping[str, str], default: float) -> float:
    """Retry-After as seconds or an HTTP date; Trello documents none, so default to the window."""
    value = headers.get("retry-after")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class TrelloClient:
    """One token's session. Every request is paced and authenticated with ``key`` and ``token``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_token: str,
        timeout_seconds: float,
        pacer: RequestPacer,
        transport: httpx.BaseTransport | None = None,
        window_seconds: float = 10.0,
    ) -> None:
        # Trello documents no Retry-After: a 429 is waited out for one window.
        self.window_seconds = window_seconds
        self._auth = {"key": api_key, "token": api_token}
        self.pacer = pacer
        # ``transport``: the address guard (connectors/outbound.py), or a test's mock.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/1",
            timeout=timeout_seconds,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.rate_limit = RateLimitState()
        self.request_count = 0
        self.write_count = 0

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=body)

    def batch(self, routes: list[str]) -> list[tuple[int, Any]]:
        """Up to 10 GET routes in one call; each answer as (status, body) in the order asked."""
        if not 0 < len(routes) <= BATCH_LIMIT:
            raise ValueError(f"a batch holds 1 to {BATCH_LIMIT} routes, not {len(routes)}")
        answers = self.get("/batch", {"urls": ",".join(routes)})
        results: list[tuple[int, Any]] = []
        for answer in answers:
            # Trello keys each answer by its status code: {"200": {...}} or {"404": "..."}.
            status_text, body = next(iter(answer.items()))
            results.append((int(status_text), body))
        return results

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        # Fields go in a JSON body: a 16 KB description does not fit in a URL.
        query = {**(params or {}), **self._auth}
        slot = self.pacer.acquire()
        self.request_count += 1
        if method != "GET":
            self.write_count += 1
        try:
            response = self._http.request(method, path, params=query, json=body)
        except httpx.TimeoutException as error:
            raise Transient(f"Trello did not answer {method} {path} in time") from error
        except httpx.TransportError as error:
            # The message never carries the URL: the query string holds the token.
            raise Transient(
                f"connection to Trello failed during {method} {path}: {type(error).__name__}"
            ) from error
        finally:
            self.pacer.settle(slot)
        self._record_rate_limit(response.headers)
        if response.status_code >= 400:
            raise self._error_for(method, path, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            # An HTML page from a proxy or a login wall, or a body cut short.
            answer = describe_answer(
                response.status_code, response.headers.get("content-type"), len(response.content)
            )
            raise Transient(f"Trello answered {answer} to {method} {path}, not JSON") from None

    def _record_rate_limit(self, headers: httpx.Headers) -> None:
        # Undocumented but sent by Trello: x-rate-limit-api-token-{max,remaining,interval-ms}.
        limit = headers.get("x-rate-limit-api-token-max")
        remaining = headers.get("x-rate-limit-api-token-remaining")
        interval = headers.get("x-rate-limit-api-token-interval-ms")
        if limit is None and remaining is None:
            return
        reset_at = None
        if interval is not None and interval.isdigit():
            reset_at = datetime.now(UTC) + timedelta(milliseconds=int(interval))
        self.rate_limit = RateLimitState(
            limit=int(limit) if limit and limit.isdigit() else None,
            remaining=int(remaining) if remaining and remaining.isdigit() else None,
            reset_at=reset_at,
        )

    def _error_for(self, method: str, path: str, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        text = response.text.strip()[:300]
        where = f"{method} {path}"
        if status == 429:
            retry_after = _retry_after_seconds(response.headers, self.window_seconds)
            which = "rate limit"
            with contextlib.suppress(ValueError):
                which = str(response.json().get("error") or which)
            return RateLimited(f"Trello {which} on {where}", retry_after=retry_after)
        messages = {
            # Trello answers plain text: "invalid key", "invalid token",
            # "unauthorized permission requested".
            AuthFailed: f"Trello refused the credentials ({text or status}) on {where}",
            NotFound: f"Trello has no such object ({where})",
            Transient: f"Trello answered {status} on {where}",
            Invalid: f"Trello refused {where}: {status} {text}",
        }
        # Any other refusal is the request's fault: Trello answers 400 with the reason as text.
        return error_for_status(status, messages, invalid=(), transient=(), otherwise=Invalid)


def make_pacer(
    requests: int,
    seconds: float,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> InProcessPacer:
    return InProcessPacer(
        requests, seconds, clock=clock or time.monotonic, sleep=sleep or time.sleep
    )
