"""End to end over real HTTP: API -> engine -> Trello emulator -> signed webhook -> engine -> item.

planbridge is served on loopback and registers its webhook through the API: the emulator checks the
callback with a HEAD, then signs every delivery over body + callback URL exactly as registered, so
the connection must keep that URL. Owners map to Trello members by ``identities["trello"]``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ConnectionWrite, WebhookDelivery
from app.models.planning import ItemStatus
from connectors.base import RemoteRef, RemoteStatus
from connectors.trello.mapping import due_from_trello, item_id_from_description
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import (
    SeededPlan,
    create_connection,
    goal_link,
    item_status,
    links_by_item,
    seed_plan,
    tracker_status_events,
)
from tests.trackers.trello.harness import TrelloHarness


def seed(client: TestClient, tenant: Tenant, trello: TrelloHarness, items: int) -> SeededPlan:
    emulator = trello.emulator
    body: dict[str, Any] = {
        "kind": "trello",
        "name": "Trello",
        "base_url": emulator.url,
        "scope": emulator.board["id"],
        "credentials": {"api_key": emulator.api_key, "api_token": emulator.token},
        # Trello signs with the app secret of the key: that is the connection's webhook secret.
        "webhook_secret": emulator.app_secret,
    }
    connection = create_connection(client, tenant, body)
    identities = {"trello": emulator.person["id"]}
    return seed_plan(client, tenant, connection, identities, items, mirror_goal=True)


def cards_by_item(trello: TrelloHarness) -> dict[str, dict[str, Any]]:
    store = trello.emulator.store
    with store.lock:
        cards = [dict(card) for card in store.cards.values()]
    found: dict[str, dict[str, Any]] = {}
    for card in cards:
        item_id = item_id_from_description(card["desc"])
        if item_id is not None:
            assert str(item_id) not in found, "an item was created twice"
            found[str(item_id)] = card
    return found


def label_names(trello: TrelloHarness, card: dict[str, Any]) -> set[str]:
    labels = trello.emulator.store.board_labels(trello.emulator.board["id"])
    return {str(label["name"]) for label in labels if label["id"] in card["idLabels"]}


def register_webhook(client: TestClient, tenant: Tenant, connection_id: str, url: str) -> str:
    callback = f"{url}/webhooks/{connection_id}"
    response = client.post(
        f"/api/v1/connections/{connection_id}/webhook",
        json={"callback_url": callback},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return callback


def test_items_reach_trello_and_a_move_comes_back_by_webhook(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    served_app: str,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed(client, tenant, trello, items=20)
    callback = register_webhook(client, tenant, seeded.connection_id, served_app)
    webhooks = list(trello.emulator.store.webhooks.values())
    assert [hook["callbackURL"] for hook in webhooks] == [callback]  # the HEAD check passed
    run_until_idle(sync_engine)

    cards = cards_by_item(trello)
    goal_card = cards.pop(seeded.goal_id)
    assert goal_card["name"] == "Launch"
    goal_link(engine, seeded.connection_id, seeded.goal_id)
    assert sorted(cards) == sorted(seeded.item_ids)
    todo = trello.emulator.list_id("To Do")
    for card in cards.values():
        assert card["idMembers"] == [trello.emulator.person["id"]]
        assert due_from_trello(card["due"]) == seeded.due_date
        assert card["idList"] == todo
        # The goal's label stands for the epic: every item card carries it.
        assert label_names(trello, card) == {"Launch"}
    links = links_by_item(engine, seeded.connection_id)
    assert {item_id: link.external_id for item_id, link in links.items()} == {
        item_id: card["id"] for item_id, card in cards.items()
    }

    trello.emulator.deliveries.wait_for_deliveries()
    run_until_idle(sync_engine)  # the createCard deliveries of the pushes
    first = cards[seeded.item_ids[0]]
    trello.person_sets_status(RemoteRef(first["id"]), RemoteStatus.done)
    trello.emulator.deliveries.wait_for_deliveries()  # the signed updateCard POSTed to planbridge
    assert trello.emulator.deliveries.delivered[-1]["status"] == 202
    sync_engine.step()
    assert item_status(engine, seeded.item_ids[0]) == ItemStatus.done
    assert tracker_status_events(engine) == [(seeded.item_ids[0], "done")]
    with Session(engine) as session:
        deliveries = session.exec(select(WebhookDelivery)).all()
    last = max(deliveries, key=lambda delivery: delivery.received_at)
    assert (last.outcome or "").startswith("applied 1 of 1")


def test_without_webhooks_the_next_poll_brings_the_move(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed(client, tenant, trello, items=3)
    run_until_idle(sync_engine)
    connection_id = uuid.UUID(seeded.connection_id)
    sync_engine.pull_due(force_connection=connection_id)
    card = cards_by_item(trello)[seeded.item_ids[1]]
    trello.person_sets_status(RemoteRef(card["id"]), RemoteStatus.done)
    trello.advance_clock(10)
    sync_engine.pull_due(force_connection=connection_id)
    assert item_status(engine, seeded.item_ids[1]) == ItemStatus.done
    assert tracker_status_events(engine) == [(seeded.item_ids[1], "done")]


def test_registering_the_webhook_keeps_the_signed_callback_url(
    client: TestClient, tenant: Tenant, trello: TrelloHarness, served_app: str
) -> None:
    seeded = seed(client, tenant, trello, items=0)
    path = f"/api/v1/connections/{seeded.connection_id}"
    refused = client.post(
        f"{path}/webhook",
        json={"callback_url": "http://127.0.0.1:9/nobody-listens"},
        headers=tenant.headers,
    )
    assert refused.status_code == 502, refused.text  # the HEAD check failed
    assert "callback_url" not in client.get(path, headers=tenant.headers).json()["config"]

    callback = register_webhook(client, tenant, seeded.connection_id, served_app)
    assert client.get(path, headers=tenant.headers).json()["config"]["callback_url"] == callback
    # Editing other settings afterwards must not drop the URL the signatures are made over.
    edited = client.patch(path, json={"config": {"page_size": 500}}, headers=tenant.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["config"] == {"page_size": 500, "callback_url": callback}
    card = trello.emulator.person_edits(
        trello.seed_items(1)[0].external_id, name="Renamed by a person"
    )
    assert card["name"] == "Renamed by a person"
    trello.emulator.deliveries.wait_for_deliveries()
    statuses = [delivery["status"] for delivery in trello.emulator.deliveries.delivered]
    assert statuses and set(statuses) == {202}


def test_every_request_the_engine_sends_counts_once_in_the_tokens_shared_budget(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seed(client, tenant, trello, items=5)
    trello.emulator.request_log.clear()  # the connection check ran in the API, not the engine
    run_until_idle(sync_engine)
    sent = list(trello.emulator.request_log)
    assert sum(1 for method, path in sent if (method, path.rstrip("/")) == ("POST", "/1/cards"))
    with Session(engine) as session:
        rows = session.exec(select(ConnectionWrite)).all()
    # Reads and writes alike, each once: the engine reserves nothing for Trello on its own.
    assert len(rows) == len(sent)
    budgets = {row.budget for row in rows}
    assert len(budgets) == 1 and budgets.pop().startswith("trello-token:")
