"""``/api/v1/workspace``: the caller's workspace and its settings (the default time zone)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import AdminAuth, ReadAuth, SessionDep
from app.errors import problem_responses
from app.schemas.people_loop import WorkspacePublic, WorkspaceUpdate
from app.services import workspace_settings

router = APIRouter(prefix="/workspace", tags=["workspace"])


@router.get("", responses=problem_responses(401))
def get_workspace(session: SessionDep, auth: ReadAuth) -> WorkspacePublic:
    return WorkspacePublic.model_validate(
        workspace_settings.get_workspace(session, auth.workspace_id)
    )


@router.patch("", responses=problem_responses(401, 403, 413, 422))
def update_workspace(
    body: WorkspaceUpdate, session: SessionDep, auth: AdminAuth
) -> WorkspacePublic:
    """Change the default time zone people without their own live in, the nudges' weekly cap and
    quiet hours (admin tokens)."""
    workspace = workspace_settings.update_workspace(
        session, auth.workspace_id, body.model_dump(exclude_unset=True)
    )
    return WorkspacePublic.model_validate(workspace)
