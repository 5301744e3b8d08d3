"""Search routes of the Jira emulator: Cloud's ``search/jql`` and Data Center's classic ``search``.

Cloud: ``nextPageToken`` pages, no ``total``, results from the lagging index; the old ``search``
answers 410 there. Data Center: ``startAt`` / ``maxResults`` / ``total``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.trackers.jira import jql
from tests.trackers.jira.formats import Formats, error_body
from tests.trackers.jira.store import Issue, JiraStore

SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
MAX_RESULTS = 100
# "Accepts max 50 ids" (reconcileIssues, Jira Cloud platform REST API, search/jql).
MAX_RECONCILE = 50


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


class SearchRoutes:
    store: JiraStore
    cloud: bool
    # Issues the search routes have answered with, for tests that count what a poll costs.
    issues_returned: int = 0

    def version(self, request: Request) -> str | None:
        raise NotImplementedError

    def formats(self) -> Formats:
        raise NotImplementedError

    async def _json(self, request: Request) -> dict[str, Any] | None:
        raise NotImplementedError

    @staticmethod
    def wanted_fields(values: list[str], default: set[str] | None) -> set[str] | None:
        raise NotImplementedError

    async def _search_params(self, request: Request) -> dict[str, Any]:
        if request.method == "POST":
            body = await self._json(request) or {}
            fields = body.get("fields") or []
            return {**body, "fields": [fields] if isinstance(fields, str) else list(fields)}
        params = request.query_params
        return {
            "jql": params.get("jql", ""),
            "fields": params.getlist("fields"),
            "maxResults": params.get("maxResults"),
            "nextPageToken": params.get("nextPageToken"),
            "startAt": params.get("startAt"),
            "reconcileIssues": params.getlist("reconcileIssues"),
        }

    def _reconcile(self, values: Any) -> frozenset[int]:
        """``reconcileIssues``: repeated or comma-separated in a query, an array in a body."""
        raw = values if isinstance(values, list) else [values] if values is not None else []
        parts = [part for value in raw for part in str(value).split(",") if part.strip()]
        try:
            ids = frozenset(int(part) for part in parts)
        except ValueError as error:
            raise ValueError("reconcileIssues must be a list of issue ids.") from error
        if len(ids) > MAX_RECONCILE:
            raise ValueError(f"reconcileIssues accepts at most {MAX_RECONCILE} issue ids.")
        return ids

    def _matching(self, text: str, reconcile: frozenset[int] = frozenset()) -> list[Issue]:
        store = self.store
        projects = (store.project_key, "10000", store.project_name)
        query = jql.parse(text, store.time_zone, store.now(), projects, store.existing_issues())
        found = []
        for issue in self.store.searchable(reconcile):
            row = {
                "project": issue.project,
                "id": issue.id,
                "labels": issue.labels,
                "key": issue.key,
                "issuetype": issue.issue_type,
                "status": issue.status.name,
                "statuscategory": issue.status.category,
                "resolution": issue.resolution,
                "summary": issue.summary,
                "assignee": issue.assignee,
                "assignee_is_current_user": issue.assignee == self.store.api_user,
                "duedate": issue.duedate,
                "updated": issue.updated,
                "created": issue.created,
            }
            if query.predicate(row):
                found.append(issue)
        found.sort(key=lambda issue: issue.id)
        for name, descending in reversed(query.order or [("created", True)]):
            attribute = {"updated": "updated", "created": "created"}.get(name, "id")
            found.sort(key=lambda issue: getattr(issue, attribute), reverse=descending)
        return found

    async def search_jql(self, request: Request) -> Response:
        version = self.version(request)
        if version is None or not self.cloud:
            return json_response(error_body("Not found"), 404)
        params = await self._search_params(request)
        text = str(params.get("jql") or "")
        try:
            if not text.strip() or not jql.parse(text, self.store.time_zone).bounded:
                raise jql.JqlError(UNBOUNDED)
            found = self._matching(text, self._reconcile(params.get("reconcileIssues")))
            offset = _decode_token(params.get("nextPageToken"))
            size = _page_size(params.get("maxResults"), 50)
        except (jql.JqlError, ValueError) as error:
            return json_response(error_body(*map(str, error.args)), 400)
        page = found[offset : offset + size]
        self.issues_returned += len(page)
        wanted = self.wanted_fields(params.get("fields") or [], set())
        body: dict[str, Any] = {
            "issues": [self.formats().issue(issue, version, wanted) for issue in page],
            "isLast": offset + size >= len(found),
        }
        if not body["isLast"]:
            body["nextPageToken"] = _encode_token(offset + size)
        return json_response(body)

    async def search_classic(self, request: Request) -> Response:
        version = self.version(request)
        if version is None:
            return json_response(error_body("Not found"), 404)
        if self.cloud:
            return json_response(error_body(SEARCH_GONE), 410)
        params = await self._search_params(request)
        try:
            found = self._matching(str(params.get("jql") or ""))
            start = int(params.get("startAt") or 0)
            size = _page_size(params.get("maxResults"), 50)
        except (jql.JqlError, ValueError) as error:
            return json_response(error_body(*map(str, error.args)), 400)
        wanted = self.wanted_fields(params.get("fields") or [], None)
        self.issues_returned += len(found[start : start + size])
        return json_response(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": [
                    self.formats().issue(issue, version, wanted)
                    for issue in found[start : start + size]
                ],
            }
        )


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError("The nextPageToken is invalid or expired.") from error


def _page_size(value: Any, default: int) -> int:
    size = int(value) if value not in (None, "") else default
    if size < 0:
        raise ValueError("maxResults must not be negative.")
    return min(size, MAX_RESULTS) or default
