"""Planning rules for action items: checks that reject a write (422) or accept it with warnings.

Each checker has the shape ``(session, item, settings) -> list[RuleWarning]``. It returns
warnings for what is allowed but worth a second look, and raises ``InvalidField`` (a 422 naming the
field) for what is not allowed. Checkers run in ``ITEM_CHECKERS`` order after the item's new
values are applied and flushed, inside the request's transaction: a checker may query other rows
(the item itself is visible to those queries), and a checker that raises rolls the whole write back.

Other features add their checks with ``register_item_checker`` (e.g. a capacity check that warns
when an owner's week is over-planned, or rejects under ``strict_capacity``).

A change is warned about only for what it made worse, not for what was already true: an update
runs the checkers on the item as it was (``warnings_before_change``) and as it is, and keeps the
warnings that are new or grew (``made_worse``). A ``MeasuredWarning`` says what it is about
(``key``, e.g. the owner's week) and how bad it is (``amount``, e.g. the hours over); any other
warning is the same one when code, field and message are. A measured warning with a
``rejection`` (a strict setting) is a 422 when the change made it worse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import InvalidField, ItemTooLarge
from app.models import ActionItem, Goal, ItemStatus, Plan
from app.schemas.common import RuleWarning
from app.settings import Settings

ItemChecker = Callable[[Session, ActionItem, Settings], list[RuleWarning]]
# A checker's form for many items at once (a plan import): per item, its warnings or its error.
BatchItemChecker = Callable[
    [Session, Sequence[ActionItem], Settings], list[list[RuleWarning] | InvalidField]
]

OPEN_STATUSES = frozenset({ItemStatus.todo, ItemStatus.in_progress, ItemStatus.blocked})


class MeasuredWarning(RuleWarning):
    """A warning that can be compared with the one before a change (the module docstring).
    Only the ``RuleWarning`` fields are in an answer."""

    key: str
    amount: float = 0.0
    rejection: str | None = None  # set when a strict setting makes the warning a 422


def _key(warning: RuleWarning) -> str:
    if isinstance(warning, MeasuredWarning):
        return warning.key
    return f"{warning.code}|{warning.field}|{warning.message}"


def _amount(warning: RuleWarning) -> float:
    return warning.amount if isinstance(warning, MeasuredWarning) else 0.0


def made_worse(warnings: list[RuleWarning], before: list[RuleWarning]) -> list[RuleWarning]:
    """The warnings that are new since ``before``, or measure more than they did."""
    previous: dict[str, float] = {}
    for warning in before:
        previous[_key(warning)] = max(previous.get(_key(warning), 0.0), _amount(warning))
    return [
        warning
        for warning in warnings
        if _key(warning) not in previous or _amount(warning) > previous[_key(warning)] + 1e-9
    ]


def _rejected(warnings: list[RuleWarning]) -> InvalidField | None:
    for warning in warnings:
        if isinstance(warning, MeasuredWarning) and warning.rejection is not None:
            return InvalidField(warning.field or "body", warning.rejection)
    return None


def reject_oversized_estimate(
    session: Session, item: ActionItem, settings: Settings
) -> list[RuleWarning]:
    """Items bigger than ``max_item_hours`` are rejected: small items are what get done."""
    if item.estimate_hours > settings.max_item_hours:
        raise ItemTooLarge(item.estimate_hours, settings.max_item_hours)
    return []


def reject_start_after_due(
    session: Session, item: ActionItem, settings: Settings
) -> list[RuleWarning]:
    if item.start_date is not None and item.start_date > item.due_date:
        raise InvalidField(
            "start_date",
            f"start_date {item.start_date.isoformat()} is after "
            f"due_date {item.due_date.isoformat()}.",
        )
    return []


def _due_after_plan_end(item: ActionItem, plan_end: date | None) -> list[RuleWarning]:
    if plan_end is not None and item.due_date > plan_end:
        return [
            MeasuredWarning(
                code="due_after_plan_end",
                message=f"The due date {item.due_date.isoformat()} is after the plan ends "
                f"({plan_end.isoformat()}).",
                field="due_date",
                key="due_after_plan_end",
                amount=(item.due_date - plan_end).days,
            )
        ]
    return []


def warn_due_after_plan_end(
    session: Session, item: ActionItem, settings: Settings
) -> list[RuleWarning]:
    plan_end = session.exec(
        select(col(Plan.end_date))
        .join(Goal, col(Goal.plan_id) == col(Plan.id))
        .where(Goal.id == item.goal_id)
    ).first()
    return _due_after_plan_end(item, plan_end)


def warn_due_after_plan_end_of_items(
    session: Session, items: Sequence[ActionItem], settings: Settings
) -> list[list[RuleWarning] | InvalidField]:
    goal_ids = {item.goal_id for item in items}
    plan_ends = dict(
        session.exec(
            select(col(Goal.id), col(Plan.end_date))
            .join(Plan, col(Goal.plan_id) == col(Plan.id))
            .where(col(Goal.id).in_(goal_ids))
        ).all()
    )
    return [_due_after_plan_end(item, plan_ends.get(item.goal_id)) for item in items]


def warn_due_in_past(session: Session, item: ActionItem, settings: Settings) -> list[RuleWarning]:
    # Finished and dropped items are allowed their old due dates without comment.
    today: date = utcnow().date()
    if item.status in OPEN_STATUSES and item.due_date < today:
        return [
            MeasuredWarning(
                code="due_in_past",
                message=f"The due date {item.due_date.isoformat()} is in the past.",
                field="due_date",
                key="due_in_past",
                amount=(today - item.due_date).days,
            )
        ]
    return []


ITEM_CHECKERS: list[ItemChecker] = [
    reject_oversized_estimate,
    reject_start_after_due,
    warn_due_after_plan_end,
    warn_due_in_past,
]


# Checkers that also have a form for many items, which check_items uses instead of a loop.
BATCH_FORMS: dict[ItemChecker, BatchItemChecker] = {
    warn_due_after_plan_end: warn_due_after_plan_end_of_items,
}


def register_item_checker(
    checker: ItemChecker, batch: BatchItemChecker | None = None
) -> ItemChecker:
    """Add a checker (usable as a decorator); registering the same function twice is a no-op.

    ``batch`` is the checker's form for many items at once, if it has one."""
    if checker not in ITEM_CHECKERS:
        ITEM_CHECKERS.append(checker)
    if batch is not None:
        BATCH_FORMS[checker] = batch
    return checker


def check_item(
    session: Session,
    item: ActionItem,
    settings: Settings,
    *,
    before: list[RuleWarning] | None = None,
) -> list[RuleWarning]:
    """Run every checker; the warnings of all of them (of a change: those it made worse than
    ``before``), or the first checker's InvalidField, or the rejection of a strict setting."""
    warnings: list[RuleWarning] = []
    for checker in ITEM_CHECKERS:
        warnings.extend(checker(session, item, settings))
    if before is not None:
        warnings = made_worse(warnings, before)
    rejected = _rejected(warnings)
    if rejected is not None:
        raise rejected
    return warnings


def warnings_before_change(
    session: Session, item: ActionItem, settings: Settings
) -> list[RuleWarning]:
    """The warnings of the item as it stands, before a change: what is already true. A rule
    that would reject it now (a limit lowered since) is not about the change and is skipped."""
    warnings: list[RuleWarning] = []
    for checker in ITEM_CHECKERS:
        try:
            warnings.extend(checker(session, item, settings))
        except InvalidField:
            continue
    return warnings


Outcome = list[RuleWarning] | InvalidField


def _outcomes_of_checkers(
    session: Session, items: Sequence[ActionItem], settings: Settings
) -> list[list[Outcome]]:
    """Per checker, in ``ITEM_CHECKERS`` order, its outcome for each item: one pass per checker
    (its batch form when it has one)."""
    by_checker: list[list[Outcome]] = []
    for checker in ITEM_CHECKERS:
        batch = BATCH_FORMS.get(checker)
        if batch is not None:
            by_checker.append(batch(session, items, settings))
            continue
        outcomes: list[Outcome] = []
        for item in items:
            try:
                outcomes.append(checker(session, item, settings))
            except InvalidField as exc:
                outcomes.append(exc)
        by_checker.append(outcomes)
    return by_checker


def check_items(
    session: Session,
    items: Sequence[ActionItem],
    settings: Settings,
    *,
    before: Sequence[list[RuleWarning]] | None = None,
) -> list[Outcome]:
    """Every checker on each of many flushed items, in one pass per checker: per item, the
    warnings of all checkers (of a change: those it made worse than the item's ``before``) or the
    first checker's InvalidField, or the rejection of a strict setting (as ``check_item``)."""
    results: list[Outcome] = [[] for _ in items]
    for outcomes in _outcomes_of_checkers(session, items, settings):
        for index, outcome in enumerate(outcomes):
            so_far = results[index]
            if isinstance(so_far, InvalidField):
                continue
            results[index] = outcome if isinstance(outcome, InvalidField) else so_far + outcome
    if before is not None:
        results = [
            result if isinstance(result, InvalidField) else made_worse(result, already)
            for result, already in zip(results, before, strict=True)
        ]
    return [
        result if isinstance(result, InvalidField) else _rejected(result) or result
        for result in results
    ]


def warnings_before_changes(
    session: Session, items: Sequence[ActionItem], settings: Settings
) -> list[list[RuleWarning]]:
    """``warnings_before_change`` of many flushed items at once, one pass per checker."""
    warnings: list[list[RuleWarning]] = [[] for _ in items]
    for outcomes in _outcomes_of_checkers(session, items, settings):
        for index, outcome in enumerate(outcomes):
            if not isinstance(outcome, InvalidField):
                warnings[index] += outcome
    return warnings
