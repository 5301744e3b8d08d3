"""HTTP to Jira through the ``jira`` library (pycontribs), with its retries off and errors mapped.

REST v3 (Cloud): https://developer.atlassian.com/cloud/jira/platform/rest/v3/
REST v2 (Data Center): https://docs.atlassian.com/software/jira/docs/api/REST/latest/

The library's ResilientSession would sleep on 429/503 with real ``time.sleep`` and crash on an
HTTP-date ``Retry-After`` (it calls ``int()`` on it), so it is built with ``max_retries=0``; every
failure becomes a connector error here and the engine's tenacity policies do the retrying.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from jira import JIRA, JIRAError

from connectors.base import (
    AuthFailed,
    ConnectorError,
    Invalid,
    NotFound,
    RateLimited,
    RateLimitState,
    Transient,
)
from connectors.http_errors import error_for_status
from connectors.jira.config import JiraConfig
from connectors.outbound import describe_answer, guard_session, json_shape

# Without a Retry-After, wait this long after a 429 before the next request.
DEFAULT_RATE_LIMIT_SECONDS = 10.0
# search/jql: "reconcileIssues ... Accepts max 50 ids" (Jira Cloud platform REST API reference).
MAX_RECONCILE_ISSUES = 50


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def error_text(response: requests.Response | None) -> str:
    """Jira's ``{"errorMessages": [...], "errors": {field: message}}`` as one line."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(body, dict):
        return str(body)[:300]
    messages = [str(message) for message in body.get("errorMessages") or []]
    messages += [f"{field}: {message}" for field, message in (body.get("errors") or {}).items()]
    return "; ".join(messages)


def map_http_error(status: int | None, response: requests.Response | None) -> ConnectorError:
    """The connector error for a failed Jira answer (status None: no answer at all)."""
    detail = error_text(response)
    headers = response.headers if response is not None else {}
    suffix = f": {detail}" if detail else ""
    rate_limited = status == 429 or (status == 403 and "RateLimit-Reason" in headers)
    if rate_limited or (status == 503 and "Retry-After" in headers):
        wait = retry_after_seconds(headers.get("Retry-After"))
        return RateLimited(
            f"Jira rate limit ({headers.get('RateLimit-Reason', status)}){suffix}",
            DEFAULT_RATE_LIMIT_SECONDS if wait is None else wait,
        )
    messages = {
        AuthFailed: f"Jira refused the credentials ({status}){suffix}",
        NotFound: f"not found in Jira{suffix}",
        Invalid: f"Jira rejected the request ({status}){suffix}",
        Transient: f"Jira unavailable ({status or 'no answer'}){suffix}",
        ConnectorError: f"unexpected Jira answer {status}{suffix}",
    }
    return error_for_status(status, messages)


@contextmanager
def jira_errors() -> Iterator[None]:
    """Translate the library's and requests' exceptions into the connector error family."""
    try:
        yield
    except JIRAError as error:
        raise map_http_error(error.status_code, error.response) from None
    except requests.RequestException as error:
        # Timeouts, refused and dropped connections, truncated bodies: all worth retrying.
        raise Transient(f"Jira unreachable: {type(error).__name__}") from None
    except ValueError as error:  # a body that is not JSON
        raise Transient(f"Jira sent an unreadable answer: {error}") from None


class JiraClient:
    """Thin HTTP layer: one method per Jira call the connector makes, returning parsed JSON."""

    def __init__(self, config: JiraConfig, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._jira: JIRA | None = None
        self._clock = clock
        self.rate_limit = RateLimitState()
        self.requests_sent = 0
        self._last_response: requests.Response | None = None
        # Jira's own time, from the Date header of the last answer that had one.
        self.server_time: datetime | None = None

    # -- construction -------------------------------------------------------------------------

    @property
    def jira(self) -> JIRA:
        """The library client, built on first use (its constructor already calls ``serverInfo``)."""
        if self._jira is None:
            try:
                with jira_errors():
                    self._jira = self._connect()
            except NotFound:
                # No serverInfo at this REST version: not Jira, or Data Center asked for v3.
                raise Invalid(
                    f"deployment: {self._config.base_url} has no Jira REST "
                    f"v{self._config.rest_api_version} "
                    f"(is deployment '{self._config.deployment}' right?)"
                ) from None
        return self._jira

    def _connect(self) -> JIRA:
        config = self._config
        options: dict[str, Any] = {"rest_api_version": config.rest_api_version}
        common: dict[str, Any] = {
            "server": config.base_url.rstrip("/"),
            "options": options,
            "max_retries": 0,
            "timeout": config.timeout_seconds,
        }
        # Built without its serverInfo call, so that the first request already goes through the
        # address guard; serverInfo is read below, as the constructor would.
        if config.is_cloud:
            token = config.api_token.get_secret_value() if config.api_token else ""
            client = JIRA(basic_auth=(config.email or "", token), get_server_info=False, **common)
        else:
            pat = config.personal_access_token
            client = JIRA(
                token_auth=pat.get_secret_value() if pat else "", get_server_info=False, **common
            )
        guard_session(client._session, config.address_policy)
        client._session.hooks["response"].append(self._observe)
        info = self._server_info(client)
        client._version = tuple(info["versionNumbers"])
        # "Cloud or not" comes from the deploymentType, as in the library's constructor.
        client.deploymentType = info.get("deploymentType")
        return client

    def _server_info(self, client: JIRA) -> dict[str, Any]:
        """GET serverInfo; Invalid naming ``base_url`` when the answer is not Jira's."""
        where = f"{self._config.base_url.rstrip('/')}/rest/api/{self._config.rest_api_version}"
        try:
            info = client.server_info()
        except ValueError:
            raise Invalid(
                f"{where}/serverInfo answered {self._last_answer()}, not JSON; "
                "is this the Jira address?"
            ) from None
        if not isinstance(info, dict) or not isinstance(info.get("versionNumbers"), list):
            raise Invalid(
                f"{where}/serverInfo answered {self._last_answer()}, {json_shape(info)} without "
                "versionNumbers; is this the Jira address?"
            )
        return info

    def _last_answer(self) -> str:
        response = self._last_response
        if response is None:
            return "nothing"
        return describe_answer(
            response.status_code, response.headers.get("Content-Type"), len(response.content)
        )

    @property
    def deployment_type(self) -> str | None:
        """What the server says it is: "Cloud", "Server" or "DataCenter"."""
        value = self.jira.deploymentType
        return str(value) if value is not None else None

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests_sent += 1
        self._last_response = response
        headers = response.headers
        if headers.get("Date"):
            with suppress(TypeError, ValueError, IndexError):
                self.server_time = parsedate_to_datetime(headers["Date"])
        if "X-RateLimit-Limit" not in headers and "X-RateLimit-Remaining" not in headers:
            return
        reset_at = None
        if headers.get("X-RateLimit-Reset"):
            try:
                reset_at = datetime.fromisoformat(
                    headers["X-RateLimit-Reset"].replace("Z", "+00:00")
                )
            except ValueError:
                reset_at = None
        self.rate_limit = RateLimitState(
            limit=_int_or_none(headers.get("X-RateLimit-Limit")),
            remaining=_int_or_none(headers.get("X-RateLimit-Remaining")),
            reset_at=reset_at,
        )

    def close(self) -> None:
        if self._jira is not None:
            self._jira.close()  # type: ignore[no-untyped-call]
            self._jira = None

    # -- raw calls through the library's session ------------------------------------------------

    def _url(self, path: str) -> str:
        return str(self.jira._get_url(path))

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        with jira_errors():
            response = self.jira._session.request(method, url, **kwargs)
            if response.status_code == 204 or not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                # An HTML error page from a proxy in front of Jira, or a body cut short.
                answer = describe_answer(
                    response.status_code,
                    response.headers.get("Content-Type"),
                    len(response.content),
                )
                raise Transient(f"Jira answered {answer} to {method} {url}, not JSON") from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._request("GET", self._url(path), params=params)

    # -- Jira calls -----------------------------------------------------------------------------

    def myself(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("myself")
        return result

    def project(self, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"project/{key}")
        return result

    def create_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        """One POST: project and issue type go as dicts so the library looks nothing up first."""
        with jira_errors():
            issue = self.jira.create_issue(fields=fields, prefetch=False)
        raw: dict[str, Any] = issue.raw
        return raw

    def issue(self, key: str, fields: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"issue/{key}", {"fields": ",".join(fields)})
        return result

    def edit_issue(
        self, key: str, fields: dict[str, Any], update: dict[str, Any] | None = None
    ) -> None:
        body: dict[str, Any] = {"fields": fields}
        if update:
            body["update"] = update
        self._request("PUT", self._url(f"issue/{key}"), data=json.dumps(body))

    def transitions(self, key: str) -> list[dict[str, Any]]:
        """The transitions open to the issue, each with its screen's ``fields``."""
        with jira_errors():
            transitions: list[dict[str, Any]] = self.jira.transitions(
                key, expand="transitions.fields"
            )
        return transitions

    def transition(self, key: str, transition_id: str, fields: dict[str, Any]) -> None:
        body: dict[str, Any] = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = fields
        self._request("POST", self._url(f"issue/{key}/transitions"), data=json.dumps(body))

    def search(
        self,
        jql: str,
        fields: list[str],
        page_size: int,
        page: str | None,
        reconcile: list[str] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a JQL search and the token of the next page (None on the last one).

        Cloud: ``search/jql`` with ``nextPageToken`` (the old ``search`` answers 410 there); its
        index lags writes, except for the issue ids in ``reconcile`` (``reconcileIssues``, at most
        50). Data Center: classic ``search`` with ``startAt``; its offset travels as the page
        token, and its index does not lag.
        """
        params: dict[str, Any] = {"jql": jql, "fields": ",".join(fields), "maxResults": page_size}
        if self._config.is_cloud:
            if page:
                params["nextPageToken"] = page
            if reconcile:
                # An array parameter: repeated, as the OpenAPI description's form style has it.
                params["reconcileIssues"] = reconcile[-MAX_RECONCILE_ISSUES:]
            body = self.get("search/jql", params)
            next_page = body.get("nextPageToken") or None
            if body.get("isLast") is True:
                next_page = None
            return list(body.get("issues") or []), next_page
        start = int(page or 0)
        params["startAt"] = start
        body = self.get("search", params)
        issues = list(body.get("issues") or [])
        end = start + len(issues)
        more = bool(issues) and end < int(body.get("total") or 0)
        return issues, (str(end) if more else None)

    def add_comment(self, key: str, body: Any) -> dict[str, Any]:
        """POST issue/{key}/comment; ``body`` is ADF on v3 and a wiki string on v2."""
        url = self._url(f"issue/{key}/comment")
        result: dict[str, Any] = self._request("POST", url, data=json.dumps({"body": body}))
        return result

    def register_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._config.base_url.rstrip('/')}/rest/webhooks/1.0/webhook"
        result: dict[str, Any] = self._request("POST", url, data=json.dumps(body))
        return result


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
