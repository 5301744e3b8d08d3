"""planbridge's own schemathesis checks: how it refuses schema-valid and schema-invalid data.

``refusal_names_a_declared_rule``: a 422 to schema-valid data names a declared rule.

An operation that keeps rules a JSON Schema cannot state lists them in ``x-rules-beyond-schema``
(app/routes/rules_beyond_schema.py), and schemathesis.toml lets such an operation answer 422 to
data its schema allows. This check keeps that allowance narrow: the 422 must name, in every one of
its ``errors[].loc``, a location the operation declares. A 422 on any other field means the schema
says too little, and fails like schemathesis's own positive_data_acceptance would.

``refusal_of_invalid_data_is_a_problem``: a 4xx to schema-invalid data is an
``application/problem+json`` document with its status, a title and a detail, and a 422 names its
fields in ``errors[].loc`` (README, "Errors").

Loaded by ``hooks`` in schemathesis.toml (the CLI run of bench/schemathesis_run.py) and passed to
``validate_response`` by tests/production/test_schemathesis.py.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

from app.errors import PROBLEM_JSON
from app.routes.rules_beyond_schema import RULES_KEY


def _named_locations(text: str) -> list[list[Any]] | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    return [error.get("loc", []) if isinstance(error, dict) else [] for error in errors]


def _covered(loc: list[Any], declared: list[list[Any]]) -> bool:
    return any(loc[: len(prefix)] == prefix for prefix in declared)


@schemathesis.check
def refusal_names_a_declared_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    """A positive case's 422 on an operation with rules beyond its schema names those rules."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    declared_rules = case.operation.definition.raw.get(RULES_KEY)
    if declared_rules is None:
        return None  # no allowance, so positive_data_acceptance judges it
    declared = [rule["loc"] for rule in declared_rules["rules"]]
    named = _named_locations(response.text)
    unnamed = [loc for loc in named or [] if not _covered(loc, declared)]
    if named is None or unnamed:
        raise AssertionError(
            f"Schema-valid request refused by no declared rule: the 422 names "
            f"{unnamed or 'no field'}, which no rule in {RULES_KEY} of {case.operation.label} "
            "covers; the schema should state that constraint."
        )
    return None


def _problem_defect(response: Any) -> str | None:
    """What keeps an error answer from being the problem document README promises, if anything."""
    content_type = response.headers.get("content-type", "")
    if isinstance(content_type, list):  # schemathesis keeps a header's values as a list
        content_type = content_type[0] if content_type else ""
    if content_type.split(";")[0].strip().lower() != PROBLEM_JSON:
        return f"content type {content_type!r}, not {PROBLEM_JSON}"
    try:
        body = json.loads(response.text)
    except ValueError:
        return "a body that is not JSON"
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        return f"a body whose status is not {response.status_code}"
    if not all(isinstance(body.get(key), str) and body[key] for key in ("title", "detail")):
        return "a body without a title and a detail"
    if response.status_code == 422 and _named_locations(response.text) is None:
        return "a 422 that names no field in errors[].loc"
    return None


@schemathesis.check
def refusal_of_invalid_data_is_a_problem(ctx: Any, response: Any, case: Any) -> bool | None:
    """A negative case's 4xx is an application/problem+json document; a 422 names its fields.

    Whether schema-invalid data is refused at all (never a 2xx, never a 5xx) is judged by
    schemathesis's negative_data_rejection and not_a_server_error; this check judges the refusal.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return None
    if not 400 <= response.status_code < 500:
        return None
    if case.method.upper() == "HEAD":
        return None  # an answer to HEAD has no body to judge
    defect = _problem_defect(response)
    if defect is not None:
        raise AssertionError(
            f"Schema-invalid request refused with {response.status_code} and {defect}: "
            "every refusal is an application/problem+json document (app/errors.py)."
        )
    return None
