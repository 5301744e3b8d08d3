"""What the weekly review reads from history: per goal the percent at the week's start and cut,
the items of each list as they stood at the cut, and each owner's planned hours in the week.

The review of ISO week W looks at two instants: S, Monday 00:00 UTC of W, and T, the cut (the
next Monday 00:00 UTC, or now while W runs). An item's state at an instant is its latest event
snapshot at or before it (no snapshot: it did not exist yet). Nothing here replays items one by one
in Python; the work is split by what can differ from the current rows:

- An item with no event after T is at T what its row says now (every writer records a snapshot
  event after changing the row), so the items open at T and untouched since are read from
  ``action_item`` directly, filtered to those listed (overdue, stale, due next week) in SQL.
  "No event after T" and staleness are tests of the row's ``last_event_at`` (its latest event's
  time, kept after each flush by ``app.services.item_history``), not probes of the events.
- Items with an event after T (none while the week runs; the items touched since for a past
  week) get their snapshot at T in the same query that finds them (``last_event_at`` > T):
  correlated backward probes of the covering (item, at, status, estimate, goal) index. Their
  number is what a past week's computation costs: a week frozen by the worker minutes after it
  ended has almost none.
- Done, started and newly blocked need the status at S only of the items with an event in
  (S, T]: one probe each, with the ``in_progress`` test as an EXISTS on the same index.
- Percent figures come from ``progress.hours_at`` (the goal hours ledger: one index range).
- Due dates at T: an item's first ``planning`` change of ``due_date`` after T names the old value
  (a partial index holds only those events). Tracker drift events are not replayed: they record
  what the tracker shows, planbridge's due date did not change.
- Planned hours in W: the current loads (``capacity.planned_hours``), with the items touched
  since T taken out as they are now and put back as they were at T.

Membership, as before: the items of the plan are those whose goal is now one of its goals; each
is listed under the goal it was in at T. Stale: the rule of ``app.services.staleness`` at T, with
the status, due date and estimate at T, "activity" as an event of any kind in the
``stale_after_days`` before T, and the item's current start date and owner's current weekly hours
(as the planned hours count them).

Each item is listed once per group, in its most telling list: of what changed in the week, done
before newly blocked before started (an item started and finished in the week is done); of the
open work at T, overdue before stale before due next week.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlmodel import Session, col

from app.models import ActionItem, EventKind, ItemEvent, ItemStatus, Person
from app.schemas.weeks import IsoWeek, working_days
from app.services.capacity import planned_hours
from app.services.item_rules import OPEN_STATUSES
from app.services.progress import Hours, current_hours, hours_at, percent
from app.services.spread import hours_of_share, week_share
from app.services.staleness import is_stale, quiet_since, stale_condition

LISTS = ("done", "started", "newly_blocked", "overdue", "stale", "due_next_week")
CHUNK = 2000  # item ids per probing query (SQLite allows 32,766 bound values; keeps plans small)


@dataclass
class GoalPart:
    percent_start: float | None = None
    percent_end: float | None = None
    # Per list, its items as they stood at the cut: [item id, title, owner id, status, due date,
    # estimate] (ids as ``text_id`` gives them, the date in ISO form; title and owner as now).
    lists: dict[str, list[list[Any]]] = field(default_factory=lambda: {name: [] for name in LISTS})


@dataclass(frozen=True, slots=True)
class _State:
    goal_id: str  # as text_id
    status: str  # an ItemStatus value, as the database gives it (``status_text``)
    estimate_hours: float
    # An event of any kind in the ``stale_after_days`` before the instant (``state_columns``);
    # None where not asked (or the item did not exist by then).
    recent: bool | None


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands a scalar subquery's value back as stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _without_jit(session: Session) -> None:
    """On PostgreSQL, no JIT compilation for the rest of the transaction: the review's queries
    over tens of thousands of items pass ``jit_above_cost`` and spent 10 to 50 ms each compiling
    expressions they then ran once (60 to 100 ms per cold review in all)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def anything_after(session: Session, workspace_id: uuid.UUID, at: datetime) -> bool:
    """Whether the workspace has an event after ``at`` (one look at the (workspace, at) index):
    not while the week runs."""
    first = select(literal(1)).where(
        col(ItemEvent.workspace_id) == workspace_id,
        col(ItemEvent.at) > at,
        col(ItemEvent.item_id).is_not(None),
    )
    return session.scalar(first.limit(1)) is not None


def _touched_since(at: datetime) -> Any:
    """On ``action_item``: the item has an event after ``at``, a test of its ``last_event_at``
    (the latest event's time, kept by ``app.services.item_history``); with the plan's
    goals, one range of ``ix_action_item_goal_last_event`` per goal. It replaced a probe of the
    (item, at) event index per item of the plan, most of a cold past week's review."""
    return col(ActionItem.last_event_at) > at


def _untouched_since(at: datetime) -> Any:
    """The negation of ``_touched_since``: no event after ``at`` (or none at all)."""
    return or_(col(ActionItem.last_event_at).is_(None), col(ActionItem.last_event_at) <= at)


def state_columns(at: datetime, recent_from: datetime | None = None) -> tuple[Any, ...]:
    """Correlated on ``action_item``: the status and goal (``text_id``) as one text, the status
    followed by the goal's 32 digits (one probe for both; ``state_of`` splits it), and the
    estimate of the item's latest snapshot at or before ``at``, and whether it had an event of
    any kind in [``recent_from``, ``at``] (NULL without ``recent_from``). Backward probes of the
    covering (item, at, status, estimate, goal) index, skipped for items created after ``at``
    (none by then). The test is made in SQL, not on the time of the last event in Python: a
    timestamp read and converted per row cost more than the probe."""
    existed = col(ActionItem.created_at) <= at

    def latest(column: Any) -> Any:
        return case((existed, _latest(column, at)))

    recent: Any = literal(None)
    if recent_from is not None:
        recent = case(
            (
                existed,
                func.coalesce(
                    select(literal(1))
                    .where(
                        col(ItemEvent.item_id) == col(ActionItem.id),
                        col(ItemEvent.at) <= at,
                        col(ItemEvent.at) >= recent_from,
                    )
                    .limit(1)
                    .correlate(ActionItem)
                    .scalar_subquery(),
                    0,
                ),
            )
        )
    return (
        # NULL if either is: no state, as when they were read apart.
        latest(status_text(ItemEvent.status) + text_id(ItemEvent.goal_id)),
        latest(col(ItemEvent.estimate_hours)),
        recent,
    )


def _latest(column: Any, at: datetime) -> Any:
    """Correlated on ``action_item``: ``column`` of the item's latest snapshot at or before
    ``at``."""
    return (
        select(column)
        .where(
            col(ItemEvent.item_id) == col(ActionItem.id),
            col(ItemEvent.at) <= at,
            col(ItemEvent.status).is_not(None),
        )
        .order_by(col(ItemEvent.at).desc())
        .limit(1)
        .correlate(ActionItem)
        .scalar_subquery()
    )


def state_of(columns: Any) -> _State | None:
    """The ``state_columns`` of a row as a state (None: no snapshot by then)."""
    status_goal, estimate, recent = columns
    if status_goal is None:
        return None
    return _State(
        status_goal[-32:],
        status_goal[:-32],
        float(estimate or 0.0),
        None if recent is None else bool(recent),
    )


class StatesAt:
    """Items' states at one instant (keyed by ``text_id``), remembered: the review's lists and
    its planned hours ask for mostly the same items, and the lists' own query brings them."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session, self.at = session, at
        self.known: dict[str, _State | None] = {}
        self._anything: dict[uuid.UUID, bool] = {}

    def anything_after(self, workspace_id: uuid.UUID) -> bool:
        """``anything_after`` the instant, asked once per workspace."""
        if workspace_id not in self._anything:
            self._anything[workspace_id] = anything_after(self.session, workspace_id, self.at)
        return self._anything[workspace_id]

    def remember(self, item_id: str, state: _State | None) -> None:
        self.known[item_id] = state

    def of(self, item_ids: list[str]) -> dict[str, _State]:
        missing = [uuid.UUID(hex=item_id) for item_id in item_ids if item_id not in self.known]
        for index in range(0, len(missing), CHUNK):
            rows = _rows(
                self.session,
                select(text_id(ActionItem.id), *state_columns(self.at)).where(
                    col(ActionItem.id).in_(missing[index : index + CHUNK])
                ),
            )
            for row in rows:
                self.known[row[0]] = state_of(row[1:])
        found = {item_id: self.known.get(item_id) for item_id in item_ids}
        return {item_id: state for item_id, state in found.items() if state is not None}


def due_dates_at(session: Session, workspace_id: uuid.UUID, at: datetime) -> dict[str, date]:
    """Items whose due date changed after ``at``: their due date at ``at`` (the old value of the
    first change). Others had their current due date."""
    rows = session.execute(
        select(text_id(ItemEvent.item_id), col(ItemEvent.from_value))
        .where(
            col(ItemEvent.workspace_id) == workspace_id,
            col(ItemEvent.at) > at,
            # Literal, as the partial index's predicate: a bound value would not match it.
            text("item_event.field = 'due_date'"),
            col(ItemEvent.kind) == EventKind.planning,
            col(ItemEvent.item_id).is_not(None),
        )
        .order_by(col(ItemEvent.at))
    )
    due: dict[str, date] = {}
    for item_id, old in rows:
        if item_id not in due and old:
            due[item_id] = date.fromisoformat(old[:10])
    return due


@dataclass(slots=True)  # no __dict__: one object each, not two, for the collector
class _Listed:
    """What is known of one item of the plan at the cut while the lists are built."""

    title: str
    owner_id: str
    goal_id: str
    status: str  # ItemStatus values as text, compared with the members (a StrEnum)
    due_date: date
    estimate_hours: float
    was: str | None = None
    started: bool = False
    stale: bool = False


def text_id(column: Any) -> Any:
    """A UUID column as 32 hex digits on both databases (SQLite stores that text already;
    PostgreSQL's text form has hyphens). The lists keep ids as text: tens of thousands of
    ``uuid.UUID`` objects, built and hashed in Python, cost more than all the queries."""
    return func.replace(cast(column, String), "-", "")


def status_text(column: Any) -> Any:
    """A status column as its text (the ``ItemStatus`` value): no enum conversion per row."""
    return cast(column, String)


def _rows(session: Session, statement: Any) -> Any:
    """The statement's rows through the session's connection: plain rows, without the ORM's
    result handling (a third of the reading time for tens of thousands of rows)."""
    return session.connection().execute(statement)


# The columns of an item's row the lists need, in this order (``_at_cut`` reads them).
_ROW = (
    text_id(ActionItem.id),
    col(ActionItem.title),
    text_id(ActionItem.owner_id),
    text_id(ActionItem.goal_id),
    status_text(ActionItem.status),
    col(ActionItem.due_date),
    col(ActionItem.estimate_hours),
)


def goal_parts(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    week: IsoWeek,
    cut: datetime,
    stale_after_days: int,
    states: StatesAt,
) -> dict[str, GoalPart]:
    """Per goal of the plan (keyed by ``goal_id.hex``): percent at S and at the cut, and the six
    lists (see the module)."""
    start = week.start_utc
    today, next_week = cut.date(), week.shifted(1)
    next_monday, next_sunday = next_week.monday, next_week.sunday
    quiet_before = quiet_since(cut, stale_after_days)
    _without_jit(session)
    in_plan = (
        col(ActionItem.workspace_id) == workspace_id,
        col(ActionItem.goal_id).in_(goal_ids),
    )
    # The plan's items touched since the cut, with their state at it (one query). While the week
    # runs there are none: one look at the (workspace, at) index says so, and the per-item
    # "untouched since" test below is left out.
    anything_since = states.anything_after(workspace_id)
    touched = (
        []
        if not anything_since
        else _rows(
            session,
            select(
                text_id(ActionItem.id),
                col(ActionItem.title),
                text_id(ActionItem.owner_id),
                col(ActionItem.due_date),
                col(ActionItem.start_date),
                *state_columns(cut, quiet_before),
            ).where(
                *in_plan,
                # Created after the cut: in no list (no snapshot by then, no event in the week).
                col(ActionItem.created_at) <= cut,
                _touched_since(cut),
            ),
        ).all()
    )
    now_rows: dict[str, tuple[str, str, date, date | None]] = {}
    moved: dict[str, _State] = {}
    for row in touched:
        now_rows[row[0]] = (row[1], row[2], row[3], row[4])
        state = state_of(row[5:])
        states.remember(row[0], state)
        if state is not None:
            moved[row[0]] = state
    changed_due = due_dates_at(session, workspace_id, cut) if touched else {}

    listed: dict[str, _Listed] = {}
    # Items with an event in (S, T]: their status at S and whether they went in progress. While
    # S is not before the cut (a week not begun), every item was absent at S.
    if start < cut:
        in_week = select(col(ItemEvent.item_id)).where(
            col(ItemEvent.workspace_id) == workspace_id,
            col(ItemEvent.at) > start,
            col(ItemEvent.at) <= cut,
            col(ItemEvent.item_id).is_not(None),
        )
        # A probe with LIMIT, not EXISTS: PostgreSQL turned the EXISTS into a hashed subplan
        # over every in-progress event of the table (a parallel sequential scan, 150 ms).
        went_in_progress = (
            select(literal(1))
            .where(
                col(ItemEvent.item_id) == col(ActionItem.id),
                col(ItemEvent.at) > start,
                col(ItemEvent.at) <= cut,
                col(ItemEvent.status) == ItemStatus.in_progress,
            )
            .limit(1)
            .correlate(ActionItem)
            .scalar_subquery()
        )
        week_rows = _rows(
            session,
            select(*_ROW, _latest(status_text(ItemEvent.status), start), went_in_progress).where(
                *in_plan, col(ActionItem.created_at) <= cut, col(ActionItem.id).in_(in_week)
            ),
        )
    else:
        week_rows = _rows(
            session,
            select(*_ROW).where(
                *in_plan,
                col(ActionItem.created_at) <= cut,
                col(ActionItem.status).in_([ItemStatus.done, ItemStatus.blocked]),
            ),
        )
    with_start = start < cut  # the rows then carry the status at S and the in-progress test
    after = len(_ROW)
    for row in week_rows.all():  # one fetch, not a driver call per row
        entry = _at_cut(row, moved, now_rows, changed_due)
        if entry is None:
            continue
        if with_start:
            entry.was = row[after]
            entry.started = bool(row[after + 1])
        listed[row[0]] = entry

    # Open at T and untouched since: the current rows, only those that fall in a list. Both
    # tests read the row's ``last_event_at``: untouched since T, its last event by T is its last
    # event (quiet: none in the ``stale_after_days`` before T).
    stale_now = stale_condition(
        today,
        or_(col(ActionItem.last_event_at).is_(None), col(ActionItem.last_event_at) < quiet_before),
        col(Person.weekly_strategic_hours),
    )
    untouched_since = _untouched_since(cut)
    due_soon = and_(
        col(ActionItem.due_date) >= next_monday, col(ActionItem.due_date) <= next_sunday
    )
    open_rows = _rows(
        session,
        select(*_ROW, stale_now)
        .join(Person, col(Person.id) == col(ActionItem.owner_id))
        .where(
            *in_plan,
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
            col(ActionItem.created_at) <= cut,
            untouched_since if anything_since else true(),
            or_(col(ActionItem.due_date) < today, due_soon, stale_now),
        ),
    )
    # An item with no event in the week was at S as it is at T (when S is before T at all).
    # Untouched since the cut, each row is its own state (what ``_at_cut`` would find).
    begun = start < cut
    for item_id, title, owner_id, goal_id, status, due, estimate, stale in open_rows.all():
        entry = listed.get(item_id)
        if entry is None:
            entry = listed[item_id] = _Listed(
                title, owner_id, goal_id, status, due, float(estimate or 0.0)
            )
            if begun:
                entry.was = status
        entry.stale = bool(stale)
    # Open at T and touched since: their snapshot at T.
    weekly = _weekly_hours(session, workspace_id) if moved else {}
    for item_id, state in moved.items():
        if state.status not in OPEN_STATUSES:
            continue
        title, owner_id, due, start_date = now_rows[item_id]
        entry = listed.get(item_id) or _Listed(
            title,
            owner_id,
            state.goal_id,
            state.status,
            changed_due.get(item_id, due),
            state.estimate_hours,
            was=state.status if start < cut else None,
        )
        entry.stale = is_stale(
            entry.status,
            quiet=not state.recent,
            start_date=start_date,
            due_date=entry.due_date,
            estimate_hours=entry.estimate_hours,
            weekly_hours=weekly.get(owner_id),
            today=today,
        )
        listed[item_id] = entry

    parts = _percent_parts(session, workspace_id, goal_ids, start, cut)
    # Plain text, compared with the database's text (no enum member looked up per item).
    done, blocked = ItemStatus.done.value, ItemStatus.blocked.value
    not_begun = (ItemStatus.todo.value, None)
    open_statuses = frozenset(status.value for status in OPEN_STATUSES)
    for item_id, entry in listed.items():
        part = parts.get(entry.goal_id)
        if part is None:
            continue  # at T the item was in a goal of another plan
        status, was, due = entry.status, entry.was, entry.due_date
        # One list per group, the most telling (see the module).
        names = []
        if status == done and was != done:
            names.append("done")
        elif status == blocked and was != blocked:
            names.append("newly_blocked")
        elif entry.started and was in not_begun:
            names.append("started")
        if status in open_statuses:
            if due < today:
                names.append("overdue")
            elif entry.stale:
                names.append("stale")
            elif next_monday <= due <= next_sunday:
                names.append("due_next_week")
        if not names:
            continue  # in no list: no row built
        item = [item_id, entry.title, entry.owner_id, status, due.isoformat(), entry.estimate_hours]
        for name in names:
            part.lists[name].append(item)
    return parts


def _weekly_hours(session: Session, workspace_id: uuid.UUID) -> dict[str, float | None]:
    """Each person's declared weekly strategic hours, by ``text_id``."""
    rows = session.execute(
        select(text_id(Person.id), col(Person.weekly_strategic_hours)).where(
            col(Person.workspace_id) == workspace_id
        )
    )
    return {person_id: hours for person_id, hours in rows}


def _at_cut(
    row: Any,
    moved: dict[str, _State],
    touched: dict[str, Any],
    changed_due: dict[str, date],
) -> _Listed | None:
    """The item at the cut from its ``_ROW`` columns: the row itself if untouched since, else
    its snapshot (None: it did not exist yet)."""
    item_id, title, owner_id, goal_id, status, due, estimate = row[:7]
    state = moved.get(item_id)
    if state is None:
        if item_id in touched:
            return None
        return _Listed(title, owner_id, goal_id, status, due, float(estimate or 0.0))
    return _Listed(
        title,
        owner_id,
        state.goal_id,
        state.status,
        changed_due.get(item_id, due),
        state.estimate_hours,
    )


def _percent_parts(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    start: datetime,
    cut: datetime,
) -> dict[str, GoalPart]:
    ids = goal_ids  # the plan's, in hand: see ``progress.GoalIds``
    now_hours = {
        goal_id: entry[0] for goal_id, entry in current_hours(session, workspace_id, ids).items()
    }
    at_end = hours_at(session, workspace_id, ids, now_hours, cut)
    at_start = hours_at(session, workspace_id, ids, now_hours, start) if start < cut else {}
    parts: dict[str, GoalPart] = {}
    for goal_id in goal_ids:
        before, after = at_start.get(goal_id, Hours()), at_end.get(goal_id, Hours())
        parts[goal_id.hex] = GoalPart(
            percent_start=percent(before.done, before.total),
            percent_end=percent(after.done, after.total),
        )
    return parts


def planned_in_week(
    session: Session,
    workspace_id: uuid.UUID,
    person_ids: Iterable[uuid.UUID],
    week: IsoWeek,
    states: StatesAt,
) -> dict[uuid.UUID, float]:
    """Planned hours of each person in ``week`` from their open items as they stood at the
    instant of ``states`` (the cut)."""
    cut = states.at
    people = list(set(person_ids))
    _without_jit(session)
    planned = {
        person_id: weeks.get(week, 0.0)
        for person_id, weeks in planned_hours(session, workspace_id, people, week, week).items()
    }
    if not states.anything_after(workspace_id):
        return planned  # nothing touched since the cut (a running week)
    # Items touched since the cut: out as they are now, back in as they were at the cut. Only
    # those that can land in the week: open now with a load in it, or (at the cut) starting by
    # its Sunday and due from its Saturday before on (a changed due date: whatever it was).
    changed_due = due_dates_at(session, workspace_id, cut)
    monday, friday, sunday = week.monday, week.monday + timedelta(days=4), week.sunday
    due_changed = col(ActionItem.id).in_([uuid.UUID(hex=item_id) for item_id in changed_due])
    loaded_now = and_(
        col(ActionItem.status).in_(list(OPEN_STATUSES)),
        col(ActionItem.load_to) >= monday,
        col(ActionItem.load_from) <= friday,
    )
    begins_by = or_(
        col(ActionItem.start_date) <= sunday,
        and_(col(ActionItem.start_date).is_(None), col(ActionItem.created_at) < week.end_utc),
        col(ActionItem.due_date) <= sunday,
        due_changed,
    )
    loaded_then = and_(
        col(ActionItem.created_at) <= cut,
        begins_by,
        or_(col(ActionItem.due_date) >= monday - timedelta(days=2), due_changed),
    )
    rows = _rows(
        session,
        select(
            text_id(ActionItem.id),
            text_id(ActionItem.owner_id),
            status_text(ActionItem.status),
            col(ActionItem.start_date),
            # Whether it existed at the cut, and its creation only where it is the start: a
            # timestamp per row is a conversion per row.
            col(ActionItem.created_at) <= cut,
            case((col(ActionItem.start_date).is_(None), col(ActionItem.created_at))),
            col(ActionItem.due_date),
            col(ActionItem.load_from),
            col(ActionItem.load_to),
            col(ActionItem.load_per_day),
        ).where(
            col(ActionItem.workspace_id) == workspace_id,
            col(ActionItem.owner_id).in_(people),
            or_(loaded_now, loaded_then),
            # Last: as a probe, only for the rows the tests above keep.
            _touched_since(cut),
        ),
    ).all()
    if not rows:
        return planned
    # Items created after the cut only come out: they have no snapshot by then.
    then = states.of([row[0] for row in rows if row[4]])
    change: dict[str, float] = defaultdict(float)
    shares: dict[tuple[date, date], tuple[int, int]] = {}
    for item_id, owner, status, start_date, _existed, created_at, due, first, last, rate in rows:
        if status in OPEN_STATUSES and first is not None and last is not None:
            overlap = working_days(max(first, monday), min(last, friday))
            change[owner] -= overlap * float(rate or 0.0)
        state = then.get(item_id)
        if state is None or state.status not in OPEN_STATUSES:
            continue
        begin = start_date or _utc(created_at).date()  # type: ignore[union-attr]
        due_then = changed_due.get(item_id, due)
        share = shares.get((begin, due_then))
        if share is None:
            share = shares[begin, due_then] = week_share(begin, due_then, week)
        change[owner] += hours_of_share(state.estimate_hours, share)
    for person_id in people:
        if person_id.hex in change:
            planned[person_id] = planned.get(person_id, 0.0) + change[person_id.hex]
    return planned
