"""The weekly review of a plan, built from the ItemEvent history so a past week reads the same
later.

What each part means (S and T, the lists, membership, staleness) is in
``app.services.review_states``, which reads it from the database. A week that has not begun
has no review (a 422 naming the week); the running week's covers its start to now. Check-ins of
the week count as they are now (the latest per owner and goal), a check-in created after the
week ended as ``late``; missing check-ins are the goals whose owner has none. Every "needs help"
check-in is listed first. People over capacity are the owners of the
plan's items whose open items, as they stood at T, plan more hours in W than their capacity.
Items deleted since are left out (their events no longer name them); the percent figures keep
their hours (the goal hours ledger keeps every change).

Finished weeks are frozen. Once a week has been over for ``FREEZE_AFTER`` (longer than any write
transaction, so no event stamped inside the week is still uncommitted), its history-derived parts
cannot change any more (the event log is append-only), so they are computed once and stored:
per goal and week the percent figures and the listed items with their status, due date and
estimate at T (``FrozenGoalReview``), per workspace and week the planned hours of each person
(``FrozenPlannedWeek``). The worker stores last week's as soon as it may
(``freeze_last_week_reviews``), and a review that finds a part missing computes and stores it.
Everything else is read fresh with each review, exactly as a recomputation would read it:
titles, names, owners, capacities (current values) and check-ins (a late one counts from when it
is written).

A stored part is dropped when its inputs change after all (``drop_outdated_reviews``, run after
each flush by the hook ``app.session_hooks`` installs):
an event written with a time before a stored week's end (a scripted or imported history), a
``deleted`` event (the item's open hours leave the planned figures) or a move of an item to
another goal (membership) drop the workspace's parts of the weeks concerned; a change of an
item's owner or start drops the stored planned hours and lists (they count items for their current
owner from their current start, and staleness reads both), as does a change of a person's weekly
strategic hours (staleness reads them); a goal's deletion takes its parts with it (cascade); a
different ``stale_after_days`` is ignored and recomputed.
"""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import delete, exists, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session, col

from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem, EventKind, Goal, ItemEvent, ItemStatus, Person
from app.models.execution import CheckIn, FrozenGoalReview, FrozenPlannedWeek
from app.schemas.weeks import IsoWeek
from app.services.capacity import person_loads
from app.services.progress import change, get_plan, plan_goals
from app.services.review_states import LISTS, GoalPart, StatesAt, goal_parts, planned_in_week
from app.services.wording import count_of
from app.settings import Settings

log = logging.getLogger("planbridge.reviews")
# Longer than any write transaction: events stamped inside the week are committed by then.
FREEZE_AFTER = timedelta(minutes=10)
# Planning changes that alter what a stored row shows of an item (partial index in
# app.models.execution).
RENAME_FIELDS = ("title", "owner_id")
# Planned hours at a past cut count each item for its current owner from its current start (as
# the rule spreads it), and staleness reads both: a change of either makes a recomputation differ
# from the stored figures and lists.
PLANNED_BY_CURRENT = ("owner_id", "start_date")


class ReviewItem(BaseModel):
    item_id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    owner: str
    status: ItemStatus
    due_date: date
    estimate_hours: float


class GoalReview(BaseModel):
    goal_id: uuid.UUID
    title: str
    owner: str
    percent_start: float | None
    percent_end: float | None
    change: float | None
    done: list[ReviewItem]
    started: list[ReviewItem]
    newly_blocked: list[ReviewItem]
    overdue: list[ReviewItem]
    stale: list[ReviewItem]
    due_next_week: list[ReviewItem]


class ReviewCheckIn(BaseModel):
    owner_id: uuid.UUID
    owner: str
    goal_id: uuid.UUID
    goal: str
    confidence: str
    note: str
    blockers: str
    needs_help: bool
    late: bool = Field(description="Written after the week ended (accepted during the next week)")


class MissingCheckIn(BaseModel):
    owner_id: uuid.UUID
    owner: str
    goal_id: uuid.UUID
    goal: str


class Overload(BaseModel):
    person_id: uuid.UUID
    name: str
    planned_hours: float
    capacity_hours: float
    over_by: float


class WeeklyReview(BaseModel):
    plan_id: uuid.UUID
    plan: str
    iso_week: str
    week_start: date
    week_end: date
    complete: bool  # false while the week is still running
    needs_help: list[ReviewCheckIn]
    goals: list[GoalReview]
    over_capacity: list[Overload]
    check_ins: list[ReviewCheckIn]
    missing_check_ins: list[MissingCheckIn]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a review is built.

    A large plan's review creates a few hundred thousand short-lived containers (rows, dicts,
    models); each batch of them set off a full collection over the whole process, a quarter of
    the review's time. Nothing here makes cycles, so the collector finds nothing they left; it
    runs again at the next allocations after this. Re-enabled only by whoever disabled it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def weekly_review(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    week: IsoWeek,
    settings: Settings,
    *,
    now: datetime | None = None,
    store: bool = False,
) -> WeeklyReview:
    """The review of ``week`` as of ``now``. A finished week reads its stored parts; missing
    ones are computed and, with ``store``, added to the session (the caller commits soon: on
    SQLite the write holds the database's write lock until then)."""
    with _collector_paused():
        return _weekly_review(session, workspace_id, plan_id, week, settings, now, store)


def check_week_has_begun(week: IsoWeek, now: datetime) -> None:
    """A review reports what happened: a week that has not begun has none (422 on the path)."""
    if now < week.start_utc:
        current = IsoWeek.of(now.date())
        raise InvalidField(
            ["path", "iso_week"],
            f"{week} has not begun (it starts on Monday {week.monday}); a review covers a week "
            f"from its start, so the latest one is the running week, {current}.",
        )


def _weekly_review(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    week: IsoWeek,
    settings: Settings,
    now: datetime | None,
    store: bool,
) -> WeeklyReview:
    now = now or utcnow()
    plan = get_plan(session, workspace_id, plan_id)
    check_week_has_begun(week, now)
    goals = plan_goals(session, workspace_id, plan.id)
    goal_ids = [goal.id for goal in goals]
    cut = min(now, week.end_utc)
    frozen = now >= week.end_utc + FREEZE_AFTER
    stored = _stored_parts(session, goal_ids, week, settings) if frozen else {}
    states = StatesAt(session, cut)
    parts = {goal_id: part for goal_id, (part, _at) in stored.items()}
    if len(parts) < len(goal_ids):
        computed = {
            uuid.UUID(hex=goal_key): _as_rows(part)
            for goal_key, part in goal_parts(
                session, workspace_id, goal_ids, week, cut, settings.stale_after_days, states
            ).items()
        }
        if frozen and store:
            _store_parts(session, workspace_id, week, settings, computed, exclude=set(parts))
        parts = {**computed, **parts}
    if stored:
        # From a while before the storing: a rename committed just after it was read stays out.
        since = min(at for _part, at in stored.values()) - FREEZE_AFTER
        _apply_renames(session, workspace_id, stored, since)
    owners = _plan_owners(session, workspace_id, goal_ids)
    planned = _planned(session, workspace_id, owners, week, states, frozen=frozen, store=store)

    unique, keys = _listed_rows(parts)
    listed_owners = {row[2] for row in unique.values()}
    people = _people(
        session,
        workspace_id,
        owners | {goal.owner_id for goal in goals} | {uuid.UUID(owner) for owner in listed_owners},
    )
    items = _review_items(unique, people)
    goal_reviews = []
    for goal in goals:
        percent_start, percent_end, _lists = parts[goal.id]
        goal_reviews.append(
            GoalReview(
                goal_id=goal.id,
                title=goal.title,
                owner=people[goal.owner_id].name if goal.owner_id in people else "",
                percent_start=percent_start,
                percent_end=percent_end,
                change=change(percent_end, percent_start),
                **{
                    list_name: list(map(items.__getitem__, list_keys))
                    for list_name, list_keys in keys[goal.id].items()
                },
            )
        )
    check_ins, missing = _check_ins(session, workspace_id, goals, people, week, now)
    return WeeklyReview(
        plan_id=plan.id,
        plan=plan.name,
        iso_week=str(week),
        week_start=week.monday,
        week_end=week.sunday,
        complete=now >= week.end_utc,
        needs_help=[check_in for check_in in check_ins if check_in.needs_help],
        goals=goal_reviews,
        over_capacity=_over_capacity(session, workspace_id, owners, week, planned),
        check_ins=check_ins,
        missing_check_ins=missing,
    )


# A goal's part as stored: percent at S, percent at T, and per list its rows
# [item id, title, owner id, status, due date, estimate] (ids as 32 hex digits, dates as ISO
# text), in list order.
Part = tuple[float | None, float | None, dict[str, list[list[Any]]]]
_REVIEW_ITEMS = TypeAdapter(list[ReviewItem])


def _listed_rows(
    parts: dict[uuid.UUID, Part],
) -> tuple[dict[Any, list[Any]], dict[uuid.UUID, dict[str, list[Any]]]]:
    """The distinct rows of the parts' lists by key, and per goal and list the keys of its rows.

    A row's key is its item's id: an item is listed under one goal (the one it was in at the
    cut), its rows in several lists are one list object when computed and alike when stored
    (renames put in everywhere). A row unlike its item's first one would still be keyed by all
    its values, as a row of its own. One pass over the ~34,000 rows of a large plan's review.
    """
    unique: dict[Any, list[Any]] = {}
    keys: dict[uuid.UUID, dict[str, list[Any]]] = {}
    for goal_id, (_start, _end, lists) in parts.items():
        goal_keys: dict[str, list[Any]] = {}
        for list_name in LISTS:
            list_keys: list[Any] = []
            for row in lists.get(list_name, ()):
                key = row[0]
                first = unique.setdefault(key, row)
                if first is not row and first != row:
                    key = tuple(row)
                    unique.setdefault(key, row)
                list_keys.append(key)
            goal_keys[list_name] = list_keys
        keys[goal_id] = goal_keys
    return unique, keys


def _review_items(
    unique: dict[Any, list[Any]], people: dict[uuid.UUID, Person]
) -> dict[Any, ReviewItem]:
    """One ``ReviewItem`` per distinct row (``_listed_rows``), by its key.

    An item listed several times (done and overdue, say) is one object in each list, and the
    owners' ids are the people's ``uuid.UUID`` objects: a large plan's review lists ~34,000 rows
    of ~24,000 items, and every object built is also one more for the cyclic garbage collector
    to walk when it runs again after the review (about 70 ms for 175,000 of them). The rows are
    validated as one list in pydantic's core: faster than ``model_construct`` per item with the
    ids, dates and statuses converted in Python (measured 40 against 95 ms for 24,000 items).
    """
    owners = {person_id.hex: (person_id, person.name) for person_id, person in people.items()}
    validated = _REVIEW_ITEMS.validate_python(
        [
            {
                "item_id": item_id,
                "title": title,
                "owner_id": owners[owner_id][0] if owner_id in owners else owner_id,
                "owner": owners[owner_id][1] if owner_id in owners else "",
                "status": status,
                "due_date": due,
                "estimate_hours": hours,
            }
            for item_id, title, owner_id, status, due, hours in unique.values()
        ]
    )
    return dict(zip(unique, validated, strict=True))


# Due date, title, id: ISO dates and canonical UUID text sort as the values do. An itemgetter
# (C), not a function: the lists of a large plan's review hold ~34,000 rows.
_sort_key = itemgetter(4, 1, 0)


def _as_rows(part: GoalPart) -> Part:
    for rows in part.lists.values():
        rows.sort(key=_sort_key)
    return part.percent_start, part.percent_end, part.lists


def _apply_renames(
    session: Session,
    workspace_id: uuid.UUID,
    stored: dict[uuid.UUID, tuple[Part, datetime]],
    since: datetime,
) -> None:
    """Stored rows carry the title and owner an item had when they were stored: put in the
    current ones of the items renamed or reassigned since (one range of a partial index)."""
    changed = (
        select(col(ItemEvent.item_id))
        .where(
            col(ItemEvent.workspace_id) == workspace_id,
            col(ItemEvent.at) > since,
            # Literal, as the partial index's predicate: a bound value would not match it.
            text(f"item_event.field IN ({', '.join(repr(f) for f in RENAME_FIELDS)})"),
            col(ItemEvent.kind) == EventKind.planning,
            col(ItemEvent.item_id).is_not(None),
        )
        .distinct()
    )
    current = {
        item_id.hex: (title, owner_id.hex)
        for item_id, title, owner_id in session.execute(
            select(col(ActionItem.id), col(ActionItem.title), col(ActionItem.owner_id)).where(
                col(ActionItem.id).in_(changed)
            )
        )
    }
    if not current:
        return
    for part, _at in stored.values():
        for rows in part[2].values():
            touched = False
            for row in rows:
                if row[0] in current:
                    row[1], row[2] = current[row[0]]
                    touched = True
            if touched:
                rows.sort(key=_sort_key)


def _plan_owners(
    session: Session, workspace_id: uuid.UUID, goal_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Owners of any item of the plan (done ones too: their open work elsewhere counts)."""
    owns = exists().where(
        col(ActionItem.owner_id) == col(Person.id), col(ActionItem.goal_id).in_(goal_ids)
    )
    return set(
        session.scalars(
            select(col(Person.id)).where(col(Person.workspace_id) == workspace_id, owns)
        )
    )


def _planned(
    session: Session,
    workspace_id: uuid.UUID,
    owners: set[uuid.UUID],
    week: IsoWeek,
    states: StatesAt,
    *,
    frozen: bool,
    store: bool,
) -> dict[uuid.UUID, float]:
    stored = session.get(FrozenPlannedWeek, (workspace_id, str(week))) if frozen else None
    if stored is not None:
        return {uuid.UUID(person): hours for person, hours in stored.planned.items()}
    if not (frozen and store):
        return planned_in_week(session, workspace_id, owners, week, states)
    # Everyone in the workspace, so any plan's review of the week finds its owners here.
    everyone = set(
        session.scalars(select(col(Person.id)).where(col(Person.workspace_id) == workspace_id))
    )
    planned = planned_in_week(session, workspace_id, everyone, week, states)
    session.execute(
        _insert(session)(FrozenPlannedWeek)
        .values(
            workspace_id=workspace_id,
            iso_week=str(week),
            week_end=week.end_utc,
            planned={str(person): hours for person, hours in planned.items() if hours},
            computed_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    return planned


def _insert(session: Session) -> Any:
    """The dialect's INSERT, for ON CONFLICT DO NOTHING: two readers may freeze the same week."""
    return postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _stored_parts(
    session: Session, goal_ids: list[uuid.UUID], week: IsoWeek, settings: Settings
) -> dict[uuid.UUID, tuple[Part, datetime]]:
    rows = session.execute(
        select(
            col(FrozenGoalReview.goal_id),
            col(FrozenGoalReview.percent_start),
            col(FrozenGoalReview.percent_end),
            col(FrozenGoalReview.lists),
            col(FrozenGoalReview.computed_at),
        ).where(
            col(FrozenGoalReview.goal_id).in_(goal_ids),
            col(FrozenGoalReview.iso_week) == str(week),
            col(FrozenGoalReview.stale_after_days) == settings.stale_after_days,
        )
    )
    return {
        goal_id: ((start, end, lists), computed_at)
        for goal_id, start, end, lists, computed_at in rows
    }


def _store_parts(
    session: Session,
    workspace_id: uuid.UUID,
    week: IsoWeek,
    settings: Settings,
    parts: dict[uuid.UUID, Part],
    *,
    exclude: set[uuid.UUID],
) -> None:
    # A part stored under another stale_after_days is replaced.
    session.execute(
        delete(FrozenGoalReview).where(
            col(FrozenGoalReview.goal_id).in_([g for g in parts if g not in exclude]),
            col(FrozenGoalReview.iso_week) == str(week),
        )
    )
    computed_at = utcnow()
    rows = [
        {
            "goal_id": goal_id,
            "iso_week": str(week),
            "workspace_id": workspace_id,
            "week_end": week.end_utc,
            "stale_after_days": settings.stale_after_days,
            "percent_start": start,
            "percent_end": end,
            "lists": lists,
            "computed_at": computed_at,
        }
        for goal_id, (start, end, lists) in parts.items()
        if goal_id not in exclude
    ]
    if rows:
        session.execute(_insert(session)(FrozenGoalReview).values(rows).on_conflict_do_nothing())


def drop_outdated_reviews(session: OrmSession, _context: UOWTransaction) -> None:
    """After each flush: drop stored parts whose inputs the flushed events change (module
    docstring)."""
    earliest: dict[uuid.UUID, datetime] = {}
    # Per table, the workspaces whose stored weeks all go, whatever their end.
    every_week: dict[Any, set[uuid.UUID]] = {FrozenGoalReview: set(), FrozenPlannedWeek: set()}
    for obj in session.new:
        if not isinstance(obj, ItemEvent) or obj.item_id is None:
            continue
        read_as_current = obj.kind == EventKind.planning and obj.field in PLANNED_BY_CURRENT
        if obj.kind == EventKind.deleted or obj.field == "goal_id" or read_as_current:
            every_week[FrozenGoalReview].add(obj.workspace_id)
            every_week[FrozenPlannedWeek].add(obj.workspace_id)
        if obj.workspace_id not in earliest or obj.at < earliest[obj.workspace_id]:
            earliest[obj.workspace_id] = obj.at
    for obj in session.dirty:
        # Staleness reads the owners' weekly hours as they are now.
        if isinstance(obj, Person) and inspect(obj).attrs.weekly_strategic_hours.history.deleted:
            every_week[FrozenGoalReview].add(obj.workspace_id)
            earliest.setdefault(obj.workspace_id, utcnow())
    if not earliest:
        return
    connection = session.connection()
    for workspace_id, at in earliest.items():
        for table, everything in every_week.items():
            condition = col(table.workspace_id) == workspace_id
            if workspace_id not in everything:
                condition = condition & (col(table.week_end) > at)
            connection.execute(delete(table).where(condition))


def freeze_last_week_reviews(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> int:
    """Store the parts of last week's review of every plan that ran in it, once the week may be
    frozen; returns how many plans were computed (0 once they are stored). For the worker."""
    from app.models import Plan

    now = now or utcnow()
    week = IsoWeek.of(now.date()).shifted(-1)
    if now < week.end_utc + FREEZE_AFTER:
        return 0
    stored = select(col(FrozenGoalReview.goal_id)).where(
        col(FrozenGoalReview.iso_week) == str(week)
    )
    pending = select(col(Goal.plan_id)).where(col(Goal.id).not_in(stored))
    plans = session.scalars(
        select(Plan).where(
            col(Plan.start_date) <= week.sunday,
            col(Plan.end_date) >= week.monday,
            col(Plan.id).in_(pending),
        )
    ).all()
    for plan in plans:
        weekly_review(session, plan.workspace_id, plan.id, week, settings, now=now, store=True)
    return len(plans)


def _check_ins(
    session: Session,
    workspace_id: uuid.UUID,
    goals: list[Goal],
    people: dict[uuid.UUID, Person],
    week: IsoWeek,
    now: datetime,
) -> tuple[list[ReviewCheckIn], list[MissingCheckIn]]:
    """The week's check-ins written before ``now``, the latest per owner and goal; those
    written after the week ended are ``late``."""
    rows = session.scalars(
        select(CheckIn)
        .where(
            col(CheckIn.workspace_id) == workspace_id,
            col(CheckIn.goal_id).in_([goal.id for goal in goals]),
            col(CheckIn.iso_week) == str(week),
            col(CheckIn.created_at) < now,
        )
        .order_by(col(CheckIn.created_at).desc())
    )
    latest: dict[tuple[uuid.UUID, uuid.UUID], CheckIn] = {}
    for check_in in rows:
        latest.setdefault((check_in.owner_id, check_in.goal_id), check_in)
    titles = {goal.id: goal.title for goal in goals}
    received = [
        ReviewCheckIn(
            owner_id=check_in.owner_id,
            owner=people[check_in.owner_id].name if check_in.owner_id in people else "",
            goal_id=check_in.goal_id,
            goal=titles[check_in.goal_id],
            confidence=str(check_in.confidence),
            note=check_in.note,
            blockers=check_in.blockers,
            needs_help=check_in.needs_help,
            late=check_in.created_at >= week.end_utc,
        )
        for check_in in sorted(
            latest.values(), key=lambda c: (not c.needs_help, titles[c.goal_id], str(c.id))
        )
    ]
    missing = [
        MissingCheckIn(
            owner_id=goal.owner_id,
            owner=people[goal.owner_id].name if goal.owner_id in people else "",
            goal_id=goal.id,
            goal=goal.title,
        )
        for goal in goals
        if (goal.owner_id, goal.id) not in latest
    ]
    return received, missing


def _over_capacity(
    session: Session,
    workspace_id: uuid.UUID,
    person_ids: set[uuid.UUID],
    week: IsoWeek,
    planned: dict[uuid.UUID, float],
) -> list[Overload]:
    """The given people whose planned hours in ``week`` (as they stood at the cut) exceed their
    capacity (current)."""
    result: list[Overload] = []
    for person_id, load in person_loads(
        session, workspace_id, person_ids, with_items=False
    ).items():
        load.planned[week] = planned.get(person_id, 0.0)
        entry = load.load(week)
        if entry.over_by > 0 and entry.capacity_hours is not None:
            result.append(
                Overload(
                    person_id=load.person.id,
                    name=load.person.name,
                    planned_hours=entry.planned_hours,
                    capacity_hours=entry.capacity_hours,
                    over_by=entry.over_by,
                )
            )
    return sorted(result, key=lambda overload: (-overload.over_by, overload.name))


def _people(
    session: Session, workspace_id: uuid.UUID, person_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Person]:
    query = select(Person).where(
        col(Person.workspace_id) == workspace_id, col(Person.id).in_(list(person_ids))
    )
    return {person.id: person for person in session.scalars(query)}


def enqueue_ready_reviews(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> int:
    """Enqueue ``review.ready`` once per running plan for the week that just ended (idempotent).

    Meant for the worker's loop; the event id is derived from plan and week, so a second call for
    the same week finds the deliveries already there and adds none. Stores last week's reviews
    first, once they may be (``freeze_last_week_reviews``).
    """
    from app.models import Plan
    from app.models.execution import NotificationDelivery, Subscription
    from app.services.notifications import enqueue_event

    now = now or utcnow()
    try:
        # In a savepoint: a review that cannot be stored must not hold back the notifications.
        with session.begin_nested():
            freeze_last_week_reviews(session, settings, now=now)
    except Exception:
        log.exception("storing last week's reviews failed; retried at the next check")
    week = IsoWeek.of(now.date()).shifted(-1)
    workspaces = set(
        session.scalars(
            select(col(Subscription.workspace_id)).where(col(Subscription.active).is_(True))
        )
    )
    count = 0
    for plan in session.scalars(
        select(Plan).where(
            col(Plan.workspace_id).in_(workspaces),
            col(Plan.start_date) <= week.sunday,
            col(Plan.end_date) >= week.monday,
        )
    ).all():
        event_id = uuid.uuid5(plan.id, str(week))
        already = session.scalars(
            select(col(NotificationDelivery.id)).where(
                col(NotificationDelivery.event_id) == event_id
            )
        ).first()
        if already is not None:
            continue
        review = weekly_review(session, plan.workspace_id, plan.id, week, settings, now=now)
        done = sum(len(goal.done) for goal in review.goals)
        text = (
            f"Weekly review {week} of {plan.name}: {count_of(done, 'item')} done, "
            f"{count_of(len(review.needs_help), 'check-in')} asking for help, "
            f"{count_of(len(review.missing_check_ins), 'check-in')} missing."
        )
        payload = {
            "plan_id": str(plan.id),
            "iso_week": str(week),
            "path": f"/api/v1/plans/{plan.id}/reviews/{week}",
        }
        count += len(
            enqueue_event(
                session,
                plan.workspace_id,
                "review.ready",
                payload,
                text=text,
                event_id=event_id,
                now=now,
            )
        )
    return count
