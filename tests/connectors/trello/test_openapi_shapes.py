"""The Trello emulator answers as Atlassian's published description of the Trello REST API says.

The schemas are an excerpt of that description (tests/trackers/trello/openapi/, source and terms in
its README). Every route planbridge or py-trello calls is exercised over loopback HTTP and its
answer validated against the schema the description gives for it: the card, list, board, label,
member, action and webhook objects, with their nested badges, prefs and action data.

Where the description names no response schema for a route (it says only "Success"), the answer is
checked against the object the route returns (GET /1/boards/{id}/cards: Card); ``OBJECT_OF`` lists
those. OpenAPI 3.0's rules that would make the description say less than it means are read as
``reading()`` says, and its contradictions as ``with_errata()`` says, each with its reason;
nothing else is loosened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from starlette.types import Receive, Scope, Send

from tests.trackers.server import LoopbackServer
from tests.trackers.trello.emulator import TrelloEmulator

EXCERPT = Path(__file__).parents[2] / "trackers" / "trello" / "openapi" / "trello-rest-excerpt.json"


def one(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def many(name: str) -> dict[str, Any]:
    return {"type": "array", "items": one(name)}


def reading(node: Any) -> Any:
    """The description as it reads, where OpenAPI 3.0's rules would make it say less.

    - A ``$ref`` with ``nullable: true`` beside it admits null (OpenAPI 3.0 ignores a ``$ref``'s
      siblings, which would turn ``"idAttachmentCover": {"$ref": TrelloID, "nullable": true}``
      into a non-null id).
    - ``format: date`` means a timestamp: the description's own examples of such fields are full
      date-times (Attachment.date ``2018-10-17T19:10:14.808Z``), as every Trello date is.
    """
    if isinstance(node, list):
        return [reading(child) for child in node]
    if not isinstance(node, dict):
        return node
    node = {key: reading(value) for key, value in node.items()}
    if "$ref" in node and node.get("nullable") is True:
        return {"anyOf": [{"$ref": node["$ref"]}, {"nullable": True, "enum": [None]}]}
    if node.get("format") == "date":
        node["format"] = "date-time"
    return node


def with_errata(description: dict[str, Any]) -> dict[str, Any]:
    """Where the description contradicts itself or every Trello answer, as Trello answers.

    - Card.labels: the description lists label ids, but a card carries its labels as label
      objects (Trello's card object definition; py-trello and planbridge read their names), the
      ids being in ``idLabels``.
    - Prefs.permissionLevel and Prefs.background: the values the description's own POST /boards
      parameters list (``prefs_permissionLevel``: org, private, public, private by default;
      ``prefs_background``: a colour name, blue by default), or a background id.
    - Board.descData, TrelloList.softLimit, Member.email: null when unset or not visible to the
      token (a board without description, a list without a card limit, another member's e-mail).
    """
    schemas = description["components"]["schemas"]
    schemas["Card"]["properties"]["labels"]["items"] = one("Label")
    prefs = schemas["Prefs"]["properties"]
    prefs["permissionLevel"]["enum"] = ["org", "private", "public"]
    colours = ["blue", "orange", "green", "red", "purple", "pink", "lime", "sky", "grey"]
    prefs["background"] = {"anyOf": [{"type": "string", "enum": colours}, prefs["background"]]}
    for name, field in (("Board", "descData"), ("TrelloList", "softLimit"), ("Member", "email")):
        schemas[name]["properties"][field]["nullable"] = True
    return description


DESCRIPTION: dict[str, Any] = with_errata(reading(json.loads(EXCERPT.read_text())))

# Routes whose answer the description calls only "Success": the object each returns.
OBJECT_OF: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/boards/{id}/cards"): many("Card"),
    ("GET", "/boards/{boardId}/actions"): many("Action"),
    ("GET", "/boards/{id}/labels"): many("Label"),
    ("GET", "/boards/{id}/members"): many("Member"),
    ("GET", "/lists/{id}"): one("TrelloList"),
    ("GET", "/labels/{id}"): one("Label"),
    ("POST", "/labels"): one("Label"),
    # Not in the description; py-trello calls them and Trello answers the card.
    ("PUT", "/cards/{id}/idList"): one("Card"),
    ("PUT", "/cards/{id}/closed"): one("Card"),
}


def schema_for(method: str, route: str) -> dict[str, Any]:
    if (method, route) in OBJECT_OF:
        return OBJECT_OF[(method, route)]
    answer = DESCRIPTION["paths"][route][method.lower()]["responses"]["200"]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


def problems(body: Any, schema: dict[str, Any]) -> list[str]:
    document = {**schema, "components": DESCRIPTION["components"]}
    validator = OAS30Validator(document, format_checker=oas30_format_checker)
    return sorted(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(body)
    )


class HeadOk:
    """A webhook callback: Trello HEADs it on registration and needs a 200."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def emulator() -> Iterator[TrelloEmulator]:
    started = TrelloEmulator()
    yield started
    started.close()


@pytest.fixture
def api(emulator: TrelloEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{emulator.url}/1",
        params={"key": emulator.api_key, "token": emulator.token},
        timeout=5,
    ) as client:
        yield client


def test_every_route_answers_as_the_published_description(
    emulator: TrelloEmulator, api: httpx.Client
) -> None:
    board = emulator.board["id"]
    label = api.post("/labels", json={"idBoard": board, "name": "Q3 goal", "color": "green"})
    created = api.post(
        "/cards",
        json={
            "idList": emulator.list_id("To Do"),
            "name": "Ship the pricing page",
            "desc": "Copy and layout.\n\nplanbridge:item=1",
            "due": "2027-06-30T12:00:00.000Z",
            "idMembers": emulator.bot["id"],
            "idLabels": label.json()["id"],
        },
    )
    card = created.json()["id"]
    comment = api.post(f"/cards/{card}/actions/comments", json={"text": "Looks right"})
    emulator.person_moves(card, "Doing")
    emulator.person_edits(card, dueComplete=True)
    with LoopbackServer(HeadOk()) as callback:
        hook = api.post(
            "/webhooks/",
            json={"idModel": board, "callbackURL": f"{callback.url}/hooks", "description": "pb"},
        )
    hook_id = hook.json()["id"]

    answers = [
        ("POST", "/labels", label),
        ("POST", "/cards", created),
        ("POST", "/cards/{id}/actions/comments", comment),
        ("POST", "/webhooks/", hook),
        ("GET", "/boards/{id}", api.get(f"/boards/{board}", params={"lists": "all"})),
        ("GET", "/boards/{id}/lists", api.get(f"/boards/{board}/lists")),
        ("GET", "/boards/{id}/cards", api.get(f"/boards/{board}/cards", params={"filter": "all"})),
        ("GET", "/boards/{boardId}/actions", api.get(f"/boards/{board}/actions")),
        ("GET", "/boards/{id}/labels", api.get(f"/boards/{board}/labels")),
        ("GET", "/boards/{id}/members", api.get(f"/boards/{board}/members")),
        ("GET", "/lists/{id}", api.get(f"/lists/{emulator.list_id('Done')}")),
        ("GET", "/labels/{id}", api.get(f"/labels/{label.json()['id']}")),
        ("GET", "/cards/{id}", api.get(f"/cards/{card}")),
        ("GET", "/cards/{id}/actions", api.get(f"/cards/{card}/actions", params={"filter": "all"})),
        ("PUT", "/cards/{id}", api.put(f"/cards/{card}", json={"name": "Renamed"})),
        (
            "PUT",
            "/cards/{id}/idList",
            api.put(f"/cards/{card}/idList", json={"value": emulator.list_id("Done")}),
        ),
        ("PUT", "/cards/{id}/closed", api.put(f"/cards/{card}/closed", json={"value": True})),
        ("GET", "/members/{id}", api.get("/members/me")),
        ("GET", "/webhooks/{id}", api.get(f"/webhooks/{hook_id}")),
        ("GET", "/tokens/{token}/webhooks", api.get(f"/tokens/{emulator.token}/webhooks")),
        (
            "GET",
            "/lists/{id}/cards",
            api.get(
                f"/lists/{emulator.list_id('Done')}/cards",
                params={"filter": "all", "customFieldItems": "true"},
            ),
        ),
        ("GET", "/members/{id}/boards", api.get("/members/me/boards")),
    ]
    for method, route, response in answers:
        assert response.status_code == 200, (method, route, response.text)
        assert response.json() not in ([], {}), (method, route)
        assert problems(response.json(), schema_for(method, route)) == [], (method, route)


def test_webhook_deliveries_carry_the_described_action_model_and_webhook(
    emulator: TrelloEmulator,
) -> None:
    card = emulator.store.create_card(emulator.person, {"idList": emulator.list_id("To Do")})
    with LoopbackServer(HeadOk()) as callback:
        hook = emulator.deliveries.add(
            emulator.token, f"{callback.url}/hooks", emulator.board["id"], "pb"
        )
        emulator.person_moves(card["id"], "Done")
        emulator.deliveries.wait_for_deliveries()
    webhook = emulator.store.webhooks[hook["id"]]

    _, body = emulator.deliveries.signed_delivery(webhook, emulator.latest_action_for(card["id"]))
    payload = json.loads(body)

    assert problems(payload["action"], one("Action")) == []
    assert problems(payload["model"], one("Board")) == []
    assert problems(payload["webhook"], one("Webhook")) == []
    assert payload["action"]["data"]["listAfter"]["name"] == "Done"


def test_the_schemas_refuse_a_wrong_shape(emulator: TrelloEmulator) -> None:
    """The check bites: label ids where label objects belong, a mistyped flag, a bad id."""
    card = emulator.store.create_card(emulator.person, {"idList": emulator.list_id("To Do")})
    card["labels"] = ["6b13e4f90000000000000008"]
    card["closed"] = "false"
    card["idList"] = "To Do"

    assert problems(card, schema_for("GET", "/cards/{id}")) == [
        "closed: 'false' is not of type 'boolean'",
        "idList: 'To Do' does not match '^[0-9a-fA-F]{24}$'",
        "labels/0: '6b13e4f90000000000000008' is not of type 'object'",
    ]
