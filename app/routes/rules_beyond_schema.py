"""Rules a JSON Schema cannot state, declared in the OpenAPI description of the routes keeping them.

A request the schema allows may still be refused with a 422 naming a field when a rule across
fields (an end before its start), across objects (an id that is not in this workspace), about the
clock (a week that has not begun) or about the world outside (a tracker that refuses the
credentials, a host that does not resolve) says no. Every other constraint is in the schema
itself. Each operation lists such rules in ``x-rules-beyond-schema``, with the location its 422
names in ``errors[].loc``, so a client, and the contract test, can tell a refusal by one of these
rules from a schema that says too little.
"""

from __future__ import annotations

from typing import Any

RULES_KEY = "x-rules-beyond-schema"

IN_WORKSPACE = "names an object of this workspace"
TRACKER_CHECK = "the tracker accepts it when the connection is checked"
HOST_ALLOWED = "its host resolves to an address this deployment allows"


def rules_beyond_schema(*rules: tuple[str, str]) -> dict[str, Any]:
    """``openapi_extra=`` of a route: (location as ``part.field``, the rule) pairs, e.g.
    ``("body.plan_id", IN_WORKSPACE)``; a location covers the fields below it. Written as
    ``{"status": 422, "rules": [{"loc": [...], "rule": ...}]}``."""
    return {
        RULES_KEY: {
            "status": 422,
            "rules": [{"loc": where.split("."), "rule": rule} for where, rule in rules],
        }
    }
