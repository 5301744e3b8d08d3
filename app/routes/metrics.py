"""``GET /metrics``: Prometheus text format of this process's counters and the shared sync state.

Open by default, like ``/healthz``: Prometheus scrapers carry no workspace token (tokens belong to
one workspace, metrics span them all), and the figures hold counts and connection ids only, never
names, URLs or secrets. Deployments that expose the port beyond their network set
``PLANBRIDGE_METRICS_TOKEN``; then a scrape must send ``Authorization: Bearer <that token>``.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from app.errors import Unauthorized
from app.observability.metrics import render_metrics
from app.settings import Settings

router = APIRouter(tags=["health"])


def _check_scrape_token(request: Request, settings: Settings) -> None:
    if settings.metrics_token is None:
        return
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise Unauthorized(
            "This deployment protects /metrics: send Authorization: Bearer <metrics token>."
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {"schema": {"type": "string"}}}},
        401: {"description": "PLANBRIDGE_METRICS_TOKEN is set and the request did not carry it"},
    },
)
def metrics(request: Request) -> Response:
    """Counters, latency histogram and sync gauges in the Prometheus text format."""
    _check_scrape_token(request, request.app.state.settings)
    return Response(render_metrics(request.app.state.engine), media_type=CONTENT_TYPE_PLAIN_0_0_4)
