"""The words of a nudge: to the item's owner, or to the goal's or plan's owner after it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from app.models import ActionItem, Nudge, NudgeAudience, NudgeReason, Person
from app.services.messages.outbox import Message

NUDGE = "nudge"
OPT_OUT = (
    "You can stop these nudges with the unsubscribe link of this e-mail (the weekly check-in "
    "request still comes; an admin can change that)."
)


@dataclass(frozen=True)
class NudgeSubject:
    """What a nudge is about, read once by the sender."""

    item: ActionItem
    goal_title: str
    plan_name: str
    owner: Person


def _what(subject: NudgeSubject, reason: NudgeReason) -> str:
    item = subject.item
    if reason == NudgeReason.overdue:
        return (
            f"was due on {item.due_date.isoformat()} and is still {item.status.replace('_', ' ')}"
        )
    if reason == NudgeReason.blocked:
        return "has been blocked for more than 2 working days"
    return "looks stale: no activity for a while, or not started in time for its due date"


def _headline(subject: NudgeSubject, reason: NudgeReason) -> str:
    return {
        NudgeReason.overdue: f'"{subject.item.title}" is overdue',
        NudgeReason.blocked: f'"{subject.item.title}" is blocked',
        NudgeReason.stale: f'"{subject.item.title}" looks stale',
    }[reason]


def _ask(subject: NudgeSubject, nudge: Nudge) -> str:
    if nudge.audience == NudgeAudience.owner:
        return {
            NudgeReason.overdue: "If it is done, mark it done; if the date no longer holds, "
            "move it; if you are stuck, say so in your check-in.",
            NudgeReason.blocked: "What would unblock it? Say so in your check-in so someone "
            "can help.",
            NudgeReason.stale: "Is it still the plan? Move it on, change its dates, or drop it.",
        }[nudge.reason]
    role = "goal" if nudge.audience == NudgeAudience.goal_owner else "plan"
    return (
        f"{subject.owner.name} was told 3 working days ago or more and nothing has moved since. "
        f"You own the {role}: could you check in with them?"
    )


def nudge_message(nudge: Nudge, subject: NudgeSubject, recipient: Person, iso_week: str) -> Message:
    """The nudge as text and HTML; ``topic`` names item, reason and stage (the outbox's key)."""
    first_name = recipient.name.split()[0] if recipient.name.split() else recipient.name
    whose = "Your item" if nudge.audience == NudgeAudience.owner else f"{subject.owner.name}'s item"
    context = f'(goal "{subject.goal_title}", plan "{subject.plan_name}")'
    fact = f'{whose} "{subject.item.title}" {context} {_what(subject, nudge.reason)}.'
    ask = _ask(subject, nudge)
    text = "\n\n".join([f"Hello {first_name},", fact, ask, OPT_OUT]) + "\n"
    html = "".join(
        f"<p>{escape(part)}</p>" for part in (f"Hello {first_name},", fact, ask, OPT_OUT)
    )
    return Message(
        kind=NUDGE,
        iso_week=iso_week,
        subject=_headline(subject, nudge.reason),
        text=text,
        html=html,
        topic=f"{nudge.reason}:{nudge.item_id}:{nudge.audience}",
    )
