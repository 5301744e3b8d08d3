"""Hostile input: schemathesis generates requests from the app's own OpenAPI and checks answers.

Every operation gets positive (schema-valid) and negative (schema-breaking) requests with an admin
token; half of them aim at objects that exist (a seeded person, plan, goal, item and token), so the
handlers' real work runs, not only the 404 path. The checks: no 5xx, the status code, content type
and body are the ones the OpenAPI documents, and schema-valid data is accepted, or refused with a
422 that names a rule the operation declares beyond its schema (schemathesis.toml). All failing
operations are collected and reported together, each with a reproducible request, so one run shows
every gap at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from alembic import command
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from app.main import create_app
from app.migrations.runner import alembic_config
from app.settings import Settings
from tests.conftest import Tenant
from tests.production.schemathesis_checks import refusal_names_a_declared_rule

# Per operation, bounded so that each backend finishes within the suite's timeout on a loaded
# machine; bench/schemathesis_run.py makes the larger run (all checks, phases and two workspaces).
EXAMPLES_PER_OPERATION = {"sqlite": 25, "postgres": 10}
MINIMUM_REQUESTS = {"sqlite": 1200, "postgres": 500}

# The negative-data check is left to bench/schemathesis_run.py: the seeded ids put in place of
# generated path parameters turn negative cases into valid ones.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    refusal_names_a_declared_rule,
]
# Which operations may answer 422 to schema-valid data: those with rules beyond their schema.
CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"


def _seed(client: TestClient, tenant: Tenant, make_tenant: Callable[..., Tenant]) -> dict[str, str]:
    """One object of each kind through the API; their ids replace generated path parameters."""
    headers = tenant.headers
    today = date.today()

    def created(path: str, body: dict[str, Any]) -> str:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, (path, response.status_code, response.text)
        identifier: str = response.json()["id"]
        return identifier

    person = created("/api/v1/people", {"name": "Ada Lovelace", "weekly_strategic_hours": 6})
    plan = created(
        "/api/v1/plans",
        {"name": "2027 Q1", "start_date": str(today), "end_date": str(today + timedelta(days=90))},
    )
    goal = created("/api/v1/goals", {"plan_id": plan, "title": "Ship it", "owner_id": person})
    item = created(
        "/api/v1/items",
        {
            "goal_id": goal,
            "title": "First step",
            "owner_id": person,
            "due_date": str(today + timedelta(days=14)),
            "estimate_hours": 4,
        },
    )
    token_response = client.post(
        "/api/v1/tokens", json={"name": "disposable", "scope": "read"}, headers=headers
    )
    token = token_response.json().get("id", "") if token_response.status_code == 201 else ""
    return {
        "person_id": person,
        "owner_id": person,
        "plan_id": plan,
        "goal_id": goal,
        "item_id": item,
        "token_id": token,
    }


def _describe(case: Any, response: Any) -> str:
    body = case.body if not isinstance(case.body, bytes) else case.body[:300]
    try:
        payload = json.dumps(body, default=str)[:600]
    except TypeError:
        payload = repr(body)[:600]
    return (
        f"{case.method} {case.formatted_path} query={case.query} payload={payload} -> "
        f"{getattr(response, 'status_code', '?')} {getattr(response, 'text', '')[:400]}"
    )


def _run_operation(
    operation: Any,
    *,
    client: TestClient,
    tenant: Tenant,
    seeded: dict[str, str],
    examples: int,
    counter: list[int],
) -> None:
    strategy = st.tuples(
        st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ),
        st.booleans(),
    )

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: a red CI run is reproducible
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @hypothesis.given(strategy)
    def check(drawn: tuple[Any, bool]) -> None:
        case, aim_at_existing = drawn
        if aim_at_existing and case.path_parameters:
            for name in list(case.path_parameters):
                if seeded.get(name):
                    case.path_parameters[name] = seeded[name]
        response = case.call(headers=tenant.headers)
        counter[0] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=tenant.headers)
        except FailureGroup as failure:  # a BaseExceptionGroup: turn it into a plain assertion
            raise AssertionError(f"{_describe(case, response)}\n{failure}") from None

    check()


@pytest.fixture
def stamped_at_head(engine: Engine) -> Iterator[None]:
    """Record the newest migration in the create_all schema, so /readyz answers 200."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.stamp(config, "head")
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


# Bounded by the examples per operation, not by time: about 2 minutes on a quiet 2-core machine,
# several times that on a loaded one, so the suite-wide 300 s limit would fail it for load alone.
@pytest.mark.timeout(1500)
@pytest.mark.usefixtures("stamped_at_head")
def test_generated_requests_get_no_server_error_and_match_the_schema(
    settings: Settings,
    engine: Engine,
    backend: str,
    tenant: Tenant,
    make_tenant: Callable[..., Tenant],
) -> None:
    # Generated requests may carry wrong tokens: past the throttle they would (correctly) answer
    # 429 instead of the 401 the schema gives them.
    app = create_app(settings.model_copy(update={"auth_failures_per_minute": 1_000_000}), engine)
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=SchemathesisConfig.from_path(CONFIG)
    )
    counter = [0]
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        operations = [
            result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)
        ]
        assert len(operations) == len(list(schema.get_all_operations())), "unreadable operations"
        # Deletes last, so the seeded objects live through the other operations' examples.
        operations.sort(key=lambda operation: operation.method.lower() == "delete")
        for operation in operations:
            seeded = _seed(client, tenant, make_tenant)
            try:
                _run_operation(
                    operation,
                    client=client,
                    tenant=tenant,
                    seeded=seeded,
                    examples=EXAMPLES_PER_OPERATION[backend],
                    counter=counter,
                )
            except Exception as failure:  # collect every operation's failure, then report them all
                failures.append(f"--- {operation.label}\n{str(failure)[:3000]}")
    report = "\n".join(failures)
    assert not failures, f"{len(failures)} operations failed ({counter[0]} requests):\n{report}"
    assert counter[0] >= MINIMUM_REQUESTS[backend], f"only {counter[0]} requests were generated"
