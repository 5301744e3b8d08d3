"""/docs works with no internet: Swagger UI and all it loads are served by planbridge itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Route, expect, sync_playwright

from tests.dashboard.chromium import launch_chromium
from tests.trackers.server import LoopbackServer

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _referenced_urls(html: str) -> list[str]:
    """Every URL the page loads: src and href attributes, and the schema URL Swagger UI fetches."""
    pattern = r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']"""
    return [url for pair in re.findall(pattern, html) for url in pair if url]


def test_docs_page_references_only_assets_served_here(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = _referenced_urls(page.text)
    assert "/openapi.json" in urls and len(urls) == 4, urls
    assert "http" not in page.text and "//" not in "".join(urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        suffix = url[url.rfind(".") :]
        if suffix in ASSET_TYPES:
            assert response.headers["content-type"].startswith(ASSET_TYPES[suffix]), url
            assert len(response.content) > 0


def test_swagger_ui_asks_no_validator_on_the_internet(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_redoc_is_off_rather_than_blank_offline(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


@pytest.fixture
def backend() -> str:
    return "sqlite"  # what the page loads does not depend on the database


@pytest.fixture
def server(app: FastAPI) -> Iterator[LoopbackServer]:
    with LoopbackServer(app) as running:
        yield running


@pytest.mark.browser
def test_docs_render_the_api_in_a_browser_cut_off_from_the_internet(
    server: LoopbackServer,
) -> None:
    outside: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.route("**/*", loopback_only)
            page.goto(f"{server.url}/docs")
            # Swagger UI builds the page from a 300 kB description in the browser: seconds on a
            # loaded machine. A bound for a page that never renders, not a speed check.
            expect(
                page.locator(".opblock-summary-path", has_text="/api/v1/items").first
            ).to_be_visible(timeout=60_000)
            expect(page.get_by_text("planbridge", exact=False).first).to_be_visible()
        finally:
            browser.close()
    assert outside == []
