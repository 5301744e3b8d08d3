"""Prometheus metrics: counters the engine and web layer bump, and gauges read from the database.

Two kinds of figures, on purpose:

* **Counters and the latency histogram** live in this process (``record_push``, ``record_pull``,
  ``record_webhook_delivery``, ``record_error``, ``observe_http_request``). Each API replica and
  each worker counts its own share; Prometheus sums them across processes with ``sum by (...)``.
* **Gauges about the shared state** (sync lag, pending work, rate-limit headroom, dead items) are
  computed from the database at scrape time by ``DatabaseCollector``. Every replica reports the same
  deployment-wide values, so any one scrape target tells the truth; aggregate them with ``max``.

Labels carry connection ids, never names or URLs: ids are bounded by the number of connections and
say nothing about a workspace to whoever can read ``/metrics``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select, text
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine
from sqlmodel import col

from app.db import utcnow
from app.models import ExternalLink, WebhookDelivery
from app.models.sync import DEAD_DELIVERY, PENDING_DELIVERY, needs_push, owner_revision

log = logging.getLogger(__name__)

# One registry for this process's own counters; the default global registry is left alone so that
# importing planbridge into another program never clashes with that program's metrics.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

PUSHES = Counter(
    "planbridge_pushes",
    "Tracker writes of action items and goal mirrors, by outcome (created, updated, failed).",
    ["connection", "outcome"],
    registry=REGISTRY,
)
PULLS = Counter(
    "planbridge_pulls",
    "Pull passes against a tracker, by outcome (ok, failed, rate_limited, ...).",
    ["connection", "outcome"],
    registry=REGISTRY,
)
PULLED_CHANGES = Counter(
    "planbridge_pulled_changes",
    "Remote changes read by pull passes.",
    ["connection"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "planbridge_webhook_deliveries",
    "Webhook deliveries received, by outcome: accepted, duplicate, or rejected (bad signature, too "
    "large, unknown connection, ...).",
    ["connection", "outcome"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "planbridge_sync_errors",
    "Errors met by the sync engine, by kind (auth_failed, rate_limited, transient, invalid, ...).",
    ["connection", "kind"],
    registry=REGISTRY,
)
HTTP_REQUEST_SECONDS = Histogram(
    "planbridge_http_request_duration_seconds",
    "HTTP request latency, by method, route template and status code.",
    ["method", "route", "status"],
    # Webhooks answer in a few milliseconds, API lists in tens; past 2.5 s is an incident.
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def _label(connection_id: object) -> str:
    return str(connection_id) if connection_id is not None else "none"


def record_push(connection_id: object, outcome: str, count: int = 1) -> None:
    """One (or ``count``) tracker write of an item or goal mirror ended with ``outcome``."""
    PUSHES.labels(_label(connection_id), outcome).inc(count)


def record_pull(connection_id: object, outcome: str, changes: int = 0) -> None:
    """A pull pass ended with ``outcome`` after reading ``changes`` remote changes."""
    PULLS.labels(_label(connection_id), outcome).inc()
    if changes:
        PULLED_CHANGES.labels(_label(connection_id)).inc(changes)


def record_webhook_delivery(connection_id: object, outcome: str) -> None:
    """A webhook request was ``accepted``, a ``duplicate``, or refused (a reason)."""
    WEBHOOK_DELIVERIES.labels(_label(connection_id), outcome).inc()


def record_error(connection_id: object, kind: str | type[BaseException] | BaseException) -> None:
    """An engine error; ``kind`` may be an exception (its class name is used) or a short word."""
    if isinstance(kind, BaseException):
        kind = type(kind).__name__
    elif isinstance(kind, type):
        kind = kind.__name__
    ERRORS.labels(_label(connection_id), kind).inc()


def observe_http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive values through a raw text() query
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())


def _connection_label(value: Any) -> str:
    """The canonical UUID text (SQLite hands raw queries the 32 hex digits without dashes)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


DATABASE_UP_HELP = "1 when the database answered the scrape."


class DatabaseCollector(Collector):
    """Gauges of the shared sync state, read with a few aggregate queries at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._collect()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: database gauges unavailable", extra={"error": type(exc).__name__})
            up = GaugeMetricFamily(
                "planbridge_database_up", "1 when the database answered the scrape."
            )
            up.add_metric([], 0.0)
            yield up

    def _collect(self) -> Iterable[Metric]:
        now = utcnow()
        with self.engine.connect() as connection:
            state = _read_sync_state(connection)
        up = GaugeMetricFamily("planbridge_database_up", DATABASE_UP_HELP)
        up.add_metric([], 1.0)
        yield up
        yield from _connection_gauges(state.connections, now)
        yield from _link_gauges(state.pending_pushes, state.dead_links)
        yield from _delivery_gauges(state.pending_deliveries, state.dead_deliveries, now)


@dataclass(frozen=True)
class _SyncState:
    """What one scrape reads: a few aggregate rows per connection."""

    connections: Sequence[Any]
    pending_pushes: Sequence[Any]
    dead_links: Sequence[Any]
    pending_deliveries: Sequence[Any]
    dead_deliveries: Sequence[Any]


def _read_sync_state(connection: DbConnection) -> _SyncState:
    delivery_connection = col(WebhookDelivery.connection_id)
    return _SyncState(
        connections=connection.execute(
            text(
                "SELECT id, state, created_at, last_pull_ok_at, consecutive_failures, "
                "rate_limit_remaining, rate_limit_limit FROM connection"
            )
        ).all(),
        pending_pushes=connection.execute(
            select(col(ExternalLink.connection_id), func.count())
            .where(needs_push(owner_revision()))
            .group_by(col(ExternalLink.connection_id))
        ).all(),
        dead_links=connection.execute(
            select(col(ExternalLink.connection_id), func.count())
            .where(col(ExternalLink.dead).is_(True))
            .group_by(col(ExternalLink.connection_id))
        ).all(),
        pending_deliveries=connection.execute(
            select(
                delivery_connection,
                func.count(),
                func.min(col(WebhookDelivery.received_at)),
                func.sum(case((col(WebhookDelivery.attempts) > 0, 1), else_=0)),
            )
            .where(PENDING_DELIVERY)
            .group_by(delivery_connection)
        ).all(),
        dead_deliveries=connection.execute(
            select(delivery_connection, func.count())
            .where(DEAD_DELIVERY)
            .group_by(delivery_connection)
        ).all(),
    )


def _gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=["connection"])


def _connection_gauges(rows: Sequence[Any], now: datetime) -> Iterator[Metric]:
    lag = _gauge(
        "planbridge_sync_lag_seconds",
        "Seconds since the connection's last successful pull (or creation if never).",
    )
    paused = _gauge("planbridge_connection_paused", "1 when the connection is paused.")
    failures = _gauge("planbridge_connection_consecutive_failures", "Failed pulls in a row.")
    remaining = _gauge(
        "planbridge_rate_limit_remaining",
        "Requests left in the tracker's current rate-limit window, as it last reported.",
    )
    headroom = _gauge(
        "planbridge_rate_limit_headroom_ratio",
        "Remaining / limit of the tracker's rate-limit window (1 = untouched, 0 = exhausted).",
    )
    for row in rows:
        connection_id = _connection_label(row[0])
        since = _as_datetime(row[3]) or _as_datetime(row[2])
        seconds = _seconds_since(since, now)
        if seconds is not None:
            lag.add_metric([connection_id], seconds)
        paused.add_metric([connection_id], 1.0 if row[1] == "paused" else 0.0)
        failures.add_metric([connection_id], float(row[4] or 0))
        if row[5] is not None:
            remaining.add_metric([connection_id], float(row[5]))
            if row[6]:
                headroom.add_metric([connection_id], float(row[5]) / float(row[6]))
    yield from (lag, paused, failures, remaining, headroom)


def _count_gauge(name: str, documentation: str, counts: Sequence[Any]) -> GaugeMetricFamily:
    """A gauge of ``(connection id, count)`` rows: one sample per connection."""
    gauge = _gauge(name, documentation)
    for connection_id, count in counts:
        gauge.add_metric([_connection_label(connection_id)], float(count))
    return gauge


def _link_gauges(pending: Sequence[Any], dead_links: Sequence[Any]) -> Iterator[Metric]:
    yield _count_gauge(
        "planbridge_pending_pushes",
        "Links with changes the tracker lacks (not created yet, moved, or a newer revision), "
        "dead and deleted ones left out.",
        pending,
    )
    yield _count_gauge(
        "planbridge_dead_items",
        "Links given up after repeated failures, waiting for someone to retry them.",
        dead_links,
    )


def _delivery_gauges(
    pending: Sequence[Any], dead_rows: Sequence[Any], now: datetime
) -> Iterator[Metric]:
    deliveries = _gauge(
        "planbridge_pending_webhook_deliveries", "Stored webhook deliveries not processed yet."
    )
    oldest = _gauge(
        "planbridge_oldest_pending_webhook_delivery_seconds",
        "Age of the oldest unprocessed webhook delivery.",
    )
    failing = _gauge(
        "planbridge_failing_webhook_deliveries",
        "Unprocessed webhook deliveries whose last attempt failed (tried again later).",
    )
    for connection_id, count, first_received, failed in pending:
        label = _connection_label(connection_id)
        deliveries.add_metric([label], float(count))
        failing.add_metric([label], float(failed or 0))
        age = _seconds_since(_as_datetime(first_received), now)
        if age is not None:
            oldest.add_metric([label], age)
    dead = _count_gauge(
        "planbridge_dead_webhook_deliveries",
        "Webhook deliveries given up (unusable, or too many failed attempts), waiting for "
        "someone to retry them.",
        dead_rows,
    )
    yield from (deliveries, oldest, failing, dead)


def serve_process_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Expose this process's counters on their own port (``planbridge worker --metrics-port``).

    Workers serve no HTTP; the database gauges are already reported by every API replica.
    """
    start_http_server(port, addr=host, registry=REGISTRY)


def render_metrics(engine: Engine | None) -> bytes:
    """This process's counters in the text format, plus the database gauges given an engine."""
    output = generate_latest(REGISTRY)
    if engine is not None:
        database_registry = CollectorRegistry(auto_describe=False)
        database_registry.register(DatabaseCollector(engine))
        output += generate_latest(database_registry)
    return output
