"""Limit/offset pagination in a stable order: ``created_at`` then ``id``, with a total count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000


@dataclass(frozen=True)
class PageSlice(Generic[T]):
    rows: Sequence[T]
    total: int
    limit: int
    offset: int


def paginate(
    session: Session,
    statement: SelectOfScalar[T],
    order_by: Sequence[Any],
    *,
    limit: int,
    offset: int,
) -> PageSlice[T]:
    """One page of ``statement`` (already filtered) and the number of all rows it matches.

    The order ends on the primary key, so rows created in the same microsecond still have one
    order and a client paging through a list sees every row once. The total rides along with the
    page as a window count (one round trip); only a page past the end needs a separate count.
    """
    total_column = func.count().over().label("total")
    page = statement.add_columns(total_column).order_by(*order_by).limit(limit).offset(offset)
    result = session.execute(page).all()
    rows: list[T] = [row[0] for row in result]
    if result:
        total = int(result[0][1])
    elif offset == 0:
        total = 0
    else:
        count = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(session.exec(count).one())
    return PageSlice(rows=rows, total=total, limit=limit, offset=offset)
