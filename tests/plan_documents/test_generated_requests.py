"""Generated requests (schemathesis, as tests/production/test_schemathesis.py does for the whole
API) against the plan document routes: never a server error, always the declared answer."""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import Tenant
from tests.production.test_schemathesis import _run_operation, _seed

PATHS = ("/api/v1/plans/import", "/api/v1/plans/{plan_id}/export", "/api/v1/plan-documents/schema")


def test_generated_requests_to_the_plan_document_routes_get_no_server_error(
    app: FastAPI, tenant: Tenant, make_tenant: Callable[..., Tenant]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [
        result.ok() for result in schema.get_all_operations() if result.ok().path in PATHS
    ]
    assert len(operations) == 3
    counter = [0]
    with TestClient(app, raise_server_exceptions=False) as client:
        for operation in operations:
            seeded = _seed(client, tenant, make_tenant)
            _run_operation(
                operation,
                client=client,
                tenant=tenant,
                seeded=seeded,
                examples=40,
                counter=counter,
            )
    assert counter[0] >= 60
