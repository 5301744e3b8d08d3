"""Push: make the tracker object of one link say what planbridge wants (items and goal mirrors).

Crash safety of creates. Before the first create the link row gets ``create_started_at`` and is
committed; only then is the create sent; then the external id is stored. A link with
``create_started_at`` and no external id is an uncertain create (the process died, or the answer was
lost): the next attempt asks the tracker for the item's marker, once ``marker_lookup_delay()`` has
passed (Jira's search index lags), and adopts what it finds instead of creating again. Creates are
therefore never retried inside a call.

Ownership. planbridge owns the planning fields; ``pushed_fields`` holds what it last wrote, and only
fields whose wanted value differs from that are written. So a person's edit in the tracker stays
until
planbridge changes that field again. The tracker owns status: a status move is pushed only when the
item's status differs both from what the tracker last said and from what planbridge last pushed,
i.e.
when someone changed it through the API.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from app.models import ActionItem, Connection, ExternalLink, Goal, ItemEvent, Person
from app.models.planning import EventSource
from connectors.base import (
    Connector,
    ItemSpec,
    RemoteItem,
    RemoteRef,
    RemoteStatus,
    RequestPacedConnector,
)
from sync.context import EngineContext
from sync.goal_mirrors import mirror_description
from sync.pacing import reserve_write, slot_wait
from sync.retry import call_with_retries

ITEM_FIELDS = ("title", "description", "due_date", "estimate_hours", "assignee", "labels", "parent")
GOAL_FIELDS = ("title", "description", "due_date", "assignee")
PARENT_WAIT = timedelta(seconds=2)

log = logging.getLogger("planbridge.sync")


@dataclass(frozen=True)
class PushPlan:
    """Everything one push needs, read in one short transaction."""

    link: ExternalLink
    connection: Connection
    spec: ItemSpec
    revision: int
    wanted_status: RemoteStatus | None
    parent_pending: bool


def identity_key(connection: Connection) -> str:
    """Which of a person's identities this connection uses (Jira Data Center uses usernames)."""
    flavour = str(connection.config.get("flavour") or connection.config.get("deployment") or "")
    if connection.kind == "jira" and flavour.lower() in {
        "dc",
        "data_center",
        "datacenter",
        "server",
    }:
        return "jira_dc"
    return connection.kind


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
        return PushPlan(link, connection, spec, goal.revision, None, parent_pending=False)
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
        link, connection, spec, item.revision, RemoteStatus(item.status.value), parent_pending
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


def _store_remote(link: ExternalLink, remote: RemoteItem) -> None:
    link.external_id = remote.ref.external_id
    link.key = remote.ref.key
    link.url = remote.ref.url
    if link.remote_updated_at is None or remote.updated_at > link.remote_updated_at:
        link.remote_updated_at = remote.updated_at
    link.remote_fields = {**link.remote_fields, "status": remote.status.value}


class PushDeferred(Exception):
    """Not now, and not a failure: no write slot, the parent mirror is not created yet, index
    lag."""

    def __init__(self, reason: str, until_seconds: float) -> None:
        super().__init__(reason)
        self.until_seconds = until_seconds


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
        raise PushDeferred("waiting for a write slot", wait)


def _adopt_or_create(context: EngineContext, connector: Connector, plan: PushPlan) -> None:
    """Give the link an external id: adopt an object an earlier attempt created, or create one."""
    link, engine = plan.link, context.engine
    if link.create_started_at is not None:
        trusted_at = link.create_started_at + connector.marker_lookup_delay()
        now = context.clock.now()
        if now < trusted_at:
            raise PushDeferred(
                "waiting for the tracker's search index", (trusted_at - now).total_seconds()
            )
        found = call_with_retries(
            context.retry_policy,
            lambda: connector.find_by_marker(plan.spec.item_id, plan.spec.kind),
        )
        if found is not None:
            with Session(engine, expire_on_commit=False) as session:
                row = session.get(ExternalLink, link.id)
                assert row is not None
                _store_remote(row, found)
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
                plan.link.external_id, plan.link.pushed_fields = row.external_id, row.pushed_fields
                plan.link.remote_fields, plan.link.key = row.remote_fields, row.key
            return
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
        _store_remote(row, remote)
        row.pushed_fields = {**spec_fields(plan.spec), "status": remote.status.value}
        session.add(row)
        if link.item_id is not None:
            session.add(
                ItemEvent(
                    workspace_id=row.workspace_id,
                    item_id=link.item_id,
                    kind="sync",
                    source=EventSource.engine,
                    field="external_key",
                    to_value=remote.ref.key,
                    data={
                        "connection_id": str(link.connection_id),
                        "url": remote.ref.url,
                        "worker": context.worker_id.rsplit("-", 1)[0],
                    },
                )
            )
        session.commit()
        plan.link.external_id, plan.link.pushed_fields = row.external_id, row.pushed_fields
        plan.link.remote_fields, plan.link.key = row.remote_fields, row.key


def push_link(context: EngineContext, link_id: uuid.UUID) -> str:
    """Push one claimed link; returns what happened. Connector errors propagate to the caller."""
    with Session(context.engine, expire_on_commit=False) as session:
        link = session.get(ExternalLink, link_id)
        if link is None or link.dead or link.tombstoned_at is not None:
            return "gone"
        plan = load_push_plan(session, link, context)
    if plan is None:
        return "gone"
    if plan.parent_pending:
        raise PushDeferred("waiting for the goal's mirror", PARENT_WAIT.total_seconds())
    connector = context.connector(plan.connection, link.scope)
    created = plan.link.external_id is None
    if created:
        _adopt_or_create(context, connector, plan)
    fields = fields_to_write(plan)
    written: dict[str, Any] = {}
    remote: RemoteItem | None = None
    if fields:
        _reserve_or_defer(context, connector, link.connection_id)
        ref = RemoteRef(plan.link.external_id or "", plan.link.key, plan.link.url)
        remote = call_with_retries(
            context.retry_policy, lambda: connector.update_item(ref, plan.spec, fields)
        )
        wanted = spec_fields(plan.spec)
        written = {name: wanted[name] for name in fields if name != "status"}
        if "status" in fields and plan.wanted_status is not None:
            written["status"] = plan.wanted_status.value
    with Session(context.engine, expire_on_commit=False) as session:
        row = session.get(ExternalLink, link_id)
        if row is None:
            return "gone"
        if written:
            row.pushed_fields = {**row.pushed_fields, **written}
        if remote is not None:
            _store_remote(row, remote)
        row.pushed_revision = max(row.pushed_revision, plan.revision)
        if row.attempts:
            log.info("push of link %s recovered after %d failed attempts", link_id, row.attempts)
        row.attempts, row.last_error, row.next_attempt_at = 0, None, None
        row.last_synced_at = context.clock.now()
        row.leased_by = row.lease_until = None
        session.add(row)
        session.commit()
    if created:
        return "created"
    return "updated" if fields else "unchanged"
