"""The daily audit's read on Trello: given cards, through the board's card listing by id range.

Card ids sort by creation time, and an audit slice holds the links least recently audited, made
about the same time, so its cards lie in one range of ids: ``GET /1/boards/{id}/cards`` with
``since`` and ``before`` just outside that range (``filter=all``: archived cards too) returns them,
a page of up to ``page_size`` (1,000) per request, newest first. A slice of 100 links costs one
request where ``/1/batch`` (10 routes per call) costs ten.

A range crowded with people's own cards is read only as far as the batches would have cost; the
cards not reached by then go through ``/1/batch``, so a slice never costs more than twice the
batches. A card the listing skips over (its range was read) or a batch answers 404 is missing;
the engine asks ``fetch_item`` before it tombstones anything.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from connectors.base import AuditResult, RemoteItem, RemoteRef
from connectors.trello.client import BATCH_LIMIT
from connectors.trello.mapping import TRELLO_ID

if TYPE_CHECKING:
    from connectors.trello.connector import TrelloConnector


def audit_cards(connector: TrelloConnector, refs: list[RemoteRef]) -> AuditResult:
    """The cards of ``refs`` as Trello shows them now, and those it does not show."""
    # An id no card can have is missing without asking (fetch_item proves it the same way).
    missing = [ref for ref in refs if not TRELLO_ID.match(ref.external_id)]
    unread = {ref.external_id: ref for ref in refs if TRELLO_ID.match(ref.external_id)}
    if not unread:
        return AuditResult(missing=missing)
    found: list[RemoteItem] = []
    budget = math.ceil(len(unread) / BATCH_LIMIT)
    reader = connector.changes
    since, before = _next_id(min(unread), -1), _next_id(max(unread), +1)
    read_down_to = since  # the oldest card id the listing has covered
    for count, page in enumerate(reader.card_pages(before, since), start=1):
        for card in page:
            ref = unread.pop(str(card["id"]), None)
            if ref is not None:
                found.append(connector.to_item(card))
        if count == budget and len(page) == reader.page_size:
            read_down_to = str(page[-1]["id"])
            break
    covered = [ref for card_id, ref in unread.items() if card_id >= read_down_to]
    batched = _batched(
        connector, [ref for card_id, ref in unread.items() if card_id < read_down_to]
    )
    missing += [*covered, *batched.missing]
    return AuditResult(found=[*found, *batched.found], missing=missing)


def _batched(connector: TrelloConnector, refs: list[RemoteRef]) -> AuditResult:
    """10 cards per ``/1/batch`` call; a card answered 404 is missing, another error is not."""
    found: list[RemoteItem] = []
    missing: list[RemoteRef] = []
    for start in range(0, len(refs), BATCH_LIMIT):
        chunk = refs[start : start + BATCH_LIMIT]
        # Routes carry no ``fields`` (the batch's urls are comma-separated): a card's default
        # fields hold everything the mapping reads.
        answers = connector.client.batch([f"/cards/{ref.external_id}" for ref in chunk])
        for ref, (status, body) in zip(chunk, answers, strict=True):
            if status == 200 and isinstance(body, dict):
                found.append(connector.to_item(body))
            elif status == 404:
                missing.append(ref)
    return AuditResult(found=found, missing=missing)


def _next_id(card_id: str, step: int) -> str:
    """The id just below (-1) or above (+1) ``card_id``: ``since`` and ``before`` are exclusive."""
    return f"{int(card_id, 16) + step:024x}"
