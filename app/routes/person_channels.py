"""``/api/v1/people/{id}/channels``: how a person is reached (e-mail, chat) and their opt-outs."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter

from app.db import utcnow
from app.deps import ReadAuth, SessionDep, SettingsDep, WriteAuth
from app.errors import Forbidden, problem_responses
from app.models import Person, PersonChannels, Scope
from app.routes.rules_beyond_schema import HOST_ALLOWED, IN_WORKSPACE, rules_beyond_schema
from app.schemas.people_loop import ChannelsPublic, ChannelsUpdate
from app.services.messages import channels as person_channels
from app.services.people import get_person

router = APIRouter(prefix="/people/{person_id}/channels", tags=["people"])


def _public(person: Person, channels: PersonChannels) -> ChannelsPublic:
    return ChannelsPublic.model_validate(
        {
            "person_id": person.id,
            "email": person.email,
            "email_enabled": channels.email_enabled,
            "chat_webhook_set": channels.chat_webhook_encrypted is not None,
            "team_id": channels.team_id,
            "nudges_opted_out": channels.nudges_opted_out,
            "reachability": asdict(person_channels.reachability(channels)),
        }
    )


@router.get("", responses=problem_responses(401, 404, 422))
def get_channels(person_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> ChannelsPublic:
    """The chat webhook URL is a credential: only whether one is set is shown."""
    person = get_person(session, auth.workspace_id, person_id)
    return _public(person, person_channels.channels_of(session, person))


@router.patch(
    "",
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra=rules_beyond_schema(
        ("body.chat_webhook_url", HOST_ALLOWED), ("body.team_id", IN_WORKSPACE)
    ),
)
def update_channels(
    person_id: uuid.UUID,
    body: ChannelsUpdate,
    session: SessionDep,
    settings: SettingsDep,
    auth: WriteAuth,
) -> ChannelsPublic:
    """Change channels and opt-outs; a new chat webhook URL passes the same address check as
    subscriptions, and turning e-mail on or setting a webhook clears a recorded refusal. Turning
    a channel off needs an admin token: it can silence the person's weekly reminder."""
    changes = body.model_dump(exclude_unset=True)
    turned_off = person_channels.channels_turned_off(changes)
    if turned_off and not auth.scope.allows(Scope.admin):
        raise Forbidden(
            f"{turned_off[0]}: turning a channel off can stop the person's weekly check-in "
            "reminder, so it needs an admin token (opting out of nudges does not)."
        )
    person, channels = person_channels.update_channels(
        session, auth.workspace_id, person_id, changes, settings, utcnow()
    )
    return _public(person, channels)
