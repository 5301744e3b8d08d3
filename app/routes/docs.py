"""/docs: Swagger UI served from the installed swagger-ui-bundle-v2 wheel, never from a CDN.

FastAPI's own page loads Swagger UI from the internet, so on an intranet it stays blank. Here the
page and every file it loads come from this server. ReDoc is off: no package ships its bundle.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
# Swagger UI would otherwise show a badge image fetched from validator.swagger.io.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs and its assets (the app is created with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_path), name="api-docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        # Behind a proxy that strips a prefix, every URL on the page keeps that prefix.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        assets = root + ASSETS_PATH
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - API docs",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
