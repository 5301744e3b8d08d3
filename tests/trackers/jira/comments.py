"""Comment routes of the Jira emulator: ``POST issue/{key}/comment`` and its read-back.

Real shape (REST v3 and v2): 201 with ``{self, id, author, body, updateAuthor, created, updated,
jsdPublic}``; v3 takes and answers ADF, v2 a wiki string. A v3 body that is not an ADF document is
refused with 400, as Cloud does.
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.trackers.jira.formats import Formats, error_body, jira_time
from tests.trackers.jira.store import JiraStore

NOT_FOUND = "Issue does not exist or you do not have permission to see it."


@dataclass(frozen=True)
class Comment:
    id: int
    issue_id: int
    body: Any  # ADF document (v3) or wiki string (v2), as sent
    created: datetime


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


class CommentRoutes:
    store: JiraStore
    comments: list[Comment]

    def version(self, request: Request) -> str | None:
        raise NotImplementedError

    def formats(self) -> Formats:
        raise NotImplementedError

    def comments_on(self, key: str) -> list[Comment]:
        """The comments of an issue, oldest first (for tests acting as a reader)."""
        issue = self.store.issue(key)
        with self.store.lock:
            return [comment for comment in self.comments if issue and comment.issue_id == issue.id]

    def _comment_json(self, comment: Comment, version: str) -> dict[str, Any]:
        formats = self.formats()
        author = formats.user(self.store.api_user, version)
        body = comment.body
        if version != "3" and isinstance(body, dict):
            body = json.dumps(body)  # never happens through the connector; keeps v2 a string
        return {
            "self": f"{formats.api(version)}/issue/{comment.issue_id}/comment/{comment.id}",
            "id": str(comment.id),
            "author": author,
            "body": body,
            "updateAuthor": author,
            "created": jira_time(comment.created),
            "updated": jira_time(comment.created),
            "jsdPublic": True,
        }

    async def issue_comments(self, request: Request) -> Response:
        version = self.version(request)
        issue = self.store.issue(str(request.path_params["key"]))
        if version is None or issue is None:
            return json_response(error_body(NOT_FOUND), 404)
        if request.method == "GET":
            found = self.comments_on(issue.key)
            return json_response(
                {
                    "startAt": 0,
                    "maxResults": 5000,
                    "total": len(found),
                    "comments": [self._comment_json(comment, version) for comment in found],
                }
            )
        try:
            sent = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return json_response(error_body("Unexpected request body."), 400)
        body = sent.get("body") if isinstance(sent, dict) else None
        wants_document = version == "3"
        if wants_document and not (isinstance(body, dict) and body.get("type") == "doc"):
            return json_response(error_body(comment="Comment body is not valid!"), 400)
        if not wants_document and not (isinstance(body, str) and body.strip()):
            return json_response(error_body(comment="Comment body can not be empty!"), 400)
        with self.store.lock:
            comment = Comment(10000 + len(self.comments), issue.id, body, self.store.now())
            self.comments.append(comment)
        return json_response(self._comment_json(comment, version), 201)
