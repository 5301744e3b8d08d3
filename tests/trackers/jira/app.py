"""The Jira emulator as an ASGI app: REST v2/v3 (Cloud) or v2 (Data Center), over real HTTP.

Outer layer (``JiraEmulator.__call__``): request log, injected faults, authentication, burst limit.
Inner layer: Starlette routes answering in Jira's formats (``formats.py``).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.trackers.faults import (
    EmulatorClock,
    FaultInjector,
    WindowLimiter,
    apply_latency,
    drop_connection,
)
from tests.trackers.jira.comments import Comment, CommentRoutes
from tests.trackers.jira.fields import FieldErrors, changelog_items, validate, validate_create
from tests.trackers.jira.formats import Formats, error_body
from tests.trackers.jira.search import SearchRoutes
from tests.trackers.jira.store import STATUSES, Change, Issue, JiraStore
from tests.trackers.jira.transitions import TransitionRoutes
from tests.trackers.jira.webhooks import WebhookSender, build_delivery

NOT_FOUND = "Issue does not exist or you do not have permission to see it."


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "DELETE") and "/search" not in self.path


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


class JiraEmulator(SearchRoutes, CommentRoutes, TransitionRoutes):
    def __init__(
        self,
        *,
        cloud: bool = True,
        clock: EmulatorClock | None = None,
        index_lag_seconds: float | None = None,
        email: str = "bot@example.com",
        api_token: str = "cloud-api-token",
        personal_access_token: str = "dc-personal-access-token",
        burst_limit: tuple[int, float] | None = None,
        deployment_type: str | None = None,
        workflow: str | None = None,
    ) -> None:
        self.clock = clock or EmulatorClock()
        self.sender = WebhookSender()
        self.store = JiraStore(
            self.clock,
            cloud=cloud,
            index_lag_seconds=(3.0 if cloud else 0.0)
            if index_lag_seconds is None
            else index_lag_seconds,
            # Team-managed Cloud projects use the simplified workflow; Data Center the classic one.
            workflow=workflow or ("simplified" if cloud else "classic"),
            on_change=self._deliver,
        )
        self.cloud = cloud
        self.deployment_type = deployment_type or ("Cloud" if cloud else "Server")
        self.credentials = (email, api_token) if cloud else personal_access_token
        self.faults = FaultInjector()
        self.limiter = WindowLimiter(self.clock, *burst_limit) if burst_limit else None
        self.requests: list[LoggedRequest] = []
        self.comments: list[Comment] = []
        self.base_url = "http://127.0.0.1"  # set by the harness once the port is known
        # A URL the harness configures to receive every change, signed with this secret.
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.versions = {"2", "3", "latest"} if cloud else {"2", "latest"}
        api = "/rest/api/{version}"
        self.app = Starlette(
            routes=[
                Route(f"{api}/serverInfo", self.server_info),
                Route(f"{api}/myself", self.myself),
                Route(f"{api}/field", self.fields),
                Route(f"{api}/project/{{key}}", self.project),
                Route(f"{api}/issue", self.create_issue, methods=["POST"]),
                Route(f"{api}/issue/{{key}}", self.issue, methods=["GET", "PUT", "DELETE"]),
                Route(
                    f"{api}/issue/{{key}}/transitions", self.transitions, methods=["GET", "POST"]
                ),
                Route(f"{api}/issue/{{key}}/assignee", self.assign, methods=["PUT"]),
                Route(f"{api}/issue/{{key}}/comment", self.issue_comments, methods=["GET", "POST"]),
                Route(f"{api}/search/jql", self.search_jql, methods=["GET", "POST"]),
                Route(f"{api}/search", self.search_classic, methods=["GET", "POST"]),
                Route("/rest/webhooks/1.0/webhook", self.admin_webhooks, methods=["GET", "POST"]),
            ]
        )

    # -- outer layer ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.requests.append(LoggedRequest(method, path, scope.get("query_string", b"").decode()))
        send = self._dated(send)
        fault = self.faults.take(method, path)
        if fault is not None:
            if fault.kind == "latency":
                await apply_latency(fault)
            elif fault.kind == "drop_connection":
                await drop_connection(send)
                return
            elif fault.kind == "rate_limit":
                await self.rate_limited(float(fault.options.get("retry_after", 5)), fault.options)(
                    scope, receive, send
                )
                return
            elif fault.kind == "server_error":
                status = int(fault.options.get("status", 500))
                body = error_body("Internal server error")
                headers = (
                    {"Retry-After": str(fault.options["retry_after"])}
                    if "retry_after" in fault.options
                    else None
                )
                await json_response(body, status, headers)(scope, receive, send)
                return
            elif fault.kind == "lose_create_response":
                # The server commits, then the connection dies before the answer is out.
                async def swallow(message: Any) -> None:
                    return None

                await self.app(scope, receive, swallow)
                await drop_connection(send)
                return
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        principal = self.authenticate(headers.get("authorization"))
        if principal is None and not path.endswith("/serverInfo"):
            body = error_body(
                "You are not authenticated. Authentication required to perform this operation."
            )
            await json_response(body, 401, {"WWW-Authenticate": 'Basic realm="protected-area"'})(
                scope, receive, send
            )
            return
        if self.limiter is not None and principal:
            wait = self.limiter.retry_after(principal)
            if wait is not None:
                await self.rate_limited(wait, {})(scope, receive, send)
                return
            self.limiter.record(principal)
        await self.app(scope, receive, send)

    def _dated(self, send: Send) -> Send:
        """Every answer carries a ``Date`` on the emulator clock, as Jira's carry its own time."""
        stamp = format_datetime(self.clock.now(), usegmt=True).encode()

        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        return dated

    def authenticate(self, authorization: str | None) -> str | None:
        """The principal for valid credentials; None for missing or wrong ones (401)."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if self.cloud and scheme.lower() == "basic":
            try:
                email, _, token = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return email if (email, token) == self.credentials else None
        if not self.cloud and scheme.lower() == "bearer" and value == self.credentials:
            return "pat"
        return None

    def rate_limited(self, seconds: float, options: dict[str, Any]) -> Response:
        wait = max(1, math.ceil(seconds))
        if options.get("http_date"):
            # An HTTP date is absolute: it is read against the wall clock, as the Date header is.
            retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=wait), usegmt=True)
        else:
            retry_after = str(wait)
        limit = self.limiter.requests if self.limiter else 100
        reset = self.clock.now() + timedelta(seconds=wait)
        headers = {
            "Retry-After": retry_after,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
            "RateLimit-Reason": str(options.get("reason", "jira-burst-based")),
        }
        return json_response(error_body("Rate limit exceeded."), 429, headers)

    # -- helpers -------------------------------------------------------------------------------

    def formats(self) -> Formats:
        return Formats(self.store, self.base_url)

    def version(self, request: Request) -> str | None:
        version = str(request.path_params["version"])
        return version if version in self.versions else None

    def _deliver(self, change: Change) -> None:
        if not self.webhook_url and not self.store.webhooks:
            return  # nobody listens: skip building the payload (seeding 10,000 issues stays fast)
        payload = self.formats().webhook(change)
        if self.webhook_url:
            self.sender.send(build_delivery(payload, self.webhook_secret, self.webhook_url))
        for hook in self.store.webhooks:
            if change.event in hook["events"]:
                self.sender.send(build_delivery(payload, hook.get("secret"), hook["url"]))

    def delivery_for(self, issue_id: int, secret: str | None) -> tuple[dict[str, str], bytes]:
        change = self.store.latest_change(issue_id)
        if change is None:
            raise LookupError(issue_id)
        delivery = build_delivery(self.formats().webhook(change), secret)
        return delivery.headers, delivery.body

    @staticmethod
    def wanted_fields(values: list[str], default: set[str] | None) -> set[str] | None:
        names = {name.strip() for value in values for name in value.split(",") if name.strip()}
        if not names:
            return default
        if names & {"*all", "*navigable"}:
            return None
        return names

    # -- routes --------------------------------------------------------------------------------

    async def server_info(self, request: Request) -> Response:
        if self.version(request) is None:
            return json_response(error_body("Not found"), 404)
        numbers = [1001, 0, 0] if self.cloud else [9, 12, 15]
        return json_response(
            {
                "baseUrl": self.base_url,
                "version": ".".join(map(str, numbers)) + ("-SNAPSHOT" if self.cloud else ""),
                "versionNumbers": numbers,
                "deploymentType": self.deployment_type,
                "buildNumber": 100260 if self.cloud else 9120015,
                "buildDate": "2026-11-01T00:00:00.000+0000",
                "serverTime": self.formats().field(self._dummy(), "updated", "2"),
                "scmInfo": "emulator",
                "serverTitle": "Jira",
            }
        )

    def _dummy(self) -> Issue:
        now = self.store.now()
        return Issue(0, "X-0", "X", "Task", "", None, STATUSES[0], now, now)

    async def myself(self, request: Request) -> Response:
        version = self.version(request)
        if version is None:
            return json_response(error_body("Not found"), 404)
        return json_response(self.formats().user(self.store.api_user, version))

    async def fields(self, request: Request) -> Response:
        names = [
            "summary",
            "description",
            "status",
            "labels",
            "duedate",
            "assignee",
            "updated",
            "parent",
        ]
        body = [
            {"id": name, "name": name.title(), "custom": False, "clauseNames": [name]}
            for name in names
        ]
        if not self.cloud:
            body.append(
                {
                    "id": self.store.epic_link_field,
                    "name": "Epic Link",
                    "custom": True,
                    "clauseNames": ["Epic Link", f"cf[{self.store.epic_link_field[12:]}]"],
                }
            )
        return json_response(body)

    async def project(self, request: Request) -> Response:
        version = self.version(request)
        key = str(request.path_params["key"])
        if version is None or key.upper() not in (self.store.project_key, "10000"):
            return json_response(error_body(f"No project could be found with key '{key}'."), 404)
        expand = "issueTypes" in request.query_params.get("expand", "")
        return json_response(self.formats().project(version, with_issue_types=expand))

    async def _json(self, request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    async def create_issue(self, request: Request) -> Response:
        version = self.version(request)
        if version is None:
            return json_response(error_body("Not found"), 404)
        body = await self._json(request)
        if body is None or not isinstance(body.get("fields"), dict):
            return json_response(error_body("Unexpected request body: fields are required."), 400)
        try:
            type_name, values = validate_create(self.store, version, body["fields"])
        except FieldErrors as invalid:
            return json_response(error_body(**invalid.errors), 400)

        def build(issue_id: int, key: str, now: datetime) -> Issue:
            issue = Issue(
                issue_id, key, self.store.project_key, type_name, "", None, STATUSES[0], now, now
            )
            for attribute, value in values.items():
                setattr(issue, attribute, value)
            return issue

        issue = self.store.create(build)
        self_url = f"{self.formats().api(version)}/issue/{issue.id}"
        return json_response({"id": str(issue.id), "key": issue.key, "self": self_url}, 201)

    async def issue(self, request: Request) -> Response:
        version = self.version(request)
        issue = self.store.issue(str(request.path_params["key"]))
        if version is None or issue is None:
            return json_response(error_body(NOT_FOUND), 404)
        if request.method == "GET":
            wanted = self.wanted_fields(request.query_params.getlist("fields"), None)
            return json_response(self.formats().issue(issue, version, wanted))
        if request.method == "DELETE":
            self.store.delete(issue)
            return Response(status_code=204)
        body = await self._json(request)
        if body is None:
            return json_response(error_body("Unexpected request body."), 400)
        fields = dict(body.get("fields") or {})
        for operation in (body.get("update") or {}).get("labels") or []:
            labels = list(fields.get("labels", issue.labels))
            if "add" in operation and operation["add"] not in labels:
                labels.append(operation["add"])
            if "remove" in operation and operation["remove"] in labels:
                labels.remove(operation["remove"])
            fields["labels"] = labels
        try:
            values = validate(self.store, version, fields)
        except FieldErrors as invalid:
            return json_response(error_body(**invalid.errors), 400)
        self.store.change(issue, lambda target: changelog_items(self.store, target, values))
        return Response(status_code=204)

    async def assign(self, request: Request) -> Response:
        version = self.version(request)
        issue = self.store.issue(str(request.path_params["key"]))
        if version is None or issue is None:
            return json_response(error_body(NOT_FOUND), 404)
        body = await self._json(request)
        try:
            values = validate(self.store, version, {"assignee": body})
        except FieldErrors as invalid:
            return json_response(error_body(**invalid.errors), 400)
        self.store.change(issue, lambda target: changelog_items(self.store, target, values))
        return Response(status_code=204)

    async def admin_webhooks(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(
                [{k: v for k, v in hook.items() if k != "secret"} for hook in self.store.webhooks]
            )
        body = await self._json(request)
        if body is None or not body.get("url") or not body.get("events"):
            return json_response(error_body(url="A webhook needs a url and events."), 400)
        hook_id = len(self.store.webhooks) + 1
        hook = {
            "self": f"{self.base_url}/rest/webhooks/1.0/webhook/{hook_id}",
            "name": body.get("name", ""),
            "url": body["url"],
            "events": list(body["events"]),
            "filters": body.get("filters") or {},
            "excludeBody": bool(body.get("excludeBody", False)),
            "enabled": True,
            "secret": body.get("secret"),
        }
        self.store.webhooks.append(hook)
        return json_response({k: v for k, v in hook.items() if k != "secret"}, 201)
