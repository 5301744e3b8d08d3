"""The words of the messages people receive: the weekly check-in request, as text and HTML."""

from __future__ import annotations

from datetime import datetime
from html import escape

from app.services.checkin_drafts import CheckInDraft
from app.services.messages.outbox import Message

CHECKIN_REQUEST = "checkin_request"


def _quoted(titles: list[str]) -> str:
    quoted = [f'"{title}"' for title in titles]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _work_sentences(draft: CheckInDraft) -> list[str]:
    """What the person did and what waits, from the same draft the check-in page shows."""
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
    if waiting:
        sentences.append(" and ".join(waiting) + ".")
    return sentences


def checkin_request(draft: CheckInDraft, url: str, expires_at: datetime) -> Message:
    """The weekly request to check in, with the person's own link."""
    first_name = draft.person.name.split()[0] if draft.person.name.split() else draft.person.name
    sentences = _work_sentences(draft)
    until = expires_at.date().isoformat()
    text = "\n\n".join(
        [
            f"Hello {first_name},",
            " ".join(["How are your goals going this week?", *sentences]),
            f"Check in (about a minute, no password needed):\n{url}",
            f"This link works until {until}.",
        ]
    )
    html = "".join(
        [
            f"<p>Hello {escape(first_name)},</p>",
            "<p>" + escape(" ".join(["How are your goals going this week?", *sentences])) + "</p>",
            f'<p><a href="{escape(url)}">Check in</a> (about a minute, no password needed)</p>',
            f"<p>This link works until {until}.</p>",
        ]
    )
    return Message(
        kind=CHECKIN_REQUEST,
        iso_week=str(draft.week),
        subject=f"Your check-in for {draft.week}",
        text=text + "\n",
        html=html,
    )
