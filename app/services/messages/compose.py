"""The words of the messages people receive: the weekly check-in request (and its follow-up), as
text and HTML, with the person's week at a glance when given."""

from __future__ import annotations

from datetime import datetime
from html import escape

from app.models import ActionItem
from app.services.checkin_drafts import CheckInDraft
from app.services.messages.outbox import Message
from app.services.owner_week import OwnerWeek

CHECKIN_REQUEST = "checkin_request"
CHECKIN_FOLLOW_UP = "checkin_follow_up"


def _quoted(titles: list[str]) -> str:
    quoted = [f'"{title}"' for title in titles]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _work_sentences(draft: CheckInDraft, *, waiting_too: bool) -> list[str]:
    """What the person did and (unless the week at a glance lists it) what waits, from the same
    draft the check-in page shows."""
    finished = [item.title for goal in draft.goals for item in goal.finished]
    started = [item.title for goal in draft.goals for item in goal.started]
    blocked = [item.title for goal in draft.goals for item in goal.blocked]
    overdue = [item.title for goal in draft.goals for item in goal.overdue]
    sentences = []
    done = [f"finished {_quoted(finished)}"] if finished else []
    done += [f"started {_quoted(started)}"] if started else []
    if done:
        sentences.append("Since your last check-in you " + " and ".join(done) + ".")
    waiting = (
        [f"{_quoted(blocked)} {'is' if len(blocked) == 1 else 'are'} blocked"] if blocked else []
    )
    waiting += (
        [f"{_quoted(overdue)} {'is' if len(overdue) == 1 else 'are'} overdue"] if overdue else []
    )
    if waiting and waiting_too:
        sentences.append(" and ".join(waiting) + ".")
    return sentences


def _listed(items: list[ActionItem], *, due: bool) -> str:
    return ", ".join(
        f'"{item.title}"' + (f" (due {item.due_date:%a %-d %b})" if due else "") for item in items
    )


def _glance_lines(glance: OwnerWeek | None) -> list[str]:
    """The week at a glance: due in the next 7 days, overdue, blocked (empty lists left out)."""
    if glance is None:
        return []
    lines = []
    if glance.due_soon:
        lines.append(f"Due in the next 7 days: {_listed(glance.due_soon, due=True)}")
    if glance.overdue:
        lines.append(f"Overdue: {_listed(glance.overdue, due=True)}")
    if glance.blocked:
        lines.append(f"Blocked: {_listed(glance.blocked, due=False)}")
    return lines


def checkin_request(
    draft: CheckInDraft,
    url: str,
    expires_at: datetime,
    *,
    glance: OwnerWeek | None = None,
    follow_up: bool = False,
) -> Message:
    """The weekly request to check in (or its follow-up), with the person's own link."""
    first_name = draft.person.name.split()[0] if draft.person.name.split() else draft.person.name
    sentences = _work_sentences(draft, waiting_too=glance is None)
    opening = "You have not checked in yet." if follow_up else ""
    question = " ".join(
        part for part in [opening, "How are your goals going this week?", *sentences] if part
    )
    glance_lines = _glance_lines(glance)
    until = expires_at.date().isoformat()
    text = "\n\n".join(
        [
            f"Hello {first_name},",
            question,
            *(
                ["Your week at a glance:\n" + "\n".join(f"- {line}" for line in glance_lines)]
                if glance_lines
                else []
            ),
            f"Check in (about a minute, no password needed):\n{url}",
            f"This link works until {until}.",
        ]
    )
    glance_html = (
        "<p>Your week at a glance:</p><ul>"
        + "".join(f"<li>{escape(line)}</li>" for line in glance_lines)
        + "</ul>"
        if glance_lines
        else ""
    )
    html = "".join(
        [
            f"<p>Hello {escape(first_name)},</p>",
            f"<p>{escape(question)}</p>",
            glance_html,
            f'<p><a href="{escape(url)}">Check in</a> (about a minute, no password needed)</p>',
            f"<p>This link works until {until}.</p>",
        ]
    )
    return Message(
        kind=CHECKIN_FOLLOW_UP if follow_up else CHECKIN_REQUEST,
        iso_week=str(draft.week),
        subject=("Reminder: your" if follow_up else "Your") + f" check-in for {draft.week}",
        text=text + "\n",
        html=html,
    )
