"""List responses: a page of rows validated once into its Page model and sent as JSON bytes."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from app.schemas.common import Page
from app.services.pagination import PageSlice


def page_response(page_model: type[Page[Any]], result: PageSlice[Any]) -> Response:
    """Validate the whole page in one pass and answer it, skipping FastAPI's second serialization.

    The route still declares ``response_model=page_model``, so the OpenAPI schema is unchanged.
    """
    page = page_model.model_validate(
        {
            "items": result.rows,
            "total": result.total,
            "limit": result.limit,
            "offset": result.offset,
        },
        from_attributes=True,
    )
    return Response(page.model_dump_json(), media_type="application/json")
