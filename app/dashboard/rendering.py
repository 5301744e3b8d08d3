"""Jinja2 templates, their filters, and the headers every dashboard page is sent with."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

# Everything the pages need ships in the package: no inline script, no inline style, nothing
# from another origin. Inline SVG markup is allowed by this policy (it is not a script or a style).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

HEALTH_LABELS = {
    "done": "Done",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "unknown": "No data",
}

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def format_hours(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}".rstrip("0").rstrip(".") + " h"


def format_percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} %"


def format_change(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:+.0f} pts"


ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def date_element(value: date | datetime | None) -> Markup:
    """A date in a ``<time>`` element, which the stylesheet keeps on one line.

    Browsers break lines after a hyphen, so a narrow cell showed "2027-" above "01-10".
    """
    if value is None:
        return Markup("-")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), format_date(value))


def dates_unbroken(text: str | None) -> Markup:
    """Escaped text whose ISO dates (as in health reasons) are ``<time>`` elements."""
    return Markup(ISO_DATE.sub(r'<time datetime="\1">\1</time>', str(escape(text or ""))))


def health_label(value: str | None) -> str:
    return HEALTH_LABELS.get(
        value or "unknown", (value or "unknown").replace("_", " ").capitalize()
    )


def status_label(value: Any) -> str:
    return str(getattr(value, "value", value)).replace("_", " ")


templates.env.filters["hours"] = format_hours
templates.env.filters["percent"] = format_percent
templates.env.filters["change"] = format_change
templates.env.filters["day"] = date_element
templates.env.filters["dates_unbroken"] = dates_unbroken
templates.env.filters["health_label"] = health_label
templates.env.filters["status_label"] = status_label


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    shared: bool = False,
) -> HTMLResponse:
    """A page with the security headers; ``shared`` pages also keep their URL out of Referers."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        # Pages show a workspace's data: no shared cache may keep them.
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer" if shared else "same-origin",
    }
    if shared:
        headers["X-Robots-Tag"] = "noindex, nofollow"
    response: HTMLResponse = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )
    return response
