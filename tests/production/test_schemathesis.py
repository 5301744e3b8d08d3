"""Hostile input: schemathesis generates requests from the app's own OpenAPI and checks answers.

Every operation gets positive (schema-valid) and negative (schema-breaking) requests with an admin
token; half of them aim at objects that exist (a seeded person, plan, goal, item and token), so the
handlers' real work runs, not only the 404 path. The checks: no 5xx, the status code, content type
and body are the ones the OpenAPI documents, and schema-valid data is accepted, or refused with a
422 that names a rule the operation declares beyond its schema (schemathesis.toml). All failing
operations are collected and reported together, each with a reproducible request, so one run shows
every gap at once.

A second run sends only negative (schema-breaking) requests, schemathesis's coverage cases: one
per constraint the schema states (a type, a bound, a pattern, a format, an enum, a required field,
the media type), each breaking just that one, the same list on every run. Each must be refused: a
4xx, never a 2xx (the request was taken, maybe stored) nor a 5xx, answered with a problem document
whose 422 names the fields (README, "Errors"). Seeded ids go only into a path the case did not
break, so a broken query or body reaches the handler of an object that exists.
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
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.generation.meta import CoverageScenario
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from app.main import create_app
from app.migrations.runner import alembic_config
from app.settings import Settings
from tests.conftest import Tenant
from tests.production.schemathesis_checks import (
    refusal_names_a_declared_rule,
    refusal_of_invalid_data_is_a_problem,
)

# Per operation, bounded so that each backend finishes within the suite's timeout on a loaded
# machine; bench/schemathesis_run.py makes the larger run (all checks, phases and two workspaces).
EXAMPLES_PER_OPERATION = {"sqlite": 25, "postgres": 10}
MINIMUM_REQUESTS = {"sqlite": 1200, "postgres": 500}

# Negative cases here get seeded ids in broken paths too (schemathesis then judges them as the
# valid cases they became); the negative-data checks are the run below.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    refusal_names_a_declared_rule,
]
# The negative-data run: one request per constraint the schema states, each breaking that one
# (every one on SQLite, every second one on PostgreSQL, where a value the schema should have
# stopped would meet a stricter database).
NEGATIVE_SHARE = {"sqlite": 1, "postgres": 2}
NEGATIVE_MINIMUM_REQUESTS = {"sqlite": 800, "postgres": 400}
NEGATIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    refusal_of_invalid_data_is_a_problem,
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


def _aim_at_seeded(case: Any, seeded: dict[str, str]) -> None:
    for name in list(case.path_parameters or {}):
        if seeded.get(name):
            case.path_parameters[name] = seeded[name]


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
            _aim_at_seeded(case, seeded)
        response = case.call(headers=tenant.headers)
        counter[0] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=tenant.headers)
        except FailureGroup as failure:  # a BaseExceptionGroup: turn it into a plain assertion
            raise AssertionError(f"{_describe(case, response)}\n{failure}") from None

    check()


def _schema_breaking_cases(schema: Any, operation: Any, share: int) -> list[Any]:
    """schemathesis's coverage cases in negative mode: each one breaks one constraint of the
    schema (a type, a bound, a pattern, a format, an enum, a required field, the media type),
    the same list on every run. One case per constraint broken, then every ``share``-th."""
    generation = schema.config.generation_for(operation=operation, phase="coverage")
    seen: set[tuple[Any, ...]] = set()
    cases = []
    for case in schema.iter_coverage_cases(
        operation, generation_modes=[GenerationMode.NEGATIVE], generation_config=generation
    ):
        data = case.meta.phase.data
        if data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD:
            continue  # a method the operation lacks: no data of it is broken
        if data.parameter_location == ParameterLocation.HEADER and (
            (data.parameter or "").lower() == "authorization"
        ):
            continue  # the token is fixed below; a missing or mangled one is a 401 (tests/api)
        key = (data.scenario, data.parameter_location, data.parameter, data.description)
        if key not in seen:
            seen.add(key)
            cases.append(case)
    return cases[::share]


def _send_schema_breaking_cases(
    cases: list[Any], *, tenant: Tenant, seeded: dict[str, str], counter: list[int]
) -> tuple[list[str], bool]:
    """The failures, and whether any request was answered 2xx (and may have changed something)."""
    failures = []
    taken = False
    for case in cases:
        if not case.meta.generation.mode.is_negative:
            continue
        if not case.meta.is_negative_at(ParameterLocation.PATH):
            # The broken query or body reaches an object that exists; a seeded id in a broken
            # path would make the case valid.
            _aim_at_seeded(case, seeded)
        assert case.meta.generation.mode.is_negative, repr(case)
        response = case.call(headers=tenant.headers)
        counter[0] += 1
        taken = taken or 200 <= response.status_code < 300
        try:
            case.validate_response(response, checks=NEGATIVE_CHECKS, headers=tenant.headers)
        except FailureGroup as failure:
            failures.append(f"{_describe(case, response)}\n{failure}")
    return failures, taken


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


def _run_every_operation(
    settings: Settings,
    engine: Engine,
    tenant: Tenant,
    make_tenant: Callable[..., Tenant],
    *,
    examples: int = 0,
    negative_share: int = 0,
) -> tuple[list[str], int]:
    """Each operation's failure (all of them, not only the first) and the requests sent."""
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
        seeded: dict[str, str] | None = None
        for operation in operations:
            if negative_share:
                # Refused requests change nothing: seed again only after one was taken.
                seeded = seeded or _seed(client, tenant, make_tenant)
                cases = _schema_breaking_cases(schema, operation, negative_share)
                refused, taken = _send_schema_breaking_cases(
                    cases, tenant=tenant, seeded=seeded, counter=counter
                )
                failures.extend(f"--- {operation.label}\n{failure[:3000]}" for failure in refused)
                seeded = None if taken else seeded
                continue
            seeded = _seed(client, tenant, make_tenant)
            try:
                _run_operation(
                    operation,
                    client=client,
                    tenant=tenant,
                    seeded=seeded,
                    examples=examples,
                    counter=counter,
                )
            except Exception as failure:  # collect every operation's failure, then report them all
                failures.append(f"--- {operation.label}\n{str(failure)[:3000]}")
    return failures, counter[0]


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
    failures, requests = _run_every_operation(
        settings,
        engine,
        tenant,
        make_tenant,
        examples=EXAMPLES_PER_OPERATION[backend],
    )
    report = "\n".join(failures)
    assert not failures, f"{len(failures)} operations failed ({requests} requests):\n{report}"
    assert requests >= MINIMUM_REQUESTS[backend], f"only {requests} requests were generated"


# Bounded by the constraints the schema states (one request breaking each, half of them on
# PostgreSQL), not by time: seconds per backend on a quiet machine; the limit is for a loaded one.
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("stamped_at_head")
def test_schema_invalid_requests_are_refused_with_a_problem(
    settings: Settings,
    engine: Engine,
    backend: str,
    tenant: Tenant,
    make_tenant: Callable[..., Tenant],
) -> None:
    failures, requests = _run_every_operation(
        settings,
        engine,
        tenant,
        make_tenant,
        negative_share=NEGATIVE_SHARE[backend],
    )
    report = "\n".join(failures)
    assert not failures, (
        f"{len(failures)} of {requests} schema-breaking requests were not refused with a 4xx "
        f"problem:\n{report}"
    )
    assert requests >= NEGATIVE_MINIMUM_REQUESTS[backend], (
        f"only {requests} requests were generated"
    )
