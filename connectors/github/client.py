"""HTTP to the GitHub REST API through PyGithub, and nothing else (https://docs.github.com/en/rest).

PyGithub's own pacing and retries are switched off (the sync engine paces and retries), objects are
lazy so a create is one POST with no GET before it, and list polls go through PyGithub's requester
directly because its lists cannot send ``If-None-Match``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException
from github.GithubObject import NotSet
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester

from connectors.addresses import AddressPolicy
from connectors.base import (
    AuthFailed,
    ConnectorError,
    Invalid,
    NotFound,
    ObjectMoved,
    RateLimited,
    RateLimitState,
    RemoteRef,
    TargetReadOnly,
    Transient,
)
from connectors.github.config import GitHubConfig
from connectors.github.mapping import lower_keys, rate_limit_wait
from connectors.http_errors import error_for_status
from connectors.outbound import RedirectRefused, describe_answer, guard_session, json_shape

LINK_NEXT = 'rel="next"'
# Where GitHub's 301 for a transferred issue points: the issue in its new repository, by id.
TRANSFERRED_ISSUE = re.compile(r"/repositories/(\d+)/issues/(\d+)$")


@dataclass(frozen=True)
class Page:
    """One list answer: 304 (``data`` None) or 200 with its rows, etag and next-page URL."""

    status: int
    rows: list[dict[str, Any]]
    etag: str | None
    next_url: str | None
    # GitHub's clock (the ``date`` header) when it answered, if it said.
    server_time: datetime | None = None


def next_link(link_header: str | None) -> str | None:
    """The rel="next" URL of a GitHub ``link`` header (``<url>; rel="next", <url>; rel="last"``)."""
    for part in (link_header or "").split(","):
        target, _, relation = part.partition(";")
        if relation.strip() == LINK_NEXT:
            return target.strip().removeprefix("<").removesuffix(">")
    return None


def server_time(headers: dict[str, str]) -> datetime | None:
    """The ``date`` header of a (lower-cased) answer as an aware datetime, if it parses."""
    try:
        return email.utils.parsedate_to_datetime(headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def error_message(data: Any) -> str:
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        errors = data.get("errors")
        if errors:
            message = f"{message}: {json.dumps(errors)}"
        return message
    return str(data or "")


def translate(error: GithubException) -> ConnectorError:
    """GitHub's answer as one of the connector errors (the engine retries only two of them)."""
    status, headers = error.status, error.headers or {}
    message = error_message(error.data)
    wait = rate_limit_wait(status, headers, message, datetime.now(UTC))
    if wait is not None:
        return RateLimited(f"GitHub rate limit ({status}): {message}", wait)
    if status == 403 and "archived" in message.lower():
        return TargetReadOnly(
            f"the GitHub repository is archived, so read-only (GitHub: {message}); unarchive it "
            "on GitHub, or point the connection at another repository"
        )
    if status == 410 and "deleted" in message.lower():
        return NotFound(f"GitHub says the issue was deleted: {message}")
    if status == 410:
        return Invalid(f"GitHub says gone (issues disabled, or the issue was deleted): {message}")
    messages = {
        AuthFailed: f"GitHub refused the token: {message}"
        if status == 401
        else f"GitHub forbids this with the token: {message}",
        NotFound: f"GitHub has no such object (or the token cannot see it): {message}",
        Invalid: f"GitHub refused the request ({status}): {message}",
        Transient: f"GitHub server error ({status}): {message}",
        ConnectorError: f"GitHub answered {status}: {message}",
    }
    # GitHub's 409 (a conflict) and 408 are neither: they stay plain connector errors.
    return error_for_status(status, messages, invalid=(400, 422), transient=())


@contextmanager
def github_errors() -> Iterator[None]:
    try:
        yield
    except GithubException as error:
        raise translate(error) from error
    except (requests.RequestException, http.client.HTTPException, ConnectionError) as error:
        raise Transient(f"GitHub unreachable: {error.__class__.__name__}: {error}") from error
    except json.JSONDecodeError as error:
        # A body cut short by a dropped connection does not parse.
        raise Transient(f"GitHub answer cut short: {error}") from error


def _json_or_none(body: str | None) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _guard_requester(requester: Requester, address_policy: AddressPolicy) -> None:
    """Make every connection of ``requester`` go through the address guard.

    PyGithub opens a fresh ``requests.Session`` per connection object and takes no session from
    outside; its documented hook, ``Requester.injectConnectionClasses``, is process-wide. These
    instance attributes (the name-mangled fields that hook sets on the class) give one Github
    client connection classes whose sessions carry the guard.
    """

    class GuardedHTTP(HTTPRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guard_session(self.session, address_policy)

    class GuardedHTTPS(HTTPSRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guard_session(self.session, address_policy)

    https = urlsplit(requester.base_url).scheme == "https"
    vars(requester).update(
        {
            "_Requester__httpConnectionClass": GuardedHTTP,
            "_Requester__httpsConnectionClass": GuardedHTTPS,
            "_Requester__connectionClass": GuardedHTTPS if https else GuardedHTTP,
        }
    )


class GitHubClient:
    """The requests one connector makes; every method returns GitHub's JSON as a dict."""

    def __init__(self, config: GitHubConfig) -> None:
        self.github = Github(
            auth=Auth.Token(config.token.get_secret_value()),
            base_url=config.base_url,
            timeout=int(config.timeout_seconds),
            per_page=config.page_size,
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=None,
            lazy=True,
        )
        _guard_requester(self.github.requester, config.address_policy)
        self.base_url = config.base_url
        self.repo = self.github.get_repo(config.scope)

    @property
    def rate_limit(self) -> RateLimitState:
        remaining, limit = self.github.requester.rate_limiting
        reset = self.github.requester.rate_limiting_resettime
        if limit < 0:
            return RateLimitState()
        reset_at = datetime.fromtimestamp(reset, UTC) if reset else None
        return RateLimitState(limit=limit, remaining=remaining, reset_at=reset_at)

    def repository(self) -> dict[str, Any]:
        """The repository, or Invalid naming ``base_url`` when the answer is not GitHub's."""
        with github_errors():
            status, headers, body = self.github.requester.requestJson("GET", self.repo.url)
            if status >= 400:
                data = _json_or_none(body)
                raise self.github.requester.createException(status, headers, data or {})
        data = _json_or_none(body)
        if (
            status != 200
            or not isinstance(data, dict)
            or "full_name" not in data
            or not isinstance(data.get("permissions", {}), dict)
        ):
            answer = describe_answer(
                status, lower_keys(headers).get("content-type"), len(body or "")
            )
            found = "" if data is None else f", {json_shape(data)} not shaped as a repository"
            url = self.repo.url if "://" in self.repo.url else f"{self.base_url}{self.repo.url}"
            raise Invalid(f"{url} answered {answer}{found}; is this the GitHub API address?")
        return data

    def create_issue(
        self, title: str, body: str, labels: list[str], assignees: list[str], milestone: int | None
    ) -> dict[str, Any]:
        with github_errors():
            issue = self.repo.create_issue(
                title=title,
                body=body,
                labels=labels,
                assignees=assignees,
                milestone=self.repo.get_milestone(milestone) if milestone is not None else NotSet,
            )
            return dict(issue.raw_data)

    def get_issue(self, number: int) -> dict[str, Any]:
        with github_errors():
            try:
                return self.request("GET", f"{self.repo.url}/issues/{number}")
            except RedirectRefused as redirect:
                raise self.issue_moved(number, redirect) from redirect

    def get_issue_if_changed(
        self, number: int, etag: str | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The issue and its ETag, or (None, etag) when GitHub answers 304 to ``etag``: such an
        answer costs no rate limit. A transferred issue raises ObjectMoved as in ``get_issue``."""
        headers = {"If-None-Match": etag} if etag else {}
        url = f"{self.repo.url}/issues/{number}"
        with github_errors():
            try:
                status, response_headers, body = self.github.requester.requestJson(
                    "GET", url, None, headers
                )
            except RedirectRefused as redirect:
                raise self.issue_moved(number, redirect) from redirect
            if status == 304:
                return None, etag
            data = _json_or_none(body)
            if status >= 400:
                raise self.github.requester.createException(status, response_headers, data or {})
        if 300 <= status < 400 or not isinstance(data, dict):
            return self.get_issue(number), None  # a redirect: answered (or refused) as a GET
        return data, lower_keys(response_headers).get("etag")

    def edit_issue(self, number: int, payload: dict[str, Any]) -> dict[str, Any]:
        with github_errors():
            try:
                return self.request("PATCH", f"{self.repo.url}/issues/{number}", payload)
            except RedirectRefused as redirect:
                raise self.issue_moved(number, redirect) from redirect

    def issue_moved(self, number: int, redirect: RedirectRefused) -> ConnectorError:
        """A transferred issue's 301 as ObjectMoved naming its new repository and number.

        GitHub points at ``/repositories/{id}/issues/{n}``; the repository's name is read from
        ``/repositories/{id}`` (a plain GET, no redirect followed). Any other redirect stays
        refused.
        """
        found = TRANSFERRED_ISSUE.search(urlsplit(redirect.location).path)
        if redirect.status != 301 or found is None:
            return redirect
        repository_url = redirect.location[: redirect.location.rindex("/issues/")]
        repository = self.request("GET", repository_url)
        full_name = str(repository.get("full_name") or "")
        if not full_name:
            return redirect
        new_number = found.group(2)
        url = f"{repository.get('html_url')}/issues/{new_number}"
        ref = RemoteRef(new_number, f"{full_name}#{new_number}", url)
        return ObjectMoved(
            f"GitHub issue #{number} was transferred to {full_name}#{new_number}", full_name, ref
        )

    def create_milestone(self, title: str, description: str, due_on: date | None) -> dict[str, Any]:
        with github_errors():
            milestone = self.repo.create_milestone(
                title=title,
                description=description,
                due_on=due_on if due_on is not None else NotSet,
            )
            return dict(milestone.raw_data)

    def get_milestone(self, number: int) -> dict[str, Any]:
        with github_errors():
            return self.request("GET", f"{self.repo.url}/milestones/{number}")

    def edit_milestone(self, number: int, payload: dict[str, Any]) -> dict[str, Any]:
        with github_errors():
            return self.request("PATCH", f"{self.repo.url}/milestones/{number}", payload)

    def create_hook(self, url: str, secret: str) -> int:
        with github_errors():
            config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
            hook = self.repo.create_hook("web", config, events=["issues"], active=True)
            return int(hook.id)

    def list_page(
        self, path_or_url: str, parameters: dict[str, Any] | None = None, etag: str | None = None
    ) -> Page:
        """One page of a list, conditional on ``etag`` (a 304 costs no rate limit)."""
        headers = {"If-None-Match": etag} if etag else {}
        with github_errors():
            status, response_headers, body = self.github.requester.requestJson(
                "GET", path_or_url, parameters, headers
            )
            lowered = lower_keys(response_headers)
            if status == 304:
                return Page(304, [], etag, None, server_time(lowered))
            data = json.loads(body) if body else None
            if status >= 400:
                raise self.github.requester.createException(status, response_headers, data or {})
            rows = data if isinstance(data, list) else []
            return Page(
                status,
                rows,
                lowered.get("etag"),
                next_link(lowered.get("link")),
                server_time(lowered),
            )

    def request(self, verb: str, url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        _, data = self.github.requester.requestJsonAndCheck(verb, url, input=payload)
        return dict(data or {})

    def close(self) -> None:
        self.github.close()
