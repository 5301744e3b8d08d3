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
from tests.trackers.github.store import DOCS, error_body, validation_failed

RATE_LIMIT_DOCS = f"{DOCS}/using-the-rest-api/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
ANONYMOUS_LIMIT = 60


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
        prefix = emulator.api_prefix
        repo = prefix + "/repos/{owner}/{repo}"
        self.app = Starlette(
            routes=[
                Route(prefix + "/rate_limit", self.endpoint(self.rate_limit), methods=["GET"]),
                Route(repo, self.endpoint(self.get_repository), methods=["GET"]),
                Route(repo + "/issues", self.endpoint(self.list_issues), methods=["GET"]),
                Route(repo + "/issues", self.endpoint(self.create_issue), methods=["POST"]),
                Route(
                    repo + "/issues/{number:int}", self.endpoint(self.get_issue), methods=["GET"]
                ),
                Route(
                    repo + "/issues/{number:int}", self.endpoint(self.edit_issue), methods=["PATCH"]
                ),
                Route(repo + "/milestones", self.endpoint(self.list_milestones), methods=["GET"]),
                Route(repo + "/milestones", self.endpoint(self.create_milestone), methods=["POST"]),
                Route(
                    repo + "/milestones/{number:int}",
                    self.endpoint(self.get_milestone),
                    methods=["GET"],
                ),
                Route(
                    repo + "/milestones/{number:int}",
                    self.endpoint(self.edit_milestone),
                    methods=["PATCH"],
                ),
                Route(repo + "/hooks", self.endpoint(self.create_hook), methods=["POST"]),
            ]
        )

    # -- the envelope every request goes through ---------------------------------------------

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            return await self.answer(request, handler)

        return run

    async def answer(self, request: Request, handler: Handler) -> Response:
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
            self.check_limits(request, token)
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
            self.count(request, token, status)
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
            self.count(request, token, status)
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

    def check_limits(self, request: Request, token: str) -> None:
        _, used = self.primary_window(token)
        if used >= self.emulator.primary_limit:
            message = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support..."
            raise ApiError(403, error_body(message, RATE_LIMIT_DOCS))
        if request.method == "POST":
            waits = [limiter.retry_after(token) for limiter in self.emulator.secondary_limits]
            wait = max((w for w in waits if w is not None), default=None)
            if wait is not None:
                message = SECONDARY_MESSAGE.format(request_id=uuid.uuid4().hex[:16].upper())
                headers = {"retry-after": str(max(1, math.ceil(wait)))}
                raise ApiError(403, error_body(message, RATE_LIMIT_DOCS), headers)

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

    def count(self, request: Request, token: str, status: int) -> None:
        if status != 304:
            started, used = self.primary_window(token)
            self.emulator.primary_windows[token] = (started, used + 1)
        if request.method == "POST" and status < 300:
            for limiter in self.emulator.secondary_limits:
                limiter.record(token)

    def log(self, request: Request, status: int) -> None:
        query = f"?{request.url.query}" if request.url.query else ""
        self.emulator.request_log.append((request.method, request.url.path + query, status))

    # -- endpoints -----------------------------------------------------------------------------

    def repository_for(self, request: Request, issues: bool = False) -> None:
        repo = self.emulator.repository
        if (request.path_params["owner"], request.path_params["repo"]) != (repo.owner, repo.name):
            raise ApiError(
                404, error_body("Not Found", f"{DOCS}/repos/repos#get-a-repository", 404)
            )
        if issues and not repo.has_issues:
            raise ApiError(
                410, error_body("Issues are disabled for this repo", f"{DOCS}/issues", 410)
            )

    async def body(self, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ApiError(400, error_body("Problems parsing JSON", DOCS, 400)) from None
        if not isinstance(data, dict):
            raise ApiError(400, error_body("Problems parsing JSON", DOCS, 400))
        return data

    async def rate_limit(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        token = self.token_of(request)
        core = {
            key.removeprefix("x-ratelimit-"): value
            for key, value in self.rate_headers(token).items()
        }
        core = {key: value if key == "resource" else int(value) for key, value in core.items()}
        return 200, {"resources": {"core": core}, "rate": core}, {}

    async def get_repository(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.repository_for(request)
        with self.emulator.lock:
            return 200, self.emulator.formats.repository(self.emulator.repository), {}

    async def list_issues(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.repository_for(request, issues=True)
        query = request.query_params
        state = query.get("state", "open")  # GitHub lists open issues unless asked otherwise
        labels = [name for name in query.get("labels", "").split(",") if name]
        since = parse_github_time(query["since"], "since") if "since" in query else None
        sort = query.get("sort", "created")
        descending = query.get("direction", "desc") == "desc"
        with self.emulator.lock:
            matching = [
                issue
                for issue in self.emulator.repository.issues.values()
                if (state == "all" or issue.state == state)
                and all(name in issue.labels for name in labels)
                and (since is None or issue.updated_at >= since)
            ]
            key = (
                (lambda i: (i.updated_at, i.number))
                if sort == "updated"
                else (lambda i: (i.created_at, i.number))
            )
            matching.sort(key=key, reverse=descending)
            page, headers = self.paginate(request, matching)
            return (
                200,
                [self.emulator.formats.issue(self.emulator.repository, i) for i in page],
                headers,
            )

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
        self.repository_for(request, issues=True)
        issue = self.emulator.create_issue(await self.body(request), "octocat")
        rendered = self.emulator.issue_json(issue.number)
        return 201, rendered, {"location": rendered["url"]}

    def existing_issue(self, request: Request) -> int:
        self.repository_for(request, issues=True)
        number = int(request.path_params["number"])
        if number in self.emulator.repository.deleted_numbers:
            raise ApiError(410, error_body("This issue was deleted", f"{DOCS}/issues/issues", 410))
        if number not in self.emulator.repository.issues:
            raise ApiError(404, error_body("Not Found", f"{DOCS}/issues/issues#get-an-issue", 404))
        return number

    async def get_issue(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 200, self.emulator.issue_json(self.existing_issue(request)), {}

    async def edit_issue(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        number = self.existing_issue(request)
        self.emulator.update_issue(number, await self.body(request), "octocat")
        return 200, self.emulator.issue_json(number), {}

    async def list_milestones(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.repository_for(request, issues=True)
        state = request.query_params.get("state", "open")
        with self.emulator.lock:
            repo = self.emulator.repository
            rows = [m for m in repo.milestones.values() if state == "all" or m.state == state]
            rows.sort(
                key=lambda m: m.number, reverse=request.query_params.get("direction") == "desc"
            )
            page, headers = self.paginate(request, rows)
            return 200, [self.emulator.formats.milestone(repo, m) for m in page], headers

    async def create_milestone(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.repository_for(request, issues=True)
        milestone = self.emulator.create_milestone(await self.body(request), "octocat")
        with self.emulator.lock:
            return 201, self.emulator.formats.milestone(self.emulator.repository, milestone), {}

    def existing_milestone(self, request: Request) -> int:
        self.repository_for(request, issues=True)
        number = int(request.path_params["number"])
        if number not in self.emulator.repository.milestones:
            raise ApiError(404, error_body("Not Found", f"{DOCS}/issues/milestones", 404))
        return number

    async def get_milestone(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        number = self.existing_milestone(request)
        with self.emulator.lock:
            repo = self.emulator.repository
            return 200, self.emulator.formats.milestone(repo, repo.milestones[number]), {}

    async def edit_milestone(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        number = self.existing_milestone(request)
        milestone = self.emulator.update_milestone(number, await self.body(request))
        with self.emulator.lock:
            return 200, self.emulator.formats.milestone(self.emulator.repository, milestone), {}

    async def create_hook(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.repository_for(request)
        data = await self.body(request)
        hook_id = self.emulator.add_hook(data)
        with self.emulator.lock:
            return 201, self.emulator.formats.hook(self.emulator.repository, hook_id, data), {}
