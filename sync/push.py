"""Push: make the tracker object of one link say what planbridge wants (items and goal mirrors).

Crash safety of creates. Before the first create the link row gets ``create_started_at`` and is
committed; only then is the create sent; then the external id is stored. A link with
``create_started_at`` and no external id is an uncertain create (the process died, or the answer was
lost): the next attempt asks the tracker for the item's marker and adopts what it finds instead of
creating again; a miss is trusted only once ``marker_lookup_delay()`` has passed (Jira's search
index lags). Creates are therefore never retried inside a call.

Ownership. planbridge owns the planning fields; ``pushed_fields`` holds what it last wrote, and only
fields whose wanted value differs from that are written. So a person's edit in the tracker stays
until planbridge changes that field again. The tracker owns status: a status move is pushed only
when the item's status differs both from what the tracker last said and from what planbridge last
pushed, i.e. when someone changed it through the API.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from app.models import ActionItem, Connection, ExternalLink, Goal, Person
from app.models.planning import EventKind, EventSource
from app.services.item_history import EventSubject, record_event
from connectors.base import (
    Connector,
    ItemSpec,
    NotFound,
    ObjectMoved,
    RemoteItem,
    RemoteRef,
    RemoteStatus,
    RequestPacedConnector,
)
from sync.context import EngineContext
from sync.goal_mirrors import mirror_description
from sync.pacing import reserve_write, slot_wait
from sync.pull import DRIFT_FIELDS, record_remote_fields
from sync.retry import call_with_retries
from sync.routing import identity_key
from sync.transfers import follow_transfer

ITEM_FIELDS = ("title", "description", "due_date", "estimate_hours", "assignee", "labels", "parent")
GOAL_FIELDS = ("title", "description", "due_date", "assignee")
PARENT_WAIT = timedelta(seconds=2)

log = logging.getLogger("planbridge.sync")


@dataclass(frozen=True)
class LinkState:
    """What a push reads of its link, as a value: the row itself is read and written only inside
    the short transactions around the tracker calls, never carried between them."""

    id: uuid.UUID
    connection_id: uuid.UUID
    item_id: uuid.UUID | None
    scope: str | None
    external_id: str | None
    key: str | None
    url: str | None
    create_started_at: datetime | None
    moved_at: datetime | None
    pushed_fields: dict[str, Any]
    remote_fields: dict[str, Any]

    @classmethod
    def of(cls, row: ExternalLink) -> LinkState:
        return cls(
            id=row.id,
            connection_id=row.connection_id,
            item_id=row.item_id,
            scope=row.scope,
            external_id=row.external_id,
            key=row.key,
            url=row.url,
            create_started_at=row.create_started_at,
            moved_at=row.moved_at,
            pushed_fields=dict(row.pushed_fields),
            remote_fields=dict(row.remote_fields),
        )


@dataclass(frozen=True)
class PushPlan:
    """Everything one push needs, read in one short transaction."""

    link: LinkState
    connection: Connection
    spec: ItemSpec
    revision: int
    wanted_status: RemoteStatus | None
    parent_pending: bool


def spec_fields(spec: ItemSpec) -> dict[str, Any]:
    """The owned fields of a spec as JSON values, to compare with ``pushed_fields``."""
    return {
        "title": spec.title,
        "description": spec.description,
        "due_date": spec.due_date.isoformat() if spec.due_date else None,
        "estimate_hours": spec.estimate_hours,
        "assignee": spec.assignee,
        "labels": sorted(spec.labels),
        "parent": spec.parent.external_id if spec.parent else None,
    }


def load_push_plan(
    session: Session, link: ExternalLink, context: EngineContext | None = None
) -> PushPlan | None:
    connection = session.get(Connection, link.connection_id)
    if connection is None:
        return None
    identity = identity_key(connection)
    if link.kind == "goal":
        goal = session.get(Goal, link.goal_id)
        if goal is None:
            return None
        owner = session.get(Person, goal.owner_id)
        # The mirror shows progress and health under the description (sync/goal_mirrors.py).
        description = (
            mirror_description(session, goal, context.settings, context.clock.now())
            if context is not None
            else goal.description
        )
        spec = ItemSpec(
            item_id=goal.id,
            kind="goal",
            title=goal.title,
            description=description,
            due_date=goal.target_date,
            assignee=owner.identities.get(identity) if owner else None,
        )
        return PushPlan(
            LinkState.of(link), connection, spec, goal.revision, None, parent_pending=False
        )
    item = session.get(ActionItem, link.item_id)
    if item is None:
        return None
    goal = session.get(Goal, item.goal_id)
    owner = session.get(Person, item.owner_id)
    parent, parent_pending = None, False
    goal_link = session.exec(
        select(ExternalLink).where(
            ExternalLink.goal_id == item.goal_id, ExternalLink.connection_id == link.connection_id
        )
    ).first()
    if goal_link is not None and not goal_link.dead:
        if goal_link.external_id:
            parent = RemoteRef(goal_link.external_id, goal_link.key, goal_link.url)
        else:
            parent_pending = True
    spec = ItemSpec(
        item_id=item.id,
        title=item.title,
        description=item.description,
        due_date=item.due_date,
        estimate_hours=item.estimate_hours,
        assignee=owner.identities.get(identity) if owner else None,
        parent=parent,
        goal_title=goal.title if goal else None,
        status=RemoteStatus(item.status.value),
    )
    return PushPlan(
        LinkState.of(link),
        connection,
        spec,
        item.revision,
        RemoteStatus(item.status.value),
        parent_pending,
    )


def fields_to_write(plan: PushPlan) -> set[str]:
    link, wanted = plan.link, spec_fields(plan.spec)
    names = GOAL_FIELDS if plan.spec.kind == "goal" else ITEM_FIELDS
    changed = {name for name in names if wanted[name] != link.pushed_fields.get(name)}
    if plan.wanted_status is not None:
        remote_status = link.remote_fields.get("status")
        pushed_status = link.pushed_fields.get("status")
        if plan.wanted_status.value not in (remote_status, pushed_status):
            changed.add("status")
    return changed


def _store_remote(
    session: Session,
    link: ExternalLink,
    plan: PushPlan,
    remote: RemoteItem,
    now: datetime,
    written: frozenset[str] = frozenset(DRIFT_FIELDS),
) -> None:
    """Keep what the tracker answered: its ids, status, and the owned fields as it now shows them.

    A person's edit made since the last pull, in a field this push did not write, is recorded as
    drift here.
    """
    link.external_id = remote.ref.external_id
    link.key = remote.ref.key
    link.url = remote.ref.url
    if link.remote_updated_at is None or remote.updated_at > link.remote_updated_at:
        link.remote_updated_at = remote.updated_at
    item = session.get(ActionItem, link.item_id) if link.item_id else None
    connection = plan.connection
    link.remote_fields = {
        **record_remote_fields(
            session,
            link,
            item,
            remote,
            identity_kind=identity_key(connection),
            actor=f"{connection.kind}:{connection.name}",
            now=now,
            just_written=written,
        ),
        "status": remote.status.value,
    }


class PushDeferred(Exception):
    """Not now, and not a failure: no write slot, the parent mirror not created yet, index lag."""

    def __init__(self, reason: str, until_seconds: float) -> None:
        super().__init__(reason)
        self.until_seconds = until_seconds


class WaitingForWriteSlot(PushDeferred):
    """No write slot under the tracker's limits yet: the connection is held until one opens
    (``context.pacing``), so the link itself gets no back-off of its own."""


def _reserve_or_defer(
    context: EngineContext, connector: Connector, connection_id: uuid.UUID
) -> None:
    now = context.clock.now()
    if isinstance(connector, RequestPacedConnector):
        # The connector reserves a slot for each request it sends (sync/pacing.py): only look.
        budget, limits = connector.request_budget()
        wait = slot_wait(context.engine, budget, limits, now)
    else:
        wait = reserve_write(context.engine, connection_id, connector.write_limits, now)
    if wait > 0:
        context.pacing.hold(connection_id, now + timedelta(seconds=wait))
        raise WaitingForWriteSlot("waiting for a write slot", wait)


def find_uncertain_create(
    context: EngineContext, connector: Connector, started_at: datetime, spec: ItemSpec
) -> RemoteItem | None:
    """The object a create that may have reached the tracker made, found by its marker.

    Looked for at once: a marker names one item, so a hit is the object whenever it shows (a
    connector that names its own writes, as Jira's ``reconcileIssues``, finds a create it saw
    answered without waiting for its index). A miss is trusted only once the index can be:
    until ``marker_lookup_delay()`` has passed the create is deferred, never repeated.
    """
    found = call_with_retries(
        context.retry_policy, lambda: connector.find_by_marker(spec.item_id, spec.kind)
    )
    trusted_at = started_at + connector.marker_lookup_delay()
    now = context.clock.now()
    if found is None and now < trusted_at:
        raise PushDeferred(
            "waiting for the tracker's search index", (trusted_at - now).total_seconds()
        )
    return found


def _adopt_or_create(context: EngineContext, connector: Connector, plan: PushPlan) -> PushPlan:
    """Give the link an external id: adopt an object an earlier attempt created, or create one.
    Returns the plan with the link as it now stands."""
    link, engine = plan.link, context.engine
    if link.create_started_at is not None:
        found = find_uncertain_create(context, connector, link.create_started_at, plan.spec)
        if found is not None:
            with Session(engine, expire_on_commit=False) as session:
                row = session.get(ExternalLink, link.id)
                assert row is not None
                _store_remote(session, row, plan, found, context.clock.now())
                # What the lost create wrote is what the tracker shows now; anything else gets
                # written.
                row.pushed_fields = {
                    **spec_fields(plan.spec),
                    "title": found.title,
                    "due_date": found.due_date.isoformat() if found.due_date else None,
                    "status": found.status.value,
                }
                session.add(row)
                session.commit()
                return replace(plan, link=LinkState.of(row))
    _reserve_or_defer(context, connector, link.connection_id)
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(ExternalLink, link.id)
        assert row is not None
        row.create_started_at = context.clock.now()
        session.add(row)
        # The create is now "maybe sent": a crash from here on leads to a marker lookup.
        session.commit()
    remote = connector.create_item(plan.spec)
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(ExternalLink, link.id)
        assert row is not None
        _store_remote(session, row, plan, remote, context.clock.now())
        row.pushed_fields = {**spec_fields(plan.spec), "status": remote.status.value}
        session.add(row)
        if link.item_id is not None:
            record_event(
                session,
                EventSubject(row.workspace_id, link.item_id),
                EventKind.sync,
                source=EventSource.engine,
                field="external_key",
                to_value=remote.ref.key,
                data={
                    "connection_id": str(link.connection_id),
                    "url": remote.ref.url,
                    "worker": context.worker_id.rsplit("-", 1)[0],
                },
            )
        session.commit()
        return replace(plan, link=LinkState.of(row))


class PushOutcome(StrEnum):
    """What one push of a link came to; the engine counts them per pass and in ``/metrics``."""

    created = "created"  # a new tracker object
    updated = "updated"  # the tracker object was written
    unchanged = "unchanged"  # the tracker object already held the item's revision
    gone = "gone"  # the link or its subject went away meanwhile: nothing to push
    deferred = "deferred"  # handed back untouched: no write slot, or the tracker asked to wait
    failed = "failed"  # the write failed; the link is tried again after a back-off
    dead = "dead"  # the write failed for the last allowed time
    rate_limited = "rate_limited"  # the tracker refused for rate: the connection backs off
    paused = "paused"  # the tracker refused the credentials: the connection is paused
    lost_lease = "lost_lease"  # another worker took the link over during a long batch

    @property
    def is_tracker_write(self) -> bool:
        """A tracker write, or a failed attempt at one: what ``/metrics`` counts. The other
        outcomes sent nothing."""
        return self not in (
            PushOutcome.unchanged,
            PushOutcome.gone,
            PushOutcome.deferred,
            PushOutcome.lost_lease,
        )


def push_link(context: EngineContext, link_id: uuid.UUID) -> PushOutcome:
    """Push one claimed link; returns what happened. Connector errors propagate to the caller."""
    with Session(context.engine, expire_on_commit=False) as session:
        row = session.get(ExternalLink, link_id)
        if row is None or row.dead or row.tombstoned_at is not None:
            return PushOutcome.gone
        plan = load_push_plan(session, row, context)
    if plan is None:
        return PushOutcome.gone
    link = plan.link
    if link.moved_at is not None:
        return close_out(context, plan)
    if plan.parent_pending:
        raise PushDeferred("waiting for the goal's mirror", PARENT_WAIT.total_seconds())
    connector = context.connector(plan.connection, link.scope)
    created = link.external_id is None
    if created:
        plan = _adopt_or_create(context, connector, plan)
    fields = fields_to_write(plan)
    written: dict[str, Any] = {}
    remote: RemoteItem | None = None
    if fields:
        _reserve_or_defer(context, connector, link.connection_id)
        ref = RemoteRef(plan.link.external_id or "", plan.link.key, plan.link.url)
        try:
            remote = call_with_retries(
                context.retry_policy, lambda: connector.update_item(ref, plan.spec, fields)
            )
        except ObjectMoved as moved:
            # A person moved the object (a transferred issue): follow it, then push again there.
            follow_transfer(context, plan.connection, ref, moved, link.scope)
            raise PushDeferred(f"followed the object's move: {moved}", 0) from moved
        wanted = spec_fields(plan.spec)
        written = {name: wanted[name] for name in fields if name != "status"}
        if "status" in fields and plan.wanted_status is not None:
            written["status"] = plan.wanted_status.value
    with Session(context.engine, expire_on_commit=False) as session:
        row = session.get(ExternalLink, link_id)
        if row is None:
            return PushOutcome.gone
        if remote is not None:
            # Compared with what planbridge wrote before this push: a field it just wrote is not
            # drift, and any other that differs is a person's edit this pull had not seen yet.
            _store_remote(session, row, plan, remote, context.clock.now(), frozenset(written))
        if written:
            row.pushed_fields = {**row.pushed_fields, **written}
        row.pushed_revision = max(row.pushed_revision, plan.revision)
        if row.attempts:
            log.info("push of link %s recovered after %d failed attempts", link_id, row.attempts)
        row.attempts, row.last_error, row.next_attempt_at = 0, None, None
        row.last_synced_at = context.clock.now()
        row.leased_by = row.lease_until = None
        session.add(row)
        session.commit()
    if created:
        return PushOutcome.created
    return PushOutcome.updated if fields else PushOutcome.unchanged


def _new_home(session: Session, plan: PushPlan) -> tuple[ExternalLink | None, str]:
    """The item's live link (its new tracker object) and how to name it in the moved note."""
    link = plan.link
    new = session.exec(
        select(ExternalLink).where(
            ExternalLink.item_id == link.item_id,
            ExternalLink.kind == "item",
            col(ExternalLink.moved_at).is_(None),
        )
    ).first()
    if new is None:
        return None, "another tracker"
    if new.url:
        return new, new.url
    connection = session.get(Connection, new.connection_id)
    name = connection.name if connection else "another tracker"
    scope = new.scope or (connection.scope if connection else None)
    return new, f"{name} ({scope})" if scope else name


def close_out(context: EngineContext, plan: PushPlan) -> PushOutcome:
    """Close out the tracker object of a link the item moved away from (sync/routing.py).

    Waits until the new object exists, so the work never disappears from every tracker at once;
    then puts a "moved to" line on top of the description and drops the object (GitHub closes it
    as not planned, Trello archives the card, Jira resolves it). Never deletes. Both writes go in
    one update, so a crash before the link is marked leads to the same idempotent update again.
    """
    link = plan.link
    with Session(context.engine, expire_on_commit=False) as session:
        new, target = _new_home(session, plan)
    if new is not None and new.external_id is None and not new.dead:
        raise PushDeferred("waiting for the item's new tracker object", PARENT_WAIT.total_seconds())
    connector = context.connector(plan.connection, link.scope)
    ref: RemoteRef | None = None
    if link.external_id is not None:
        ref = RemoteRef(link.external_id, link.key, link.url)
    elif link.create_started_at is not None:
        # An uncertain create before the move: the object may exist; find it by its marker.
        found = find_uncertain_create(context, connector, link.create_started_at, plan.spec)
        ref = found.ref if found is not None else None
    remote: RemoteItem | None = None
    if ref is not None:
        note = f"Moved by planbridge to {target}."
        spec = replace(
            plan.spec,
            description=f"{note}\n\n{plan.spec.description}".rstrip(),
            status=RemoteStatus.dropped,
        )
        _reserve_or_defer(context, connector, link.connection_id)
        closing = ref
        try:
            remote = call_with_retries(
                context.retry_policy,
                lambda: connector.update_item(closing, spec, {"description", "status"}),
            )
        except NotFound:
            remote = None  # someone deleted it meanwhile: nothing left to close
    now = context.clock.now()
    with Session(context.engine) as session:
        row = session.get(ExternalLink, link.id)
        if row is None:
            return PushOutcome.gone
        row.tombstoned_at = now
        row.leased_by = row.lease_until = None
        row.attempts, row.last_error, row.next_attempt_at = 0, None, None
        if remote is not None:
            row.external_id, row.key, row.url = (
                remote.ref.external_id,
                remote.ref.key,
                remote.ref.url,
            )
            row.remote_fields = {**row.remote_fields, "status": remote.status.value}
        session.add(row)
        if row.item_id is not None:
            item = session.get(ActionItem, row.item_id)
            record_event(
                session,
                EventSubject(row.workspace_id, row.item_id, item.goal_id if item else None),
                EventKind.sync,
                source=EventSource.engine,
                field="closed_out",
                from_value=row.key,
                to_value=target,
                data={
                    "connection_id": str(row.connection_id),
                    "external_id": row.external_id,
                    "url": row.url,
                    "closed": remote is not None,
                },
                at=now,
            )
        session.commit()
    log.info("link %s closed out after its item moved to %s", link.id, target)
    return PushOutcome.updated if remote is not None else PushOutcome.unchanged
