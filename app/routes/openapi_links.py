"""OpenAPI links: what a client can do next with the object a POST just created.

The description names, for each ``201`` of a ``POST /things`` (or ``POST /a/{a_id}/things``),
every operation on ``/things/{thing_id}...`` whose path needs only the new id and the parameters
of the POST's own path: ``thing_id`` comes from the answer's ``id`` (``$response.body#/id``), the
others from the request (``$request.path.a_id``). Clients and test tools that follow links
(schemathesis's stateful phase) then reach the operations on a real object instead of a 404 for
a made-up id. Derived from the paths and the answers' schemas, so a new route is linked without
a line here.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

_PARAMETER = re.compile(r"\{([^}]+)\}")


def _parameters(path: str) -> set[str]:
    return set(_PARAMETER.findall(path))


def _has_id(response: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether the answer's JSON body is an object with an ``id`` (following one ``$ref``)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    reference = schema.get("$ref", "")
    if reference:
        schema = components.get(reference.rsplit("/", 1)[-1], {})
    return "id" in schema.get("properties", {})


def _links_from(path: str, paths: dict[str, Any]) -> dict[str, Any]:
    """The links of a ``201`` of ``POST path``: to the operations on the object it created."""
    known = _parameters(path)
    links: dict[str, Any] = {}
    for target, operations in paths.items():
        match = re.fullmatch(re.escape(path) + r"/\{([^}/]+)\}(/.*)?", target)
        if match is None or _parameters(target) != known | {match.group(1)}:
            continue
        parameters = {match.group(1): "$response.body#/id"}
        parameters.update({name: f"$request.path.{name}" for name in sorted(known)})
        for operation in operations.values():
            if "operationId" in operation:
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                }
    return links


def add_links(schema: dict[str, Any]) -> None:
    """Add the links to every ``201`` of a ``POST`` whose answer has an ``id``, in place."""
    paths: dict[str, Any] = schema.get("paths", {})
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is None or not _has_id(created, components):
            continue
        links = _links_from(path, paths)
        if links:
            created["links"] = links


def install_openapi_links(app: FastAPI) -> None:
    """Add the links to the app's OpenAPI description once, when it is first built."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        add_links(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
