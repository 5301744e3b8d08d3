"""Transition routes of the Jira emulator: ``GET``/``POST issue/{key}/transitions``.

Each transition has the screen its workflow gives it (store.WORKFLOW_SCREENS). ``GET`` lists a
transition's screen ``fields`` only with ``expand=transitions.fields`` ("Fields hidden from the
screen are not returned"); ``POST`` refuses, with 400, a field in ``fields`` or ``update`` that
"isn't included on the transition screen", as the platform REST API reference says of it:
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-post
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.trackers.jira.formats import Formats, error_body
from tests.trackers.jira.store import RESOLUTIONS, STATUSES, Issue, JiraStore, Status

NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


class TransitionRoutes:
    store: JiraStore

    def version(self, request: Request) -> str | None:
        raise NotImplementedError

    def formats(self) -> Formats:
        raise NotImplementedError

    async def _json(self, request: Request) -> dict[str, Any] | None:
        raise NotImplementedError

    async def transitions(self, request: Request) -> Response:
        version = self.version(request)
        issue = self.store.issue(str(request.path_params["key"]))
        if version is None or issue is None:
            return json_response(error_body(NOT_FOUND), 404)
        available = [status for status in STATUSES if status != issue.status]
        if request.method == "GET":
            with_fields = "transitions.fields" in request.query_params.get("expand", "")
            return json_response(
                {
                    "expand": "transitions",
                    "transitions": [
                        self.transition_body(status, version, with_fields) for status in available
                    ],
                }
            )
        body = await self._json(request) or {}
        wanted = str((body.get("transition") or {}).get("id", ""))
        target = next((status for status in available if status.transition_id == wanted), None)
        if target is None:
            return json_response(
                error_body(f"Transition id '{wanted}' is not valid for this issue."), 400
            )
        # Jira refuses any field the transition's screen does not hold, in `fields` or `update`.
        screen = self.store.screen_fields(target)
        sent = {**(body.get("update") or {}), **(body.get("fields") or {})}
        refused = {
            name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in sent
            if name not in screen
        }
        if refused:
            return json_response(error_body(**refused), 400)
        resolution_field = (body.get("fields") or {}).get("resolution")
        resolution = (
            (resolution_field or {}).get("name") if isinstance(resolution_field, dict) else None
        )
        if resolution_field is not None and resolution not in RESOLUTIONS:
            return json_response(error_body(resolution="Resolution is invalid."), 400)
        self.person_transition(issue, target.name, resolution, user=None)
        return Response(status_code=204)

    def transition_body(self, status: Status, version: str, with_fields: bool) -> dict[str, Any]:
        """One entry of GET transitions; ``fields`` (the screen's) only with that expand."""
        screen = self.store.screen_fields(status)
        body: dict[str, Any] = {
            "id": status.transition_id,
            "name": status.name,
            "to": self.formats().status(status, version),
            "hasScreen": bool(screen),
            "isGlobal": True,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "looped": False,
        }
        if with_fields:
            body["fields"] = {name: self.formats().screen_field(name, version) for name in screen}
        return body

    def person_transition(
        self, issue: Issue, status_name: str, resolution: str | None, user: Any
    ) -> None:
        target = self.store.status_named(status_name)

        def move(current: Issue) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            if current.status != target:
                items.append(
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "fieldId": "status",
                        "from": current.status.id,
                        "fromString": current.status.name,
                        "to": target.id,
                        "toString": target.name,
                    }
                )
                current.status = target
            wanted_resolution = (resolution or "Done") if target.category == "done" else None
            if current.resolution != wanted_resolution:
                items.append(
                    {
                        "field": "resolution",
                        "fieldtype": "jira",
                        "fieldId": "resolution",
                        "from": None,
                        "fromString": current.resolution,
                        "to": None,
                        "toString": wanted_resolution,
                    }
                )
                current.resolution = wanted_resolution
            return items

        self.store.change(issue, move, user=user)
