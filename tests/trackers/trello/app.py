"""The emulator's HTTP face: Trello's REST paths under /1, auth, rate limits and error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.trackers.faults import apply_latency, drop_connection
from tests.trackers.trello import objects
from tests.trackers.trello.store import TrelloError

if TYPE_CHECKING:
    from tests.trackers.trello.emulator import TrelloEmulator

Params = dict[str, Any]
Handler = Callable[["TrelloEmulator", str, dict[str, Any], re.Match[str]], Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
MAX_ACTIONS = 1000
# Trello's documented header: Authorization: OAuth oauth_consumer_key="KEY", oauth_token="TOKEN"
# (OAuth 1.0a clients such as py-trello send the same two values among their signed parameters).
OAUTH_PARAMETER = re.compile(r'(oauth_[a-z_]+)="([^"]*)"')
# Card fields with their own PUT /1/cards/{id}/{field} route taking ``value``.
CARD_FIELD_ROUTES = "name|desc|due|dueComplete|idList|closed|pos|idMembers|idLabels"


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^{pattern}$"), handler))
        return handler

    return register


def pick_fields(row: dict[str, Any], fields: Any) -> dict[str, Any]:
    if not fields or fields == "all":
        return row
    wanted = {name.strip() for name in str(fields).split(",")} | {"id"}
    return {key: value for key, value in row.items() if key in wanted}


def int_param(params: Params, name: str, default: int | None, maximum: int) -> int | None:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except (TypeError, ValueError) as error:
        raise TrelloError(400, f"invalid value for {name}") from error
    if not 0 < value <= maximum:
        raise TrelloError(400, f"invalid value for {name}")
    return value


# ---------------------------------------------------------------------------------- routes


@route("GET", r"/1/boards/(?P<board>[^/]+)")
def get_board(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    board = emulator.store.board(match["board"])
    labels = emulator.store.board_labels(board["id"])
    rendered = pick_fields(objects.board(board, labels), params.get("fields"))
    list_filter = params.get("lists", "none")
    if list_filter != "none":
        lists = emulator.store.board_lists(board["id"])
        if list_filter == "open":
            lists = [row for row in lists if not row["closed"]]
        rendered["lists"] = [
            pick_fields(objects.list_object(row), params.get("list_fields")) for row in lists
        ]
    return rendered


@route("GET", r"/1/boards/(?P<board>[^/]+)/lists")
def get_board_lists(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    board = emulator.store.board(match["board"])
    lists = emulator.store.board_lists(board["id"])
    list_filter = params.get("filter", "open")
    if list_filter == "open":
        lists = [row for row in lists if not row["closed"]]
    elif list_filter == "closed":
        lists = [row for row in lists if row["closed"]]
    return [pick_fields(objects.list_object(row), params.get("fields")) for row in lists]


@route("GET", r"/1/lists/(?P<list>[0-9a-f]{24})")
def get_list(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    trello_list = emulator.store.lists.get(match["list"])
    if trello_list is None:
        raise TrelloError(404, "The requested resource was not found.")
    return pick_fields(objects.list_object(trello_list), params.get("fields"))


@route("GET", r"/1/lists/(?P<list>[0-9a-f]{24})/cards")
def get_list_cards(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    """A list's cards top to bottom (filter open by default); ``customFieldItems=true`` adds
    each card's custom field values (the emulator's boards have no custom fields)."""
    trello_list = emulator.store.lists.get(match["list"])
    if trello_list is None:
        raise TrelloError(404, "The requested resource was not found.")
    cards = emulator.store.board_cards(
        trello_list["idBoard"], str(params.get("filter") or "open"), None, None, None
    )
    on_list = [card for card in cards if card["idList"] == trello_list["id"]]
    if str(params.get("customFieldItems")).lower() == "true":
        on_list = [{**card, "customFieldItems": []} for card in on_list]
    return [pick_fields(card, params.get("fields")) for card in on_list]


@route("GET", r"/1/members/(?P<member>[^/]+)/boards")
def get_member_boards(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    """The boards a member belongs to (``me``: the token's); filter all, open or closed."""
    member = emulator.member_for(token) if match["member"] == "me" else None
    member_id = member["id"] if member else match["member"]
    wanted = str(params.get("filter") or "all")
    boards = [
        board
        for board in emulator.store.boards.values()
        if member_id in board["idMembers"]
        and (wanted == "all" or board["closed"] == (wanted == "closed"))
    ]
    return [
        pick_fields(
            objects.board(board, emulator.store.board_labels(board["id"])), params.get("fields")
        )
        for board in boards
    ]


@route("GET", r"/1/labels/(?P<label>[0-9a-f]{24})")
def get_label(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    label = emulator.store.labels.get(match["label"])
    if label is None:
        raise TrelloError(404, "The requested resource was not found.")
    return pick_fields(objects.label_object(label), params.get("fields"))


@route("GET", r"/1/members/(?P<member>[^/]+)")
def get_member(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    if match["member"] == "me":
        return objects.member(emulator.member_for(token))
    found = emulator.store.members.get(match["member"]) or next(
        (row for row in emulator.store.members.values() if row["username"] == match["member"]),
        None,
    )
    if found is None:
        raise TrelloError(404, "The requested resource was not found.")
    return pick_fields(objects.member(found), params.get("fields"))


@route("GET", r"/1/boards/(?P<board>[^/]+)/labels")
def get_board_labels(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    board = emulator.store.board(match["board"])
    limit = int_param(params, "limit", 50, 1000) or 50
    labels = [
        {k: v for k, v in row.items() if k != "uses"}
        for row in emulator.store.board_labels(board["id"])
    ]
    return [pick_fields(row, params.get("fields")) for row in labels[:limit]]


@route("GET", r"/1/boards/(?P<board>[^/]+)/members")
def get_board_members(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    board = emulator.store.board(match["board"])
    return [objects.member(emulator.store.members[member_id]) for member_id in board["idMembers"]]


@route("GET", r"/1/boards/(?P<board>[^/]+)/cards(?:/(?P<filter>[a-z]+))?")
def get_board_cards(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    cards = emulator.store.board_cards(
        match["board"],
        match["filter"] or params.get("filter", "visible"),
        int_param(params, "limit", None, 1000),
        params.get("before"),
        params.get("since"),
    )
    return [pick_fields(card, params.get("fields")) for card in cards]


@route("GET", r"/1/boards/(?P<board>[^/]+)/actions")
def get_board_actions(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    types = None
    if params.get("filter") and params["filter"] != "all":
        types = {name.strip() for name in str(params["filter"]).split(",")}
    found = emulator.store.board_actions(
        match["board"],
        types,
        params.get("since"),
        params.get("before"),
        int_param(params, "limit", 50, MAX_ACTIONS) or 50,
    )
    return [pick_fields(row, params.get("fields")) for row in found]


@route("POST", r"/1/labels")
def post_label(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    label = emulator.store.create_label(
        str(params.get("idBoard") or ""), str(params.get("name") or ""), params.get("color")
    )
    return {k: v for k, v in label.items() if k != "uses"}


@route("POST", r"/1/cards")
def post_card(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    return emulator.store.create_card(emulator.member_for(token), params)


@route("GET", r"/1/cards/(?P<card>[^/]+)")
def get_card(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    with emulator.store.lock:
        card = emulator.store.render_card(emulator.store.card(match["card"]))
    return pick_fields(card, params.get("fields"))


@route("PUT", r"/1/cards/(?P<card>[^/]+)")
def put_card(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    return emulator.store.update_card(emulator.member_for(token), match["card"], params)


@route("GET", r"/1/cards/(?P<card>[^/]+)/(?P<part>checklists|attachments|pluginData)")
def get_card_parts(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    """A card's checklists, attachments and Power-Up data: the emulator's cards have none."""
    emulator.store.card(match["card"])
    return []


@route("GET", r"/1/cards/(?P<card>[^/]+)/actions")
def get_card_actions(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    """A card's actions, newest first; Trello's default filter is commentCard,updateCard:idList."""
    card = emulator.store.card(match["card"])
    wanted = str(params.get("filter") or "commentCard,updateCard:idList")
    types = None if wanted == "all" else {name.strip() for name in wanted.split(",")}
    limit = int_param(params, "limit", 50, MAX_ACTIONS) or 50
    found = emulator.store.board_actions(
        card["idBoard"], types, None, None, len(emulator.store.actions) or 1
    )
    on_card = [row for row in found if (row["data"].get("card") or {}).get("id") == card["id"]]
    return [pick_fields(row, params.get("fields")) for row in on_card[:limit]]


@route("PUT", rf"/1/cards/(?P<card>[^/]+)/(?P<field>{CARD_FIELD_ROUTES})")
def put_card_field(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    """PUT /1/cards/{id}/idList, /closed, ...: one field, its new value in ``value``."""
    if "value" not in params:
        raise TrelloError(400, "invalid value for value")
    fields = {match["field"]: params["value"]}
    return emulator.store.update_card(emulator.member_for(token), match["card"], fields)


@route("POST", r"/1/cards/(?P<card>[^/]+)/actions/comments")
def post_card_comment(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    member = emulator.member_for(token)
    return emulator.store.comment_card(member, match["card"], params.get("text"))


@route("DELETE", r"/1/cards/(?P<card>[^/]+)")
def delete_card(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    emulator.store.delete_card(emulator.member_for(token), match["card"])
    return {"limits": {}}


@route("GET", r"/1/webhooks/(?P<webhook>[0-9a-f]{24})")
def get_webhook(emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]) -> Any:
    webhook = emulator.store.webhooks.get(match["webhook"])
    if webhook is None or webhook["_token"] != token:
        raise TrelloError(404, "model not found")
    return objects.webhook(webhook)


@route("GET", r"/1/tokens/(?P<token>[0-9a-f]{64})/webhooks")
def get_token_webhooks(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    """The webhooks a token made; only that token may list them."""
    if match["token"] != token:
        raise TrelloError(401, "invalid token")
    hooks = emulator.store.webhooks.values()
    return [objects.webhook(hook) for hook in hooks if hook["_token"] == token]


@route("DELETE", r"/1/webhooks/(?P<webhook>[0-9a-f]{24})")
def delete_webhook(
    emulator: TrelloEmulator, token: str, params: Params, match: re.Match[str]
) -> Any:
    get_webhook(emulator, token, params, match)
    del emulator.store.webhooks[match["webhook"]]
    return {"_value": None}


def dispatch(emulator: TrelloEmulator, method: str, path: str, token: str, params: Params) -> Any:
    for route_method, pattern, handler in ROUTES:
        match = pattern.match(path.rstrip("/") or "/")
        if route_method == method and match:
            return handler(emulator, token, params, match)
    raise TrelloError(404, f"Cannot {method} {path}")


def batch(emulator: TrelloEmulator, token: str, params: Params) -> list[dict[str, Any]]:
    """GET /1/batch: up to 10 GET routes, each answered as {"<status>": body}."""
    urls = [url for url in str(params.get("urls") or "").split(",") if url]
    if not 0 < len(urls) <= 10:
        raise TrelloError(400, "invalid value for urls")
    answers: list[dict[str, Any]] = []
    for url in urls:
        parts = urlsplit(url)
        path = parts.path if parts.path.startswith("/1/") else "/1" + parts.path
        try:
            body = dispatch(emulator, "GET", path, token, dict(parse_qsl(parts.query)))
            answers.append({"200": body})
        except TrelloError as error:
            answers.append({str(error.status): error.body})
    return answers


# ---------------------------------------------------------------------------------- ASGI


class TrelloApp:
    """ASGI entry: faults first, then key/token auth, rate limits, routing."""

    def __init__(self, emulator: TrelloEmulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        method, path = request.method, request.url.path
        self.emulator.request_log.append((method, path))
        fault = self.emulator.faults.take(method, path)
        lose_response = False
        if fault is not None:
            if fault.kind == "latency":
                await apply_latency(fault)
            elif fault.kind == "drop_connection":
                await drop_connection(send)
                return
            elif fault.kind == "server_error":
                await PlainTextResponse("Internal Server Error", status_code=500)(
                    scope, receive, send
                )
                return
            elif fault.kind == "rate_limit":
                refused = self.emulator.limits.refusal("API_TOKEN_LIMIT_EXCEEDED")
                if "retry_after" in fault.options:
                    # Trello documents no Retry-After; an injected one shows the client honours it.
                    refused.headers["Retry-After"] = str(int(fault.options["retry_after"]))
                await refused(scope, receive, send)
                return
            elif fault.kind == "lose_create_response":
                lose_response = True
        response = await self.answer(request, method, path)
        if lose_response:
            await drop_connection(send)  # committed above; the answer never arrives
            return
        await response(scope, receive, send)

    async def answer(self, request: Request, method: str, path: str) -> Response:
        params: Params = dict(request.query_params)
        try:
            params.update(await self._body_params(request))
        except TrelloError as error:
            return PlainTextResponse(str(error.body), status_code=error.status)
        api_key, token = str(params.pop("key", "")), str(params.pop("token", ""))
        if not api_key and not token:
            api_key, token = self._oauth_credentials(request.headers.get("authorization", ""))
        refused = self.emulator.authenticate(api_key, token)
        if refused is not None:
            return PlainTextResponse(refused, status_code=401)
        limited = self.emulator.limits.admit(api_key, token)
        if limited is not None:
            return limited
        headers = self.emulator.limits.headers(api_key, token)
        try:
            if method == "GET" and path.rstrip("/") == "/1/batch":
                body: Any = batch(self.emulator, token, params)
            elif method == "POST" and re.fullmatch(
                r"/1/(?:tokens/[0-9a-f]{64}/)?webhooks", path.rstrip("/")
            ):
                body = await self.emulator.deliveries.register(token, params)
            else:
                body = dispatch(self.emulator, method, path, token, params)
        except TrelloError as error:
            if isinstance(error.body, dict):
                return JSONResponse(error.body, status_code=error.status, headers=headers)
            return PlainTextResponse(error.body, status_code=error.status, headers=headers)
        return JSONResponse(body, headers=headers)

    @staticmethod
    def _oauth_credentials(header: str) -> tuple[str, str]:
        """Key and token from an ``Authorization: OAuth ...`` header ("" when absent)."""
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "oauth":
            return "", ""
        values = {name: unquote(value) for name, value in OAUTH_PARAMETER.findall(rest)}
        return values.get("oauth_consumer_key", ""), values.get("oauth_token", "")

    @staticmethod
    async def _body_params(request: Request) -> Params:
        if request.method in ("GET", "HEAD", "DELETE"):
            return {}
        raw = await request.body()
        if not raw:
            return {}
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            try:
                loaded = json.loads(raw)
            except ValueError as error:
                raise TrelloError(400, "invalid JSON") from error
            return dict(loaded) if isinstance(loaded, dict) else {}
        return dict(parse_qsl(raw.decode()))
