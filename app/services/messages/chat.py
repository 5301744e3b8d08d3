"""Chat messages through a Slack-compatible incoming webhook: ``POST {"text": ...}``.

https://api.slack.com/messaging/webhooks. The URL is the person's (or team's) secret and is
called only through the address guard (connectors/outbound.py).
"""

from __future__ import annotations

import httpx

from app.services.messages.refusals import MessageRefused
from connectors.outbound import OutboundRefused


def post_chat_message(client: httpx.Client, url: str, text: str) -> None:
    """Post the text, or raise MessageRefused: 5xx and 429 are retried, other refusals are not."""
    try:
        response = client.post(url, json={"text": text})
    except OutboundRefused as error:
        raise MessageRefused(
            f"chat webhook refused by the address guard: {error}",
            temporary=False,
            person_unreachable=True,
        ) from error
    except httpx.HTTPError as error:
        raise MessageRefused(
            f"chat webhook unreachable: {type(error).__name__}", temporary=True
        ) from error
    if response.is_success:
        return
    reason = f"chat webhook answered HTTP {response.status_code}"
    if response.status_code >= 500 or response.status_code == 429:
        raise MessageRefused(reason, temporary=True)
    # Slack answers 404 no_service / 410 for a removed webhook: this address no longer works.
    raise MessageRefused(reason, temporary=False, person_unreachable=True)
