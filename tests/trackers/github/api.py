"""The GitHub REST surface of the emulator: the issue, milestone and hook endpoints planbridge uses.

Every answer carries GitHub's headers (x-ratelimit-*, etag on GETs) and error bodies
(``{"message", "documentation_url"}``); limits and faults are applied before the endpoint runs.
Reference: https://docs.github.com/en/rest/issues and
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.trackers.faults import Fault, apply_latency, drop_connection
from tests.trackers.github.emulator import GitHubEmulator, ValidationError
from tests.trackers.github.limits import CONTENT_CREATING, points_of
from tests.trackers.github.store import DOCS, Repository, error_body, validation_failed

RATE_LIMIT_DOCS = f"{DOCS}/using-the-rest-api/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
ANONYMOUS_LIMIT = 60
RATE_LIMIT_ENDPOINT = "GET /rate_limit"
REDIRECT_DOCS = f"{DOCS}/guides/best-practices-for-using-the-rest-api#follow-redirects"
ARCHIVED_MESSAGE = "Repository was archived so is read-only."


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, body, headers or {}


class DroppedConnection(Response):
    """A response that never finishes: the client sees the connection close."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await drop_connection(send)


Handler = Callable[[Request], Awaitable[tuple[int, Any, dict[str, str]]]]


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def parse_github_time(value: str, field_name: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, validation_failed("Issue", field_name, "invalid", value)) from None


class GitHubApi:
    """Builds the Starlette app around a ``GitHubEmulator``."""

    def __init__(self, emulator: GitHubEmulator) -> None:
        self.emulator = emulator
        repo = "/repos/{owner}/{repo}"
        issue = repo + "/issues/{number:int}"
        milestone = repo + "/milestones/{number:int}"
        by_id = "/repositories/{repository_id:int}"
        routes = [
            self.route("GET", "/rate_limit", self.rate_limit),
            self.route("GET", "/issues", self.list_my_issues),
            self.route("GET", repo, self.get_repository),
            # Where GitHub's 301s point: a repository (renamed, or an issue's new home) by id.
            self.route("GET", by_id, self.get_repository),
            self.route("GET", by_id + "/issues/{number:int}", self.get_issue),
            self.route("GET", repo + "/issues", self.list_issues),
            self.route("POST", repo + "/issues", self.create_issue),
            self.route("GET", issue, self.get_issue),
            self.route("PATCH", issue, self.edit_issue),
            self.route("GET", issue + "/comments", self.list_comments),
            self.route("GET", repo + "/labels/{name}", self.get_label),
            self.route("GET", repo + "/milestones", self.list_milestones),
            self.route("POST", repo + "/milestones", self.create_milestone),
            self.route("GET", milestone, self.get_milestone),
            self.route("PATCH", milestone, self.edit_milestone),
            self.route("POST", repo + "/hooks", self.create_hook),
        ]
        # Anything else, any method: GitHub's JSON 404, through the same envelope.
        every_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        routes.append(
            Route(
                emulator.api_prefix + "/{rest:path}",
                self.endpoint(self.not_found, "unknown"),
                methods=every_method,
            )
        )
        self.app = Starlette(routes=routes)

    def route(self, method: str, path: str, handler: Handler) -> Route:
        endpoint = f"{method} {path}"
        return Route(
            self.emulator.api_prefix + path, self.endpoint(handler, endpoint), methods=[method]
        )

    # -- the envelope every request goes through ---------------------------------------------

    def endpoint(self, handler: Handler, endpoint: str) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            return await self.answer(request, handler, endpoint)

        return run

    async def answer(self, request: Request, handler: Handler, endpoint: str) -> Response:
        emulator = self.emulator
        fault = emulator.faults.take(request.method, request.url.path)
        if fault is not None and fault.kind == "latency":
            await apply_latency(fault)
            fault = None
        token = self.token_of(request)
        status, headers = 200, {}
        try:
            if token is None:
                raise ApiError(401, error_body("Bad credentials", DOCS, 401))
            self.check_limits(request, token, endpoint)
            if fault is not None and fault.kind == "drop_connection":
                self.log(request, 0)
                return DroppedConnection()
            if fault is not None and fault.kind in ("rate_limit", "server_error"):
                raise self.fault_error(fault, token)
            status, data, headers = await handler(request)
        except ApiError as error:
            status, data, headers = error.status, error.body, error.headers
        except ValidationError as invalid:
            status = 422
            data = validation_failed(
                invalid.resource, invalid.field_name, invalid.code, invalid.value
            )
        if fault is not None and fault.kind == "lose_create_response" and status < 300:
            self.count(request, token, status, endpoint)
            self.log(request, 0)
            return DroppedConnection()
        body = json_bytes(data)
        headers = {"content-type": "application/json; charset=utf-8", **headers}
        if request.method == "GET" and status == 200:
            etag = 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'
            headers["etag"] = etag
            if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
                # A 304 "does not count against your primary rate limit" (GitHub best practices).
                status, body = 304, b""
                headers.pop("content-type")
        if token is not None:
            self.count(request, token, status, endpoint)
        headers = {**self.rate_headers(token), **headers}
        # The emulator's own clock: uvicorn's Date header is switched off (harness.py).
        headers["date"] = email.utils.format_datetime(emulator.clock.now(), usegmt=True)
        headers["x-github-request-id"] = uuid.uuid4().hex[:20].upper()
        headers["x-github-api-version-selected"] = "2022-11-28"
        self.log(request, status)
        return Response(body, status_code=status, headers=headers)

    def token_of(self, request: Request) -> str | None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and credential in self.emulator.tokens:
            return credential
        return None

    def primary_window(self, token: str) -> tuple[float, int]:
        now = self.emulator.clock.timestamp()
        started, used = self.emulator.primary_windows.get(token, (now, 0))
        if now >= started + 3600:
            started, used = now, 0
        self.emulator.primary_windows[token] = (started, used)
        return started, used

    def rate_headers(self, token: str | None) -> dict[str, str]:
        if token is None:
            reset = math.ceil(self.emulator.clock.timestamp() + 3600)
            limit, used = ANONYMOUS_LIMIT, 0
        else:
            started, used = self.primary_window(token)
            limit, reset = self.emulator.primary_limit, math.ceil(started + 3600)
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }

    def check_limits(self, request: Request, token: str, endpoint: str) -> None:
        if endpoint == RATE_LIMIT_ENDPOINT:
            return  # "does not count against your primary rate limit" (GitHub's docs)
        _, used = self.primary_window(token)
        if used >= self.emulator.primary_limit:
            message = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support..."
            raise ApiError(403, error_body(message, RATE_LIMIT_DOCS, 403))
        waits: list[float] = []
        if request.method in CONTENT_CREATING:
            waits += [
                wait
                for limiter in self.emulator.secondary_limits
                if (wait := limiter.retry_after(token)) is not None
            ]
        points_wait = self.emulator.endpoint_points.retry_after(
            f"{token} {endpoint}", points_of(request.method)
        )
        if waits or points_wait is not None:
            # GitHub answers a secondary limit with 403 or 429; the emulator uses both: 403 for
            # content creation, 429 for an endpoint's points.
            status = 403 if waits else 429
            wait = max([*waits, points_wait or 0.0])
            message = SECONDARY_MESSAGE.format(request_id=uuid.uuid4().hex[:16].upper())
            headers = {"retry-after": str(max(1, math.ceil(wait)))}
            raise ApiError(status, error_body(message, RATE_LIMIT_DOCS, status), headers)

    def fault_error(self, fault: Fault, token: str) -> ApiError:
        if fault.kind == "server_error":
            status = int(fault.options.get("status", 502))
            return ApiError(status, {"message": "Server Error"})
        wait = float(fault.options.get("retry_after", 60))
        status = int(fault.options.get("status", 429))
        if fault.options.get("primary"):
            # Primary limit spent: remaining 0 and the reset epoch, no retry-after (GitHub docs).
            headers = {
                **self.rate_headers(token),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(math.ceil(self.emulator.clock.timestamp() + wait)),
            }
            return ApiError(
                status,
                error_body("API rate limit exceeded for user ID 1.", RATE_LIMIT_DOCS),
                headers,
            )
        message = SECONDARY_MESSAGE.format(request_id="F00D")
        return ApiError(
            status, error_body(message, RATE_LIMIT_DOCS), {"retry-after": str(math.ceil(wait))}
        )

    def count(self, request: Request, token: str, status: int, endpoint: str) -> None:
        if endpoint == RATE_LIMIT_ENDPOINT:
            return
        if status != 304:
            started, used = self.primary_window(token)
            self.emulator.primary_windows[token] = (started, used + 1)
        if status in (403, 429) and request.method not in ("GET", "HEAD"):
            return  # a refused write created nothing
        self.emulator.endpoint_points.record(f"{token} {endpoint}", points_of(request.method))
        if request.method in CONTENT_CREATING and status < 300:
            for limiter in self.emulator.secondary_limits:
                limiter.record(token)

    def log(self, request: Request, status: int) -> None:
        query = f"?{request.url.query}" if request.url.query else ""
        self.emulator.request_log.append((request.method, request.url.path + query, status))

    # -- endpoints -----------------------------------------------------------------------------

    def repository_for(self, request: Request, issues: bool = False) -> Repository:
        """The repository a request names, by owner/name or by id; 404 and 410 as GitHub."""
        params = request.path_params
        if "repository_id" in params:
            repo = self.emulator.repository_by_id(int(params["repository_id"]))
        else:
            repo = self.emulator.repository_named(f"{params['owner']}/{params['repo']}")
        if repo is None:
            raise ApiError(
                404, error_body("Not Found", f"{DOCS}/repos/repos#get-a-repository", 404)
            )
        if issues and not repo.has_issues:
            raise ApiError(
                410, error_body("Issues are disabled for this repo", f"{DOCS}/issues", 410)
            )
        if repo.archived and request.method in CONTENT_CREATING:
            raise ApiError(403, error_body(ARCHIVED_MESSAGE, f"{DOCS}/repos/repos", 403))
        return repo

    async def body(self, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ApiError(400, error_body("Problems parsing JSON", DOCS, 400)) from None
        if not isinstance(data, dict):
            raise ApiError(400, error_body("Problems parsing JSON", DOCS, 400))
        return data

    async def not_found(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 404, error_body("Not Found", DOCS, 404), {}

    async def rate_limit(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        token = self.token_of(request)
        core: dict[str, Any] = {}
        for key, value in self.rate_headers(token).items():
            name = key.removeprefix("x-ratelimit-")
            core[name] = value if name == "resource" else int(value)
        reset = math.ceil(self.emulator.clock.timestamp() + 60)
        # Search has its own 30 a minute; the emulator serves no searches, so it stays unused.
        search = {"limit": 30, "remaining": 30, "used": 0, "reset": reset, "resource": "search"}
        return 200, {"resources": {"core": core, "search": search}, "rate": core}, {}

    async def get_repository(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request)
        with self.emulator.lock:
            return 200, self.emulator.formats.repository(repo), {}

    def issue_filter(self, request: Request) -> tuple[str, list[str], datetime | None]:
        query = request.query_params
        state = query.get("state", "open")  # GitHub lists open issues unless asked otherwise
        labels = [name for name in query.get("labels", "").split(",") if name]
        since = parse_github_time(query["since"], "since") if "since" in query else None
        return state, labels, since

    def sorted_issues(self, request: Request, rows: list[Any]) -> list[Any]:
        sort = request.query_params.get("sort", "created")
        descending = request.query_params.get("direction", "desc") == "desc"
        if sort == "updated":
            rows.sort(key=lambda row: (row[1].updated_at, row[1].number), reverse=descending)
        else:
            rows.sort(key=lambda row: (row[1].created_at, row[1].number), reverse=descending)
        return rows

    async def list_issues(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request, issues=True)
        state, labels, since = self.issue_filter(request)
        with self.emulator.lock:
            matching = [
                (repo, issue)
                for issue in repo.issues.values()
                if (state == "all" or issue.state == state)
                and all(name in issue.labels for name in labels)
                and (since is None or issue.updated_at >= since)
            ]
            page, headers = self.paginate(request, self.sorted_issues(request, matching))
            return 200, [self.emulator.formats.issue(r, i) for r, i in page], headers

    async def list_my_issues(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        """``GET /issues``: issues across repositories, assigned to the user unless ``filter``
        says otherwise, each with its ``repository``."""
        login = self.emulator.tokens[self.token_of(request) or ""]
        wanted = request.query_params.get("filter", "assigned")
        state, labels, since = self.issue_filter(request)
        with self.emulator.lock:
            matching = [
                (repo, issue)
                for repo in self.emulator.repositories.values()
                for issue in repo.issues.values()
                if (state == "all" or issue.state == state)
                and all(name in issue.labels for name in labels)
                and (since is None or issue.updated_at >= since)
                and (
                    wanted == "all"
                    or (wanted == "created" and issue.user == login)
                    or (wanted not in ("all", "created") and login in issue.assignees)
                )
            ]
            page, headers = self.paginate(request, self.sorted_issues(request, matching))
            rendered = []
            for repo, issue in page:
                row = self.emulator.formats.issue(repo, issue)
                row["repository"] = self.emulator.formats.repository(repo)
                rendered.append(row)
            return 200, rendered, headers

    def paginate(self, request: Request, rows: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """A page of ``rows`` and the ``link`` header exactly as GitHub writes it."""
        try:
            per_page = min(100, max(1, int(request.query_params.get("per_page", 30))))
            page = max(1, int(request.query_params.get("page", 1)))
        except ValueError:
            raise ApiError(422, validation_failed("Issue", "page", "invalid")) from None
        last = max(1, math.ceil(len(rows) / per_page))
        path = request.url.path.removeprefix(self.emulator.api_prefix)
        base = f"{self.emulator.formats.api_root}{path}"

        def page_url(number: int) -> str:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
            return f"{base}?{urlencode([*params, ('page', str(number))])}"

        links = []
        if page > 1:
            links.append(f'<{page_url(page - 1)}>; rel="prev"')
        if page < last:
            links.append(f'<{page_url(page + 1)}>; rel="next"')
            links.append(f'<{page_url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{page_url(1)}>; rel="first"')
        headers = {"link": ", ".join(links)} if links else {}
        return rows[(page - 1) * per_page : page * per_page], headers

    async def create_issue(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request, issues=True)
        issue = self.emulator.create_issue(await self.body(request), "octocat", repo)
        rendered = self.emulator.issue_json(issue.number, repo)
        return 201, rendered, {"location": rendered["url"]}

    def existing_issue(self, request: Request) -> tuple[Repository, int]:
        """The issue a request names; 301 to its new home when it was transferred, 410 when it
        was deleted, 404 when there never was one (GitHub's "Get an issue")."""
        repo = self.repository_for(request, issues=True)
        number = int(request.path_params["number"])
        if number in repo.transferred:
            repository_id, new_number = repo.transferred[number]
            api_root = self.emulator.formats.api_root
            location = f"{api_root}/repositories/{repository_id}/issues/{new_number}"
            body = error_body("Moved Permanently", REDIRECT_DOCS)
            body["url"] = location
            raise ApiError(301, body, {"location": location})
        if number in repo.deleted_numbers:
            raise ApiError(410, error_body("This issue was deleted", f"{DOCS}/issues/issues", 410))
        if number not in repo.issues:
            raise ApiError(404, error_body("Not Found", f"{DOCS}/issues/issues#get-an-issue", 404))
        return repo, number

    async def get_issue(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo, number = self.existing_issue(request)
        return 200, self.emulator.issue_json(number, repo), {}

    async def edit_issue(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo, number = self.existing_issue(request)
        self.emulator.update_issue(number, await self.body(request), "octocat", repo)
        return 200, self.emulator.issue_json(number, repo), {}

    async def list_comments(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo, number = self.existing_issue(request)
        since = request.query_params.get("since")
        moment = parse_github_time(since, "since") if since else None
        with self.emulator.lock:
            issue = repo.issues[number]
            rows = [c for c in issue.comments if moment is None or c.updated_at >= moment]
            page, headers = self.paginate(request, rows)
            formats = self.emulator.formats
            return 200, [formats.comment(repo, issue, comment) for comment in page], headers

    async def get_label(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request)
        label = repo.labels.get(request.path_params["name"])
        if label is None:
            raise ApiError(404, error_body("Not Found", f"{DOCS}/issues/labels", 404))
        with self.emulator.lock:
            return 200, self.emulator.formats.label(repo, label), {}

    async def list_milestones(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request, issues=True)
        state = request.query_params.get("state", "open")
        with self.emulator.lock:
            rows = [m for m in repo.milestones.values() if state == "all" or m.state == state]
            rows.sort(
                key=lambda m: m.number, reverse=request.query_params.get("direction") == "desc"
            )
            page, headers = self.paginate(request, rows)
            return 200, [self.emulator.formats.milestone(repo, m) for m in page], headers

    async def create_milestone(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request, issues=True)
        milestone = self.emulator.create_milestone(await self.body(request), "octocat")
        with self.emulator.lock:
            return 201, self.emulator.formats.milestone(repo, milestone), {}

    def existing_milestone(self, request: Request) -> tuple[Repository, int]:
        repo = self.repository_for(request, issues=True)
        number = int(request.path_params["number"])
        if number not in repo.milestones:
            raise ApiError(404, error_body("Not Found", f"{DOCS}/issues/milestones", 404))
        return repo, number

    async def get_milestone(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo, number = self.existing_milestone(request)
        with self.emulator.lock:
            return 200, self.emulator.formats.milestone(repo, repo.milestones[number]), {}

    async def edit_milestone(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo, number = self.existing_milestone(request)
        milestone = self.emulator.update_milestone(number, await self.body(request))
        with self.emulator.lock:
            return 200, self.emulator.formats.milestone(repo, milestone), {}

    async def create_hook(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        repo = self.repository_for(request)
        data = await self.body(request)
        hook_id = self.emulator.add_hook(data)
        with self.emulator.lock:
            return 201, self.emulator.formats.hook(repo, hook_id, repo.hooks[hook_id]), {}
