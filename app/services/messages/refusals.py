"""How a channel answered a message it did not take."""

from __future__ import annotations


class MessageRefused(Exception):
    """The channel did not take the message.

    ``temporary``: try again later (an SMTP 4xx, an HTTP 5xx or 429, a server that is down).
    Otherwise the message is failed for good; ``person_unreachable`` says the refusal is about
    the person's address (an SMTP 5xx on the recipient, a chat webhook that no longer exists).
    """

    def __init__(self, reason: str, *, temporary: bool, person_unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        self.person_unreachable = person_unreachable


class ChannelDown(MessageRefused):
    """The server could not be reached at all: nothing was attempted for this message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, temporary=True)
