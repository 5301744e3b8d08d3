"""Opting out of nudges from an e-mail's ``List-Unsubscribe`` link (RFC 8058 one-click).

A GET only shows a button: mail scanners open links, and opening must not change anything. The
POST, from that button or from the mail client's one-click, opts the person out; the token in
the address (encrypted and authenticated, app/services/messages/channels.py) is the credential,
so it needs no session or CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.dashboard.rendering import render
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.services.messages.channels import opt_out_of_nudges

router = APIRouter(include_in_schema=False)


@router.get("/unsubscribe/{token}")
def unsubscribe_form(token: str, request: Request) -> Response:
    return render(request, "unsubscribe.html", {"done": False}, shared=True)


@router.post("/unsubscribe/{token}")
def unsubscribe(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    if not opt_out_of_nudges(session, settings, token, utcnow()):
        message = "This unsubscribe link is not known; nothing was changed."
        return render(
            request, "checkin_closed.html", {"message": message}, status_code=404, shared=True
        )
    return render(request, "unsubscribe.html", {"done": True}, shared=True)
