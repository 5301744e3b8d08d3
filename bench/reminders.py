"""Weekly reminders for 5,000 people across 24 time zones: each sent within 60 s of its due minute
against a local SMTP server, while the same worker pushes items and applies webhook deliveries.

    python bench/reminders.py                        # SQLite file, 5,000 people, 24 zones
    python bench/reminders.py --backend postgres     # a scratch PostgreSQL database, dropped after
    python bench/reminders.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/reminders.py --people 1000 --zones 6

In one process: a plain SMTP server (aiosmtpd) on loopback, the app (webhooks are posted to it in
process), and ``sync.worker.Worker`` with 2 engine threads and its people-loop thread. The people
own work in a plan running in week 2027-W10, one zone per whole-hour UTC offset, default cadence
(Friday 15:00 local), so the reminders fall due in 24 waves of about 208 people an hour apart.
The worker's clock is the wall clock with the idle hours between waves skipped: before each wave
it is set 20 s before the due minute and then runs in real time, so "sent - due" is real seconds.
Meanwhile ``--items`` items are pushed to a memory tracker and a webhook delivery is posted every
``--webhook-interval`` seconds. Printed: per wave and overall the delay from due minute to sent,
messages per person (must be 1), pushes and deliveries processed, and the CPU seconds.
"""

from __future__ import annotations

import argparse
import email
import itertools
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from app.db import make_engine
from app.main import create_app
from app.models import (
    ActionItem,
    ExternalLink,
    Goal,
    ItemStatus,
    MessageDelivery,
    MessageState,
    Person,
    Plan,
    Reminder,
    Scope,
    WebhookDelivery,
)
from app.services.tokens import get_or_create_workspace, issue_token
from app.session_hooks import install_session_hooks
from app.settings import Settings
from bench.production_support import scratch_database
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_body
from sync.worker import Worker
from tests.conftest import Tenant
from tests.sync.conftest import add_item, seed
from tests.trackers.server import free_port

FRIDAY = date(2027, 3, 12)  # 2027-W10, before the European and after the US change to summer time
REMINDER_SUBJECTS = ("Your check-in for", "Reminder: your check-in for")
WORKED_AT = datetime(2027, 3, 11, 9, 0, tzinfo=UTC)
LEAD = timedelta(seconds=20)  # the clock is set this long before each wave's due minute
WAVE_TIMEOUT = 240.0  # real seconds a wave may take before the run gives up on it
PEOPLE_PER_GOAL = 10


@contextmanager
def database(backend: str, url: str | None) -> Iterator[str]:
    """The bench's database URL: ``url`` as given, else a SQLite file in a temporary folder or a
    scratch PostgreSQL database, removed (dropped) at the end."""
    if url is not None:
        yield url
    elif backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        with scratch_database("bench_reminders") as scratch:
            yield scratch


class SkippingClock:
    """Wall-clock time with a settable offset: idle hours between waves are skipped."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, target: datetime) -> None:
        self.offset = target - datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


@dataclass
class Mailbox:
    """A plain SMTP relay on loopback that counts what it receives: check-in reminders per
    recipient, and the rest (the weekly digest, nudges) by subject."""

    reminders: Counter[str] = field(default_factory=Counter)
    others: Counter[str] = field(default_factory=Counter)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        message = email.message_from_bytes(content if isinstance(content, bytes) else b"")
        subject = str(message["Subject"])
        for recipient in envelope.rcpt_tos:
            if subject.startswith(REMINDER_SUBJECTS):
                self.reminders[recipient] += 1
            else:
                self.others[subject.split(":")[0]] += 1
        return "250 Message accepted"


def zones_by_offset(count: int) -> list[ZoneInfo]:
    """One zone per whole-hour UTC offset on the bench's Friday, from -11 h up."""
    moment = datetime.combine(FRIDAY, datetime.min.time())
    found: dict[int, str] = {}
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        offset = ZoneInfo(name).utcoffset(moment)
        if offset is not None and offset.total_seconds() % 3600 == 0:
            found.setdefault(int(offset.total_seconds() // 3600), name)
    offsets = sorted(found)[:count]
    return [ZoneInfo(found[offset]) for offset in offsets]


def seed_people(
    engine: Engine, workspace_id: uuid.UUID, people: int, zones: list[ZoneInfo]
) -> None:
    """People in round-robin zones, each owning two open items of a plan running through March
    2027 (due in 3 and 10 days, worked on the day before: nothing for nudges, which run in the
    same worker, to act on); goals of ten people each."""
    with Session(engine) as session:
        plan = Plan(
            workspace_id=workspace_id,
            name="2027 Q1",
            # From the bench's week on: the plan has no finished week whose digest would go out.
            start_date=FRIDAY - timedelta(days=4),
            end_date=date(2027, 3, 31),
        )
        session.add(plan)
        session.flush()
        goal: Goal | None = None
        for index in range(people):
            zone = zones[index % len(zones)]
            person = Person(
                workspace_id=workspace_id,
                name=f"Person {index}",
                email=f"person{index}@example.com",
                time_zone=zone.key,
            )
            session.add(person)
            session.flush()
            if index % PEOPLE_PER_GOAL == 0:
                goal = Goal(
                    workspace_id=workspace_id,
                    plan_id=plan.id,
                    title=f"Goal {index // PEOPLE_PER_GOAL}",
                    owner_id=person.id,
                )
                session.add(goal)
                session.flush()
            assert goal is not None
            for title, due, status in [
                ("Draft", FRIDAY + timedelta(days=3), ItemStatus.in_progress),
                ("Review", FRIDAY + timedelta(days=10), ItemStatus.todo),
            ]:
                session.add(
                    ActionItem(
                        workspace_id=workspace_id,
                        goal_id=goal.id,
                        owner_id=person.id,
                        title=f"{title} {index}",
                        due_date=due,
                        estimate_hours=4,
                        status=status,
                        created_at=WORKED_AT,
                        updated_at=WORKED_AT,
                        last_activity_at=WORKED_AT,
                    )
                )
            if index % 500 == 499:
                session.commit()
        session.commit()


def due_minute(zone: ZoneInfo) -> datetime:
    """Friday 15:00 in the zone (the default cadence), in UTC."""
    local = datetime.combine(FRIDAY, datetime.min.time().replace(hour=15), tzinfo=zone)
    return local.astimezone(UTC)


def due_minutes(engine: Engine, zones: list[ZoneInfo]) -> list[datetime]:
    return sorted({due_minute(zone) for zone in zones})


def sent_delays(engine: Engine, due: datetime) -> tuple[int, list[float]]:
    """(reminders decided for this due minute, seconds from due to sent of each sent message)."""
    with Session(engine) as session:
        reminders = session.exec(
            select(func.count()).select_from(Reminder).where(col(Reminder.due_at) == due)
        ).one()
        rows = session.exec(
            select(MessageDelivery.sent_at)
            .join(
                Reminder,
                (col(Reminder.person_id) == col(MessageDelivery.person_id))
                & (col(Reminder.iso_week) == col(MessageDelivery.iso_week)),
            )
            .where(
                col(Reminder.due_at) == due,
                col(MessageDelivery.state) == MessageState.sent,
            )
        ).all()
    return reminders, [(sent - due).total_seconds() for sent in rows if sent is not None]


def other_work(engine: Engine) -> tuple[int, int, int]:
    """(item links pushed, webhook deliveries received, deliveries processed)."""
    with Session(engine) as session:
        pushed = session.exec(
            select(func.count())
            .select_from(ExternalLink)
            .where(col(ExternalLink.pushed_revision) > 0)
        ).one()
        received = session.exec(select(func.count()).select_from(WebhookDelivery)).one()
        processed = session.exec(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(col(WebhookDelivery.processed_at).is_not(None))
        ).one()
    return pushed, received, processed


class WebhookFeeder(threading.Thread):
    """Posts a signed memory-tracker webhook every ``interval`` seconds until stopped."""

    def __init__(self, client: TestClient, seeded: Any, interval: float) -> None:
        super().__init__(daemon=True)
        self.client, self.seeded, self.interval = client, seeded, interval
        self.stop = threading.Event()
        self.posted = 0

    def run(self) -> None:
        for number in itertools.count():
            if self.stop.wait(self.interval):
                return
            items = self.seeded.tracker.all_items()
            if not items:
                continue
            stored = items[number % len(items)]
            body = webhook_body(stored)
            headers = {
                SIGNATURE_HEADER: sign(self.seeded.webhook_secret, body),
                DELIVERY_HEADER: f"bench-{number}",
            }
            response = self.client.post(
                f"/webhooks/{self.seeded.connection_id}", content=body, headers=headers
            )
            if response.status_code == 202:
                self.posted += 1


def main() -> None:
    args = parse_arguments()
    with database(args.backend, args.database_url) as url:
        run(args, url)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--zones", type=int, default=24)
    parser.add_argument("--items", type=int, default=300, help="items to push meanwhile")
    parser.add_argument("--webhook-interval", type=float, default=0.2)
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="a SQLite file, or a scratch database on PLANBRIDGE_TEST_POSTGRES_URL's server",
    )
    parser.add_argument("--database-url", default=None, help="use this database instead")
    return parser.parse_args()


def run(args: argparse.Namespace, url: str) -> None:
    install_session_hooks()
    print(f"database: {url.split('://', 1)[0]}")
    engine = make_engine(url, pool_size=10)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    settings = Settings(
        database_url=url,
        secret_key="bench-secret-key-0123456789abcdef",
        allow_private_trackers=True,
        embedded_worker=False,
        memory_tracker_dir=":memory:",
        smtp_url=SecretStr(f"smtp://127.0.0.1:{smtp_port}?starttls=off"),
        mail_from="planbridge <planbridge@example.com>",
        public_url="https://plans.example.com",
    )
    zones = zones_by_offset(args.zones)
    waves = due_minutes(engine, zones)
    waves_of_zones = [due_minute(zone) for zone in zones]
    print(
        f"{args.people} people in {len(zones)} zones ({zones[0].key} .. {zones[-1].key}), "
        f"{len(waves)} due minutes from {waves[0]:%a %H:%M} to {waves[-1]:%a %H:%M} UTC"
    )

    with TestClient(create_app(settings, engine)) as client:
        with Session(engine) as session:
            workspace = get_or_create_workspace(session, "bench")
            issued = issue_token(session, workspace.id, Scope.admin, name="bench")
            session.commit()
            tenant = Tenant(workspace_id=workspace.id, token=issued.token, scope=Scope.admin)
        started = time.perf_counter()
        seeded = seed(client, tenant, items=0)
        for index in range(args.items):
            add_item(client, tenant, seeded, f"Pushed item {index}")
        seed_people(engine, tenant.workspace_id, args.people, zones)
        print(f"seeded in {time.perf_counter() - started:.1f} s")

        clock = SkippingClock(waves[0] - LEAD)
        worker = Worker(engine, settings, threads=2, clock=clock, idle_seconds=0.2)
        feeder = WebhookFeeder(client, seeded, args.webhook_interval)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        worker.start()
        feeder.start()
        all_delays: list[float] = []
        try:
            for number, due in enumerate(waves):
                if number:
                    clock.jump_to(due - LEAD)
                wave_started = time.perf_counter()
                expected = sum(
                    1 for index in range(args.people) if waves_of_zones[index % len(zones)] == due
                )
                while True:
                    decided, delays = sent_delays(engine, due)
                    if decided == expected and len(delays) == decided:
                        break
                    if time.perf_counter() - wave_started > WAVE_TIMEOUT:
                        print(f"  wave {due:%a %H:%M}: gave up after {WAVE_TIMEOUT:.0f} s")
                        break
                    time.sleep(0.25)
                all_delays += delays
                pushed, received, processed = other_work(engine)
                print(
                    f"  wave {number + 1:2d} due {due:%a %H:%M} UTC: {len(delays):4d} of "
                    f"{expected} sent, "
                    f"delay max {max(delays, default=0):5.1f} s; meanwhile pushed {pushed}, "
                    f"deliveries {processed}/{received}"
                )
        finally:
            feeder.stop.set()
            feeder.join()
            time.sleep(2 * 0.2 + 1)  # let the last deliveries be applied
            worker.stop()
            cpu = time.process_time() - cpu_before
            wall = time.perf_counter() - wall_before
            smtp.stop()
    pushed, received, processed = other_work(engine)
    per_person = Counter(mailbox.reminders.values())
    within = sum(1 for delay in all_delays if delay <= 60)
    print(
        f"reminders sent: {len(all_delays)} of {args.people}; within 60 s of the due minute: "
        f"{within}; delay median {statistics.median(all_delays):.1f} s, "
        f"p95 {statistics.quantiles(all_delays, n=20)[-1]:.1f} s, max {max(all_delays):.1f} s"
    )
    print(
        f"reminder e-mails per person: {dict(per_person)} (people reminded: "
        f"{len(mailbox.reminders)}); other e-mails: {dict(mailbox.others)}"
    )
    print(
        f"other work meanwhile: {pushed} of {args.items} items pushed, {processed} of {received} "
        f"webhook deliveries processed ({feeder.posted} posted)"
    )
    print(f"process CPU {cpu:.1f} s over {wall:.1f} s wall")
    engine.dispose()


if __name__ == "__main__":
    main()
