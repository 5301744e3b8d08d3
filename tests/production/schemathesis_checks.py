"""A schemathesis check of planbridge's own: a 422 to schema-valid data names a declared rule.

An operation that keeps rules a JSON Schema cannot state lists them in ``x-rules-beyond-schema``
(app/routes/rules_beyond_schema.py), and schemathesis.toml lets such an operation answer 422 to
data its schema allows. This check keeps that allowance narrow: the 422 must name, in every one of
its ``errors[].loc``, a location the operation declares. A 422 on any other field means the schema
says too little, and fails like schemathesis's own positive_data_acceptance would.

Loaded by ``hooks`` in schemathesis.toml (the CLI run of bench/schemathesis_run.py) and passed to
``validate_response`` by tests/production/test_schemathesis.py.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

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
